"""Emails on a measurement's change: to its reviewers when it waits for them, to its reporter
when it was returned, verified or rejected; each change is sent once, whatever the retries."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from portfolio import access
from portfolio.models import Membership, Role
from portfolio.outbox import enqueue_on_commit

from .. import selectors
from ..models import CommentKind, MeasurementNotice

SEND_MEASUREMENT_NOTICE = "evaluations.tasks.send_measurement_notice"
# Who hears of which change: reviewers of what waits for them, reporters of the decision.
FOR_REVIEWERS = {CommentKind.SUBMITTED, CommentKind.COMMENT}
FOR_REPORTER = {
    CommentKind.RETURNED,
    CommentKind.VERIFIED,
    CommentKind.REJECTED,
    CommentKind.COMMENT,
}


def measurement_changed(measurement, kind) -> MeasurementNotice:
    """Record the change and queue its email once the caller's transaction commits."""
    notice = MeasurementNotice.objects.create(measurement=measurement, kind=kind)
    enqueue_on_commit(SEND_MEASUREMENT_NOTICE, notice.pk)
    return notice


def recipients(notice) -> list[str]:
    """The addresses of whoever the change concerns, never of who caused it."""
    # Read once what the independence rule needs, not once per reviewer.
    (measurement,) = selectors.with_review_facts([notice.measurement])
    people = []
    if notice.kind in FOR_REPORTER and measurement.reported_by is not None:
        people.append(measurement.reported_by)
    if notice.kind in FOR_REVIEWERS:
        reviewer_ids = Membership.objects.filter(
            role__in=[Role.EVALUATOR, Role.VERIFIER]
        ).values_list("user_id", flat=True)
        people.extend(
            user
            for user in get_user_model().objects.filter(pk__in=reviewer_ids, is_active=True)
            if access.may_verify(user, measurement)
        )
    return sorted({person.email for person in people if person.email})


@transaction.atomic
def send_notice(notice_id) -> bool:
    """Send the notice's email unless it was sent already; True when this call sent it."""
    notice = (
        MeasurementNotice.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("measurement__indicator__project", "measurement__reported_by")
        .filter(pk=notice_id, sent_at__isnull=True)
        .first()
    )
    if notice is None:
        return False
    addresses = recipients(notice)
    if addresses:
        context = {
            "notice": notice,
            "measurement": notice.measurement,
            "project": notice.measurement.indicator.project,
            "site_url": settings.SITE_URL.rstrip("/"),
        }
        subject = render_to_string("evaluations/email/notice_subject.txt", context).strip()
        body = render_to_string("evaluations/email/notice.txt", context)
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, addresses)
    notice.sent_at = timezone.now()
    notice.save(update_fields=["sent_at"])
    return True

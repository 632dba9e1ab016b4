"""A measurement's way from report to decision, through every door:

draft -> submitted -> (returned with a comment -> submitted again) -> verified or rejected;
a verified one is never edited, only superseded with a reason by a new submitted one.

Who may do each step is the role table's answer (`access`, with `may_verify()` for the
independence of the verifier); this module holds the states. Every step that can move what a
result earns ends in `payouts.recalculate_payouts()`, and every change is queued for the
digest of whoever it concerns.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portfolio import access

from ..models import (
    DECIDED_STATUSES,
    Aggregation,
    CommentKind,
    Evidence,
    Indicator,
    Measurement,
    MeasurementComment,
    MeasurementStatus,
)
from . import digests
from .payouts import recalculate_payouts
from .standards import check_parts_within_total

Status = MeasurementStatus


@transaction.atomic
def report_measurement(measurement, user, *, submit=True) -> Measurement:
    """Record a new measurement reported by `user`, or save a change to an open one.

    A new one is a draft when `submit` is false, else it goes to review at once. A change to
    the value (or anything it records) of a submitted or returned measurement sends it back to
    review, and its author can no longer verify it; a verified, rejected or superseded one is
    final (the model refuses the change: supersede it instead).
    """
    new = measurement.pk is None
    if new:
        measurement.reported_by = user
        measurement.status = Status.SUBMITTED if submit else Status.DRAFT
    access.check(user, access.CHANGE if not new else access.ADD, measurement)
    if not new:
        Measurement.objects.select_for_update().get(pk=measurement.pk)
        changed = measurement.changed(*Measurement.RECORDED_FIELDS)
        stored = measurement.stored("status")
        if stored == Status.RETURNED and (changed or submit) or stored == Status.DRAFT and submit:
            measurement.status = Status.SUBMITTED
    to_review = measurement.status == Status.SUBMITTED and (new or measurement.changed("status"))
    if to_review:
        measurement.submitted_at = timezone.now()
    measurement._history_user = user
    measurement.full_clean()
    check_parts_within_total(measurement)
    measurement.save()
    if to_review:
        digests.measurement_changed(measurement, CommentKind.SUBMITTED)
    return measurement


@transaction.atomic
def submit_measurement(measurement, user) -> Measurement:
    """Send a draft or a returned measurement (again) to review, unchanged."""
    locked = _locked(measurement)
    access.check(user, access.CHANGE, locked)
    if locked.status not in (Status.DRAFT, Status.RETURNED):
        raise ValidationError(
            {
                "status": _(
                    "Only a draft or returned measurement is submitted; this one is %(status)s."
                )
                % {"status": locked.get_status_display().lower()}
            }
        )
    locked.status = Status.SUBMITTED
    locked.submitted_at = timezone.now()
    locked._history_user = user
    locked.save(update_fields=["status", "submitted_at"])
    _copy(locked, measurement, "status", "submitted_at")
    digests.measurement_changed(locked, CommentKind.SUBMITTED)
    return locked


@transaction.atomic
def verify_measurement(measurement, user, comment="") -> Measurement:
    """Mark a submitted measurement verified, so it counts, and update the payouts it earns."""
    locked = _locked(measurement)
    access.check(user, access.REVIEW, locked)
    _check_awaits_review(locked)
    # One verification per indicator at a time, so two overlapping periods of a cumulative
    # indicator cannot both slip past the overlap check below.
    indicator = Indicator.objects.select_for_update().get(pk=locked.indicator_id)
    locked.full_clean()
    if indicator.aggregation == Aggregation.CUMULATIVE:
        overlapping = (
            Measurement.objects.verified()
            .filter(
                indicator=indicator,
                disaggregation=locked.disaggregation,
                period_start__lte=locked.period_end,
                period_end__gte=locked.period_start,
            )
            .exclude(pk=locked.pk)
            .first()
        )
        if overlapping is not None:
            raise ValidationError(
                {
                    "period_start": _(
                        "The period overlaps the verified measurement for %(start)s..%(end)s; a cumulative indicator would count it twice."
                    )
                    % {"start": overlapping.period_start, "end": overlapping.period_end}
                }
            )
    _decide(locked, user, Status.VERIFIED, comment)
    _copy(locked, measurement, "status", "verified_by", "verified_at", "rejection_reason")
    return locked


@transaction.atomic
def reject_measurement(measurement, user, reason) -> Measurement:
    """Mark a submitted measurement rejected, with the reason; it never counts."""
    reason = _required(reason, "rejection_reason", _("Say why the measurement is rejected."))
    locked = _locked(measurement)
    access.check(user, access.REVIEW, locked)
    _check_awaits_review(locked)
    locked.rejection_reason = reason
    _decide(locked, user, Status.REJECTED, reason)
    _copy(locked, measurement, "status", "verified_by", "verified_at", "rejection_reason")
    return locked


@transaction.atomic
def return_measurement(measurement, user, comment) -> Measurement:
    """Send a submitted measurement back to its reporter for revision, saying what to change."""
    comment = _required(comment, "comment", _("Say what the reporter should revise."))
    locked = _locked(measurement)
    access.check(user, access.REVIEW, locked)
    _check_awaits_review(locked)
    locked.status = Status.RETURNED
    locked._history_user = user
    locked.save(update_fields=["status"])
    _comment(locked, user, CommentKind.RETURNED, comment)
    _copy(locked, measurement, "status")
    _after_change(locked, user, CommentKind.RETURNED)
    return locked


@transaction.atomic
def supersede_measurement(measurement, user, reason, **changes) -> Measurement:
    """Correct a verified measurement: a new one, with `changes`, goes to review, and the old
    one stops counting at once, keeping the reason. Returns the new measurement."""
    reason = _required(reason, "superseded_reason", _("Say why the verified value is corrected."))
    locked = _locked(measurement)
    access.check(user, access.CHANGE, locked)
    if locked.status != Status.VERIFIED:
        raise ValidationError(
            {"status": _("Only a verified measurement is superseded; an open one is edited.")}
        )
    replacement = Measurement(
        **{
            name: getattr(locked, name)
            for name in ("indicator_id", *Measurement.RECORDED_FIELDS[1:], "comment")
        }
    )
    for name, value in changes.items():
        setattr(replacement, name, value)
    # The old row leaves the uniqueness of its period first, so the new one can take it.
    locked.status = Status.SUPERSEDED
    locked.superseded_reason = reason
    locked._history_user = user
    locked.save(update_fields=["status", "superseded_reason"])
    report_measurement(replacement, user)
    locked.superseded_by = replacement
    locked.save(update_fields=["superseded_by"])
    _comment(locked, user, CommentKind.SUPERSEDED, reason)
    _copy(locked, measurement, "status", "superseded_reason", "superseded_by")
    recalculate_payouts(
        locked.indicator, reason=f"Measurement {locked.pk} superseded: {reason}", user=user
    )
    return replacement


@transaction.atomic
def delete_measurement(measurement, user):
    """Delete a measurement; what the results it belonged to earn is worked out again."""
    locked = _locked(measurement)
    access.check(user, access.DELETE, locked)
    indicator = locked.indicator
    locked._history_user = user
    locked.delete()
    recalculate_payouts(indicator, reason=f"Measurement {measurement.pk} deleted.", user=user)


@transaction.atomic
def comment_on_measurement(measurement, user, text) -> MeasurementComment:
    """A remark from the reporter or a reviewer, kept with the measurement."""
    text = _required(text, "text", _("Write the comment."))
    access.check(user, access.COMMENT, measurement)
    comment = _comment(measurement, user, CommentKind.COMMENT, text)
    digests.measurement_changed(measurement, CommentKind.COMMENT)
    return comment


@transaction.atomic
def attach_evidence(measurement, user, file) -> Evidence:
    """Keep an evidence file with an open measurement (checked for type and size)."""
    locked = _locked(measurement)
    access.check(user, access.CHANGE, locked)
    if locked.status in DECIDED_STATUSES:
        raise ValidationError(
            {
                "file": _("A %(status)s measurement's evidence is final.")
                % {"status": locked.get_status_display().lower()}
            }
        )
    evidence = Evidence(
        measurement=locked, file=file, name=(file.name or "evidence")[-200:], uploaded_by=user
    )
    evidence._history_user = user
    evidence.full_clean()
    evidence.save()
    return evidence


def _decide(locked, user, status, reason):
    locked.status = status
    locked.verified_by = user
    locked.verified_at = timezone.now()
    locked._history_user = user
    locked.save(update_fields=["status", "verified_by", "verified_at", "rejection_reason"])
    kind = CommentKind.VERIFIED if status == Status.VERIFIED else CommentKind.REJECTED
    if reason.strip():
        _comment(locked, user, kind, reason.strip())
    _after_change(locked, user, kind)


def _after_change(measurement, user, kind):
    # The one path from a review step to the money: verify, reject, return all end here.
    recalculate_payouts(
        measurement.indicator, reason=f"Measurement {measurement.pk} {kind}.", user=user
    )
    digests.measurement_changed(measurement, kind)


def _locked(measurement):
    return (
        Measurement.objects.select_for_update()
        .select_related("indicator__project")
        .get(pk=measurement.pk)
    )


def _comment(measurement, user, kind, text):
    comment = MeasurementComment(measurement=measurement, author=user, kind=kind, text=text)
    comment.full_clean()
    comment.save()
    return comment


def _required(text, field, message):
    text = (text or "").strip()
    if not text:
        raise ValidationError({field: message})
    return text


def _check_awaits_review(measurement):
    # Who may review is the role table's answer (access.REVIEW); this is the measurement's state.
    if measurement.status != Status.SUBMITTED:
        raise ValidationError(
            {
                "status": _("Only a submitted measurement can be reviewed; this one is %(status)s.")
                % {"status": measurement.get_status_display().lower()}
            }
        )


def _copy(source, destination, *names):
    for name in names:
        setattr(destination, name, getattr(source, name))

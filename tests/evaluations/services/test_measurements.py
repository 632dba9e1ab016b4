"""A measurement's way from draft to decision: states, four eyes and independence, comments,
evidence, and the payouts recomputed on every path."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from evaluations import services
from evaluations.models import (
    CommentKind,
    Evidence,
    Measurement,
    MeasurementNotice,
    MeasurementStatus,
    PayoutTerms,
)
from portfolio import access

from ..verification import results_world

pytestmark = pytest.mark.django_db

S = MeasurementStatus


@pytest.fixture
def world(db):
    return results_world()


def new(world, value="500", *, reporter=None, submit=True, **fields):
    measurement = Measurement(
        indicator=world.indicator,
        period_start=date(2025, 1, 1),
        period_end=date(2025, 3, 31),
        value=Decimal(value),
        source="ID registry extract",
        **fields,
    )
    return services.report_measurement(measurement, reporter or world.implementer, submit=submit)


def eligible(world):
    return PayoutTerms.objects.get(pk=world.terms.pk).eligible_amount


def fresh(measurement):
    return Measurement.objects.get(pk=measurement.pk)


# States


def test_a_draft_waits_until_it_is_submitted(world):
    measurement = new(world, submit=False)
    assert measurement.status == S.DRAFT

    with pytest.raises(ValidationError, match="submitted"):
        services.verify_measurement(measurement, world.verifier)
    services.submit_measurement(measurement, world.implementer)

    assert fresh(measurement).status == S.SUBMITTED
    assert fresh(measurement).submitted_at is not None


def test_return_resubmit_verify_moves_the_earned_amount_once_verified(world):
    measurement = new(world)
    assert eligible(world) == Decimal("0.00")

    services.return_measurement(measurement, world.verifier, "The Q1 extract is missing.")
    assert fresh(measurement).status == S.RETURNED
    assert eligible(world) == Decimal("0.00")

    measurement = fresh(measurement)
    measurement.value = Decimal("400")
    services.report_measurement(measurement, world.implementer)
    assert fresh(measurement).status == S.SUBMITTED

    services.verify_measurement(fresh(measurement), world.verifier)
    assert fresh(measurement).status == S.VERIFIED
    assert eligible(world) == Decimal("40000.00")
    kinds = list(fresh(measurement).comments.values_list("kind", "author__username"))
    assert kinds == [(CommentKind.RETURNED, "verifier")]


def test_returning_needs_a_comment(world):
    measurement = new(world)
    with pytest.raises(ValidationError) as excinfo:
        services.return_measurement(measurement, world.verifier, "  ")
    assert "comment" in excinfo.value.message_dict
    assert fresh(measurement).status == S.SUBMITTED


def test_a_returned_measurement_is_resubmitted_unchanged(world):
    measurement = new(world)
    services.return_measurement(measurement, world.verifier, "Attach the extract.")
    services.submit_measurement(measurement, world.implementer)
    assert fresh(measurement).status == S.SUBMITTED


def test_a_rejection_keeps_its_reason_and_never_counts(world):
    measurement = new(world)
    services.reject_measurement(measurement, world.verifier, "Survey not representative.")
    stored = fresh(measurement)
    assert (stored.status, stored.rejection_reason) == (S.REJECTED, "Survey not representative.")
    assert eligible(world) == Decimal("0.00")


def test_a_verified_measurement_is_not_edited(world):
    measurement = new(world)
    services.verify_measurement(measurement, world.verifier)
    measurement = fresh(measurement)
    measurement.value = Decimal("900")
    with pytest.raises(ValidationError, match="supersede"):
        services.report_measurement(measurement, world.implementer)
    assert fresh(measurement).value == Decimal("500")


def test_superseding_a_verified_value_needs_a_reason_and_goes_back_to_review(world):
    measurement = new(world)
    services.verify_measurement(measurement, world.verifier)
    assert eligible(world) == Decimal("50000.00")
    with pytest.raises(ValidationError):
        services.supersede_measurement(measurement, world.implementer, "", value=Decimal("450"))

    correction = services.supersede_measurement(
        measurement,
        world.implementer,
        "Duplicates removed from the registry.",
        value=Decimal("450"),
    )

    old = fresh(measurement)
    assert (old.status, old.superseded_by, old.superseded_reason) == (
        S.SUPERSEDED,
        correction,
        "Duplicates removed from the registry.",
    )
    assert (correction.status, correction.value) == (S.SUBMITTED, Decimal("450"))
    # Disbursed nothing yet, so what was earned falls until the correction is verified.
    assert eligible(world) == Decimal("0.00")
    services.verify_measurement(correction, world.second_verifier)
    assert eligible(world) == Decimal("45000.00")


# Four eyes and independence


def test_nobody_verifies_what_they_changed(world):
    """Issue 22: an evaluator edits somebody else's value, then cannot verify it."""
    measurement = new(world)
    measurement = fresh(measurement)
    measurement.value = Decimal("4000")
    services.report_measurement(measurement, world.firm_colleague)

    with pytest.raises(PermissionDenied, match="reported or changed"):
        services.verify_measurement(fresh(measurement), world.firm_colleague)
    assert fresh(measurement).status == S.SUBMITTED
    assert world.firm_colleague.pk in fresh(measurement).author_ids()


def test_a_change_sends_a_returned_measurement_back_to_review_and_keeps_its_author(world):
    measurement = new(world)
    services.return_measurement(measurement, world.verifier, "Check Q1.")
    measurement = fresh(measurement)
    measurement.value = Decimal("420")
    services.report_measurement(measurement, world.colleague)

    stored = fresh(measurement)
    assert stored.status == S.SUBMITTED
    assert stored.author_ids() == {world.implementer.pk, world.colleague.pk}


@pytest.mark.parametrize(
    ("who", "why"),
    [
        ("implementer", "Only evaluators, verifiers"),
        ("colleague", "Only evaluators, verifiers"),
        ("partner_verifier", "implementing partner"),
    ],
)
def test_independence_refusals(world, who, why):
    measurement = new(world)
    person = getattr(world, who)

    assert not access.may_verify(person, fresh(measurement))
    for review in (
        lambda: services.verify_measurement(measurement, person),
        lambda: services.return_measurement(measurement, person, "Why?"),
        lambda: services.reject_measurement(measurement, person, "No."),
    ):
        with pytest.raises(PermissionDenied, match=why):
            review()
    assert fresh(measurement).status == S.SUBMITTED


def test_nobody_verifies_what_their_own_organisation_reported(world):
    measurement = new(world, reporter=world.firm_colleague)

    with pytest.raises(PermissionDenied, match="their own organisation"):
        services.verify_measurement(measurement, world.verifier)
    services.verify_measurement(measurement, world.second_verifier)
    assert fresh(measurement).status == S.VERIFIED


# Implementers


def test_implementers_report_only_for_their_own_organisations_projects(world):
    with pytest.raises(PermissionDenied, match="own organisation's projects"):
        new(world, reporter=world.outsider)
    assert not Measurement.objects.exists()


def test_implementers_read_only_their_own_projects_results(world):
    new(world)
    assert access.visible(world.implementer, Measurement.objects.all()).count() == 1
    assert access.visible(world.outsider, Measurement.objects.all()).count() == 0
    assert access.visible(world.verifier, Measurement.objects.all()).count() == 1


def test_verifiers_report_nothing(world):
    with pytest.raises(PermissionDenied):
        new(world, reporter=world.verifier)


# Comments, evidence, notices


def test_reporter_and_verifier_comment(world):
    measurement = new(world)
    services.comment_on_measurement(measurement, world.verifier, "Which extract?")
    services.comment_on_measurement(measurement, world.implementer, "The 31 March one.")
    with pytest.raises(PermissionDenied):
        services.comment_on_measurement(measurement, world.outsider, "Hello")
    assert list(fresh(measurement).comments.values_list("author__username", flat=True)) == [
        "verifier",
        "implementer",
    ]


PDF = b"%PDF-1.7\n1 0 obj << >> endobj\n%%EOF\n"


def test_evidence_is_type_checked_and_kept_privately(world, settings, tmp_path):
    settings.PRIVATE_FILES_ROOT = tmp_path
    measurement = new(world)
    evidence = services.attach_evidence(
        measurement, world.implementer, SimpleUploadedFile("extract.pdf", PDF)
    )
    assert (tmp_path / evidence.file.name).read_bytes() == PDF
    assert evidence.name == "extract.pdf"
    with pytest.raises(ValidationError):
        services.attach_evidence(
            measurement, world.implementer, SimpleUploadedFile("extract.pdf", b"MZ\x90 not a pdf")
        )
    with pytest.raises(ValidationError):
        services.attach_evidence(
            measurement, world.implementer, SimpleUploadedFile("tool.exe", b"MZ\x90")
        )
    assert Evidence.objects.count() == 1


def test_each_change_is_one_notice_sent_once(world, mailoutbox):
    measurement = new(world)
    services.return_measurement(measurement, world.verifier, "Check Q1.")
    notices = list(MeasurementNotice.objects.order_by("pk"))
    assert [notice.kind for notice in notices] == [CommentKind.SUBMITTED, CommentKind.RETURNED]

    from evaluations.services import digests

    assert digests.send_notice(notices[1].pk) is True
    assert digests.send_notice(notices[1].pk) is False  # a second delivery sends nothing
    returned = [mail for mail in mailoutbox if "implementer@example.org" in mail.to]
    assert len(returned) == 1
    assert "Check Q1." in returned[0].body


# Payouts on every path


def test_payouts_are_recomputed_on_delete_of_a_verified_measurement(world):
    measurement = new(world)
    services.verify_measurement(measurement, world.verifier)
    assert eligible(world) == Decimal("50000.00")

    services.delete_measurement(fresh(measurement), world.firm_colleague)

    assert eligible(world) == Decimal("0.00")


@pytest.mark.parametrize("step", ["verify", "reject", "return", "delete"])
def test_every_review_path_ends_in_the_one_payout_service(world, monkeypatch, step):
    measurement = new(world)
    calls = []
    from evaluations.services import measurements

    real = measurements.recalculate_payouts
    monkeypatch.setattr(
        measurements,
        "recalculate_payouts",
        lambda *args, **kwargs: calls.append(args[0]) or real(*args, **kwargs),
    )
    {
        "verify": lambda: services.verify_measurement(measurement, world.verifier),
        "reject": lambda: services.reject_measurement(measurement, world.verifier, "No."),
        "return": lambda: services.return_measurement(measurement, world.verifier, "Fix."),
        "delete": lambda: services.delete_measurement(measurement, world.firm_colleague),
    }[step]()
    assert [indicator.pk for indicator in calls] == [world.indicator.pk]


def test_a_notice_is_queued_for_its_task_and_the_task_sends_it_once(world, mailoutbox):
    from evaluations.services import digests
    from evaluations.tasks import send_measurement_notice
    from portfolio.models import OutboxMessage

    measurement = new(world)
    notice = MeasurementNotice.objects.get(measurement=measurement)
    message = OutboxMessage.objects.get(args=[notice.pk])
    assert message.task_name == digests.SEND_MEASUREMENT_NOTICE == send_measurement_notice.name

    send_measurement_notice.apply(args=[notice.pk])
    send_measurement_notice.apply(args=[notice.pk])

    to_verifier = [mail for mail in mailoutbox if "verifier@example.org" in mail.to]
    assert len(to_verifier) == 1
    # Nobody hears of a measurement they may not verify.
    assert not any("partner_verifier@example.org" in mail.to for mail in mailoutbox)

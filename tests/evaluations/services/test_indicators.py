"""Indicators, and measurements from report to verification, rejection or deletion, through
the services every door calls."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from evaluations import services
from evaluations.models import (
    Aggregation,
    Indicator,
    Measurement,
    MeasurementStatus,
    PayoutTerms,
)
from evaluations.progress import NO_DATA

from ..factories import (
    IndicatorFactory,
    MeasurementFactory,
    TargetFactory,
    reported,
)

pytestmark = pytest.mark.django_db


def eligible(terms):
    return PayoutTerms.objects.get(pk=terms.pk).eligible_amount


# Indicators


def test_a_new_indicator_is_stored_with_who_added_it(evaluator):
    project = IndicatorFactory().project
    indicator = IndicatorFactory.build(project=project, code="OUT-9", name="Services online")

    services.save_indicator(indicator, evaluator)

    stored = Indicator.objects.get(project=project, code="OUT-9")
    assert stored.name == "Services online"
    assert stored.history.first().history_user == evaluator


def test_an_indicator_change_moves_the_payouts_measured_from_it(terms, evaluator):
    services.verify_measurement(reported(terms, "500", "2025-01-01", "2025-03-31"), evaluator)
    assert eligible(terms) == Decimal("50000.00")
    indicator = Indicator.objects.get(pk=terms.target.indicator_id)
    indicator.baseline_value = Decimal("250")

    services.save_indicator(indicator, evaluator)

    # 500 of the 750 between baseline and target is two thirds of the way.
    assert eligible(terms) == Decimal("33333.33")
    latest = PayoutTerms.objects.get(pk=terms.pk).history.first()
    assert (latest.history_change_reason, latest.history_user) == ("Indicator changed.", evaluator)


@pytest.mark.parametrize("role", ["officer", "finance"])
def test_only_evaluators_and_managers_change_indicators(people, role):
    indicator = Indicator.objects.get(pk=IndicatorFactory(name="Before").pk)
    indicator.name = "After"

    with pytest.raises(PermissionDenied):
        services.save_indicator(indicator, people[role])
    assert Indicator.objects.get(pk=indicator.pk).name == "Before"


# Reporting


def test_a_reported_measurement_is_stored_as_reported_by_whoever_sends_it(evaluator):
    indicator = IndicatorFactory()
    measurement = MeasurementFactory.build(indicator=indicator, reported_by=None)

    services.report_measurement(measurement, evaluator)

    stored = Measurement.objects.get(indicator=indicator)
    assert (stored.status, stored.reported_by, stored.value) == (
        MeasurementStatus.SUBMITTED,
        evaluator,
        Decimal("100"),
    )
    assert stored.history.first().history_user == evaluator


def test_a_correction_keeps_the_first_reporter(people):
    measurement = Measurement.objects.get(pk=MeasurementFactory(reported_by=people["evaluator"]).pk)
    measurement.value = Decimal("120")

    services.report_measurement(measurement, people["other_evaluator"])

    stored = Measurement.objects.get(pk=measurement.pk)
    assert (stored.value, stored.reported_by) == (Decimal("120"), people["evaluator"])


def test_a_bad_report_is_refused_and_nothing_is_stored(evaluator):
    indicator = IndicatorFactory()
    measurement = MeasurementFactory.build(
        indicator=indicator, period_start=date(2025, 4, 1), period_end=date(2025, 3, 1)
    )

    with pytest.raises(ValidationError) as excinfo:
        services.report_measurement(measurement, evaluator)
    assert "period_end" in excinfo.value.message_dict
    assert not Measurement.objects.filter(indicator=indicator).exists()


@pytest.mark.parametrize("role", ["officer", "finance", "no_role"])
def test_only_evaluators_and_managers_report(people, role):
    indicator = IndicatorFactory()

    with pytest.raises(PermissionDenied):
        services.report_measurement(MeasurementFactory.build(indicator=indicator), people[role])
    assert not Measurement.objects.filter(indicator=indicator).exists()


# Review


def test_verifying_records_who_and_when(evaluator):
    measurement = MeasurementFactory()
    services.verify_measurement(measurement, evaluator)

    stored = Measurement.objects.get(pk=measurement.pk)
    assert stored.status == MeasurementStatus.VERIFIED
    assert stored.verified_by == evaluator
    assert stored.verified_at is not None
    assert measurement.status == MeasurementStatus.VERIFIED
    assert stored.history.first().history_user == evaluator


@pytest.mark.parametrize("role", ["evaluator", "manager"])
def test_nobody_verifies_or_rejects_a_measurement_they_reported(people, role):
    measurement = MeasurementFactory(reported_by=people[role])

    with pytest.raises(PermissionDenied, match="reported or changed"):
        services.verify_measurement(measurement, people[role])
    with pytest.raises(PermissionDenied, match="reported or changed"):
        services.reject_measurement(measurement, people[role], "Typo")
    stored = Measurement.objects.get(pk=measurement.pk)
    assert (stored.status, stored.verified_by) == (MeasurementStatus.SUBMITTED, None)


@pytest.mark.parametrize("role", ["officer", "finance"])
def test_only_evaluators_and_managers_review(people, role):
    measurement = MeasurementFactory()

    with pytest.raises(PermissionDenied, match="Only evaluators"):
        services.verify_measurement(measurement, people[role])
    assert Measurement.objects.get(pk=measurement.pk).status == MeasurementStatus.SUBMITTED


def test_a_manager_verifies_what_somebody_else_reported(people):
    measurement = MeasurementFactory()

    services.verify_measurement(measurement, people["manager"])

    stored = Measurement.objects.get(pk=measurement.pk)
    assert (stored.status, stored.verified_by) == (MeasurementStatus.VERIFIED, people["manager"])


def test_rejection_needs_a_reason(evaluator):
    measurement = MeasurementFactory()
    with pytest.raises(ValidationError) as excinfo:
        services.reject_measurement(measurement, evaluator, "  ")
    assert "rejection_reason" in excinfo.value.message_dict

    services.reject_measurement(measurement, evaluator, "Survey sample not representative.")
    stored = Measurement.objects.get(pk=measurement.pk)
    assert stored.status == MeasurementStatus.REJECTED
    assert stored.rejection_reason == "Survey sample not representative."


@pytest.mark.parametrize("reviewed", ["verified", "rejected"])
def test_a_reviewed_measurement_is_not_reviewed_again(evaluator, reviewed):
    measurement = MeasurementFactory(**{reviewed: True})
    with pytest.raises(ValidationError) as excinfo:
        services.verify_measurement(measurement, evaluator)
    assert "status" in excinfo.value.message_dict


def test_overlapping_periods_of_a_cumulative_indicator_are_not_both_verified(evaluator):
    indicator = IndicatorFactory(aggregation=Aggregation.CUMULATIVE)
    reported(indicator, "10", "2025-01-01", "2025-03-31")
    services.verify_measurement(reported(indicator, "10", "2025-01-01", "2025-06-30"), evaluator)
    first = Measurement.objects.get(indicator=indicator, period_end=date(2025, 3, 31))
    with pytest.raises(ValidationError, match="count it twice"):
        services.verify_measurement(first, evaluator)


def test_rejected_and_unverified_measurements_never_count(evaluator):
    indicator = IndicatorFactory(aggregation=Aggregation.NON_CUMULATIVE)
    services.verify_measurement(reported(indicator, "100", "2025-01-01", "2025-03-31"), evaluator)
    reported(indicator, "900", "2025-04-01", "2025-06-30")  # reported, not yet verified
    services.reject_measurement(
        reported(indicator, "800", "2025-07-01", "2025-09-30"), evaluator, "No source."
    )
    TargetFactory(indicator=indicator, value=Decimal("1000"))

    [total] = indicator.progress(as_of=date(2025, 10, 1))
    assert total.actual == Decimal("100")
    assert total.measured_until == date(2025, 3, 31)


def test_indicator_without_verified_values_has_no_data():
    indicator = IndicatorFactory()
    reported(indicator, "100", "2025-01-01", "2025-03-31")
    TargetFactory(indicator=indicator)
    [total] = indicator.progress(as_of=date(2025, 10, 1))
    assert total.status == NO_DATA


# Deletion


def test_deleting_a_verified_measurement_takes_back_what_it_earned(terms, evaluator):
    first = reported(terms, "300", "2025-01-01", "2025-03-31")
    second = reported(terms, "200", "2025-04-01", "2025-06-30")
    services.verify_measurement(first, evaluator)
    services.verify_measurement(second, evaluator)
    assert eligible(terms) == Decimal("50000.00")

    services.delete_measurement(second, evaluator)

    assert not Measurement.objects.filter(pk=second.pk).exists()
    assert eligible(terms) == Decimal("30000.00")
    latest = PayoutTerms.objects.get(pk=terms.pk).history.first()
    assert latest.history_change_reason == f"Measurement {second.pk} deleted."
    assert latest.history_user == evaluator


def test_deleting_a_reported_measurement_leaves_the_payouts_alone(terms, evaluator):
    services.verify_measurement(reported(terms, "300", "2025-01-01", "2025-03-31"), evaluator)
    pending = reported(terms, "200", "2025-04-01", "2025-06-30")
    versions = PayoutTerms.objects.get(pk=terms.pk).history.count()

    services.delete_measurement(pending, evaluator)

    assert eligible(terms) == Decimal("30000.00")
    assert PayoutTerms.objects.get(pk=terms.pk).history.count() == versions


def test_deletion_is_kept_in_history_with_who_deleted(evaluator):
    measurement = MeasurementFactory()

    services.delete_measurement(measurement, evaluator)

    deleted = Measurement.history.filter(id=measurement.pk).latest("history_date")
    assert (deleted.history_type, deleted.history_user) == ("-", evaluator)


@pytest.mark.parametrize("role", ["officer", "finance"])
def test_only_evaluators_and_managers_delete_measurements(people, role):
    measurement = MeasurementFactory(verified=True)

    with pytest.raises(PermissionDenied):
        services.delete_measurement(measurement, people[role])
    assert Measurement.objects.filter(pk=measurement.pk).exists()

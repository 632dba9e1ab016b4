"""Verifying and rejecting measurements, and the results-based payouts that follow."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from evaluations import services
from evaluations.models import (
    Aggregation,
    Measure,
    Measurement,
    MeasurementStatus,
    PayoutRule,
    PayoutTerms,
)
from evaluations.progress import NO_DATA
from funding.models import Tranche
from funding.services import disburse
from tests.factories import TrancheFactory

from .factories import (
    EvaluatorFactory,
    IndicatorFactory,
    MeasurementFactory,
    PayoutTermsFactory,
    TargetFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def evaluator():
    return EvaluatorFactory(username="evaluator")


@pytest.fixture
def terms():
    """Pro-rata terms on a 100,000 tranche paying for 1,000 people (cumulative, baseline 0)."""
    return PayoutTermsFactory(target__value=Decimal("1000"))


def report(terms_or_indicator, value, start, end, category=""):
    indicator = getattr(terms_or_indicator, "target", None)
    indicator = indicator.indicator if indicator else terms_or_indicator
    return MeasurementFactory(
        indicator=indicator,
        value=Decimal(value),
        period_start=date.fromisoformat(start),
        period_end=date.fromisoformat(end),
        disaggregation=category,
    )


def eligible(terms):
    return PayoutTerms.objects.get(pk=terms.pk).eligible_amount


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


def test_self_verification_is_refused():
    measurement = MeasurementFactory()
    with pytest.raises(ValidationError) as excinfo:
        services.verify_measurement(measurement, measurement.reported_by)
    assert "verified_by" in excinfo.value.message_dict
    assert Measurement.objects.get(pk=measurement.pk).status == MeasurementStatus.REPORTED


def test_rejecting_ones_own_measurement_is_refused_too():
    measurement = MeasurementFactory()
    with pytest.raises(ValidationError):
        services.reject_measurement(measurement, measurement.reported_by, "Typo")


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
    report(indicator, "10", "2025-01-01", "2025-03-31")
    services.verify_measurement(report(indicator, "10", "2025-01-01", "2025-06-30"), evaluator)
    first = Measurement.objects.get(indicator=indicator, period_end=date(2025, 3, 31))
    with pytest.raises(ValidationError, match="count it twice"):
        services.verify_measurement(first, evaluator)


# Only verified values count


def test_rejected_and_unverified_measurements_never_count(evaluator):
    indicator = IndicatorFactory(aggregation=Aggregation.NON_CUMULATIVE)
    services.verify_measurement(report(indicator, "100", "2025-01-01", "2025-03-31"), evaluator)
    report(indicator, "900", "2025-04-01", "2025-06-30")  # reported, not yet verified
    services.reject_measurement(
        report(indicator, "800", "2025-07-01", "2025-09-30"), evaluator, "No source."
    )
    TargetFactory(indicator=indicator, value=Decimal("1000"))

    [total] = indicator.progress(as_of=date(2025, 10, 1))
    assert total.actual == Decimal("100")
    assert total.measured_until == date(2025, 3, 31)


def test_indicator_without_verified_values_has_no_data():
    indicator = IndicatorFactory()
    report(indicator, "100", "2025-01-01", "2025-03-31")
    TargetFactory(indicator=indicator)
    [total] = indicator.progress(as_of=date(2025, 10, 1))
    assert total.status == NO_DATA


def test_unverified_and_rejected_measurements_earn_no_payout(terms, evaluator):
    report(terms, "600", "2025-01-01", "2025-03-31")
    services.reject_measurement(
        report(terms, "400", "2025-04-01", "2025-06-30"), evaluator, "Double-counted renewals."
    )
    services.recalculate_payouts(terms.target)
    assert eligible(terms) == Decimal("0.00")


# Payouts


def test_pro_rata_payout_follows_verified_achievement(terms, evaluator):
    services.verify_measurement(report(terms, "250", "2025-01-01", "2025-03-31"), evaluator)
    assert eligible(terms) == Decimal("25000.00")

    services.verify_measurement(report(terms, "350", "2025-04-01", "2025-06-30"), evaluator)
    assert eligible(terms) == Decimal("60000.00")
    assert PayoutTerms.objects.get(pk=terms.pk).achievement == Decimal("0.6")


def test_pro_rata_payout_is_capped_at_the_tranche_amount(terms, evaluator):
    services.verify_measurement(report(terms, "1500", "2025-01-01", "2025-03-31"), evaluator)
    assert eligible(terms) == Decimal("100000.00")


def test_pro_rata_payout_pays_nothing_below_the_threshold(evaluator):
    terms = PayoutTermsFactory(target__value=Decimal("1000"), minimum_achievement=Decimal("0.5"))
    services.verify_measurement(report(terms, "400", "2025-01-01", "2025-03-31"), evaluator)
    assert eligible(terms) == Decimal("0.00")

    services.verify_measurement(report(terms, "100", "2025-04-01", "2025-06-30"), evaluator)
    assert eligible(terms) == Decimal("50000.00")


def test_all_or_nothing_pays_only_once_the_target_is_met(evaluator):
    terms = PayoutTermsFactory(target__value=Decimal("1000"), rule=PayoutRule.ALL_OR_NOTHING)
    services.verify_measurement(report(terms, "999", "2025-01-01", "2025-03-31"), evaluator)
    assert eligible(terms) == Decimal("0.00")

    services.verify_measurement(report(terms, "1", "2025-04-01", "2025-06-30"), evaluator)
    assert eligible(terms) == Decimal("100000.00")


def test_payout_counts_only_the_targets_category(evaluator):
    terms = PayoutTermsFactory(target__value=Decimal("500"), target__disaggregation="sex:female")
    services.verify_measurement(report(terms, "900", "2025-01-01", "2025-03-31"), evaluator)
    services.verify_measurement(
        report(terms, "100", "2025-01-01", "2025-03-31", category="sex:female"), evaluator
    )
    assert eligible(terms) == Decimal("20000.00")


def test_percentage_payout_uses_numerators_and_denominators(evaluator):
    terms = PayoutTermsFactory(
        target__indicator__measure=Measure.PERCENTAGE,
        target__indicator__baseline_value=Decimal("0"),
        target__value=Decimal("50"),
    )
    indicator = terms.target.indicator
    for start, end, numerator, denominator in [
        ("2025-01-01", "2025-03-31", 10, 100),
        ("2025-04-01", "2025-06-30", 390, 900),
    ]:
        measurement = MeasurementFactory(
            indicator=indicator,
            value=None,
            numerator=Decimal(numerator),
            denominator=Decimal(denominator),
            period_start=date.fromisoformat(start),
            period_end=date.fromisoformat(end),
        )
        services.verify_measurement(measurement, evaluator)
    # 400 of 1000 is 40%, 0.8 of the target; averaging 10% and 43.3% would give 0.53.
    assert eligible(terms) == Decimal("80000.00")


def test_saving_terms_counts_results_already_verified(evaluator):
    indicator = IndicatorFactory()
    services.verify_measurement(report(indicator, "300", "2025-01-01", "2025-03-31"), evaluator)
    tranche = TrancheFactory(project=indicator.project, instrument=Tranche.Instrument.RESULTS_BASED)
    target = TargetFactory(indicator=indicator, value=Decimal("1000"))
    terms = services.save_payout_terms(
        PayoutTerms(tranche=tranche, target=target, rule=PayoutRule.PRO_RATA)
    )
    assert terms.eligible_amount == Decimal("30000.00")


def test_a_target_change_recalculates_its_payouts(terms, evaluator):
    services.verify_measurement(report(terms, "500", "2025-01-01", "2025-03-31"), evaluator)
    target = terms.target
    target.value = Decimal("2000")
    services.save_target(target, reason="Scope doubled to a second province.")
    assert eligible(terms) == Decimal("25000.00")


def test_disbursement_is_allowed_up_to_the_eligible_amount_and_refused_beyond(terms, evaluator):
    services.verify_measurement(report(terms, "400", "2025-01-01", "2025-03-31"), evaluator)
    tranche = terms.tranche

    disburse(tranche, Decimal("30000.00"), date(2025, 5, 1))
    with pytest.raises(ValidationError) as excinfo:
        disburse(tranche, Decimal("10000.01"), date(2025, 5, 2))
    assert "amount" in excinfo.value.message_dict
    disburse(tranche, Decimal("10000.00"), date(2025, 5, 2))
    assert tranche.disbursed_amount == Decimal("40000.00")


def test_nothing_is_disbursed_before_results_are_verified(terms):
    report(terms, "400", "2025-01-01", "2025-03-31")
    with pytest.raises(ValidationError) as excinfo:
        disburse(terms.tranche, Decimal("1.00"), date(2025, 5, 1))
    assert "amount" in excinfo.value.message_dict


def test_eligible_amount_never_falls_below_what_was_disbursed(evaluator):
    terms = PayoutTermsFactory(
        target__value=Decimal("1000"),
        target__indicator__aggregation=Aggregation.NON_CUMULATIVE,
    )
    services.verify_measurement(report(terms, "600", "2025-01-01", "2025-03-31"), evaluator)
    disburse(terms.tranche, Decimal("50000.00"), date(2025, 5, 1))

    # A later, lower value earns less, but money already paid stays earned.
    services.verify_measurement(report(terms, "200", "2025-04-01", "2025-06-30"), evaluator)
    assert eligible(terms) == Decimal("50000.00")


def test_eligibility_changes_are_kept_in_history(terms, evaluator):
    services.verify_measurement(report(terms, "250", "2025-01-01", "2025-03-31"), evaluator)
    latest = PayoutTerms.objects.get(pk=terms.pk).history.first()
    assert latest.eligible_amount == Decimal("25000.00")
    assert "verified" in latest.history_change_reason

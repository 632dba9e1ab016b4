"""Results-based payouts: what verified results earn, as the services keep it up to date."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from evaluations import services
from evaluations.models import Aggregation, Measure, PayoutRule, PayoutTerms
from funding.models import Tranche
from funding.services import disburse
from tests.factories import TrancheFactory

from ..factories import (
    IndicatorFactory,
    MeasurementFactory,
    PayoutTermsFactory,
    TargetFactory,
    reported,
)

pytestmark = pytest.mark.django_db


def eligible(terms):
    return PayoutTerms.objects.get(pk=terms.pk).eligible_amount


def test_unverified_and_rejected_measurements_earn_no_payout(terms, evaluator):
    reported(terms, "600", "2025-01-01", "2025-03-31")
    services.reject_measurement(
        reported(terms, "400", "2025-04-01", "2025-06-30"), evaluator, "Double-counted renewals."
    )
    services.recalculate_payouts(terms.target)
    assert eligible(terms) == Decimal("0.00")


def test_pro_rata_payout_follows_verified_achievement(terms, evaluator):
    services.verify_measurement(reported(terms, "250", "2025-01-01", "2025-03-31"), evaluator)
    assert eligible(terms) == Decimal("25000.00")

    services.verify_measurement(reported(terms, "350", "2025-04-01", "2025-06-30"), evaluator)
    assert eligible(terms) == Decimal("60000.00")
    assert PayoutTerms.objects.get(pk=terms.pk).achievement == Decimal("0.6")


def test_pro_rata_payout_is_capped_at_the_tranche_amount(terms, evaluator):
    services.verify_measurement(reported(terms, "1500", "2025-01-01", "2025-03-31"), evaluator)
    assert eligible(terms) == Decimal("100000.00")


def test_pro_rata_payout_pays_nothing_below_the_threshold(evaluator):
    terms = PayoutTermsFactory(target__value=Decimal("1000"), minimum_achievement=Decimal("0.5"))
    services.verify_measurement(reported(terms, "400", "2025-01-01", "2025-03-31"), evaluator)
    assert eligible(terms) == Decimal("0.00")

    services.verify_measurement(reported(terms, "100", "2025-04-01", "2025-06-30"), evaluator)
    assert eligible(terms) == Decimal("50000.00")


def test_all_or_nothing_pays_only_once_the_target_is_met(evaluator):
    terms = PayoutTermsFactory(target__value=Decimal("1000"), rule=PayoutRule.ALL_OR_NOTHING)
    services.verify_measurement(reported(terms, "999", "2025-01-01", "2025-03-31"), evaluator)
    assert eligible(terms) == Decimal("0.00")

    services.verify_measurement(reported(terms, "1", "2025-04-01", "2025-06-30"), evaluator)
    assert eligible(terms) == Decimal("100000.00")


def test_payout_counts_only_the_targets_category(evaluator):
    terms = PayoutTermsFactory(target__value=Decimal("500"), target__disaggregation="sex:female")
    services.verify_measurement(reported(terms, "900", "2025-01-01", "2025-03-31"), evaluator)
    services.verify_measurement(
        reported(terms, "100", "2025-01-01", "2025-03-31", category="sex:female"), evaluator
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
    services.verify_measurement(reported(indicator, "300", "2025-01-01", "2025-03-31"), evaluator)
    tranche = TrancheFactory(project=indicator.project, instrument=Tranche.Instrument.RESULTS_BASED)
    target = TargetFactory(indicator=indicator, value=Decimal("1000"))
    terms = services.save_payout_terms(
        PayoutTerms(tranche=tranche, target=target, rule=PayoutRule.PRO_RATA)
    )
    assert terms.eligible_amount == Decimal("30000.00")


def test_a_target_change_recalculates_its_payouts(terms, evaluator):
    services.verify_measurement(reported(terms, "500", "2025-01-01", "2025-03-31"), evaluator)
    target = terms.target
    target.value = Decimal("2000")
    services.save_target(target, reason="Scope doubled to a second province.")
    assert eligible(terms) == Decimal("25000.00")


def test_disbursement_is_allowed_up_to_the_eligible_amount_and_refused_beyond(terms, evaluator):
    services.verify_measurement(reported(terms, "400", "2025-01-01", "2025-03-31"), evaluator)
    tranche = terms.tranche

    disburse(tranche, Decimal("30000.00"), date(2025, 5, 1))
    with pytest.raises(ValidationError) as excinfo:
        disburse(tranche, Decimal("10000.01"), date(2025, 5, 2))
    assert "amount" in excinfo.value.message_dict
    disburse(tranche, Decimal("10000.00"), date(2025, 5, 2))
    assert tranche.disbursed_amount == Decimal("40000.00")


def test_nothing_is_disbursed_before_results_are_verified(terms):
    reported(terms, "400", "2025-01-01", "2025-03-31")
    with pytest.raises(ValidationError) as excinfo:
        disburse(terms.tranche, Decimal("1.00"), date(2025, 5, 1))
    assert "amount" in excinfo.value.message_dict


def test_eligible_amount_never_falls_below_what_was_disbursed(evaluator):
    terms = PayoutTermsFactory(
        target__value=Decimal("1000"),
        target__indicator__aggregation=Aggregation.NON_CUMULATIVE,
    )
    services.verify_measurement(reported(terms, "600", "2025-01-01", "2025-03-31"), evaluator)
    disburse(terms.tranche, Decimal("50000.00"), date(2025, 5, 1))

    # A later, lower value earns less, but money already paid stays earned.
    services.verify_measurement(reported(terms, "200", "2025-04-01", "2025-06-30"), evaluator)
    assert eligible(terms) == Decimal("50000.00")


def test_eligibility_changes_are_kept_in_history(terms, evaluator):
    services.verify_measurement(reported(terms, "250", "2025-01-01", "2025-03-31"), evaluator)
    latest = PayoutTerms.objects.get(pk=terms.pk).history.first()
    assert latest.eligible_amount == Decimal("25000.00")
    assert "verified" in latest.history_change_reason

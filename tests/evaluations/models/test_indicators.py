"""Rules that belong to one indicator, target, measurement, evaluation or set of payout terms."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from evaluations import services
from evaluations.models import (
    Aggregation,
    Direction,
    Measure,
    Measurement,
    PayoutRule,
    Target,
)
from funding.models import Tranche
from tests.factories import OrganisationFactory, TrancheFactory

from .factories import (
    EvaluationFactory,
    EvaluatorFactory,
    IndicatorFactory,
    MeasurementFactory,
    PayoutTermsFactory,
    TargetFactory,
)

pytestmark = pytest.mark.django_db


def errors_of(excinfo):
    return excinfo.value.message_dict


# Targets and their history


def test_target_change_without_a_reason_is_refused():
    target = TargetFactory()
    target = Target.objects.get(pk=target.pk)
    target.value = Decimal("1200")

    with pytest.raises(ValidationError) as excinfo:
        target.full_clean()
    assert "change_reason" in errors_of(excinfo)
    with pytest.raises(ValidationError):
        target.save()
    with pytest.raises(ValidationError):
        services.save_target(target)
    assert Target.objects.get(pk=target.pk).value == Decimal("1000")


def test_target_change_with_a_reason_keeps_the_old_value_and_the_reason_in_history():
    target = TargetFactory()
    user = EvaluatorFactory(username="evaluator")
    target = Target.objects.get(pk=target.pk)
    target.due_on = date(2027, 6, 30)
    target.value = Decimal("1500")

    services.save_target(target, reason="Roll-out delayed by the election.", user=user)

    latest, original = target.history.all()[:2]
    assert (original.value, original.due_on) == (Decimal("1000"), date(2026, 12, 31))
    assert (latest.value, latest.due_on) == (Decimal("1500"), date(2027, 6, 30))
    assert latest.history_change_reason == "Roll-out delayed by the election."
    assert latest.history_user == user


def test_each_later_change_needs_its_own_reason():
    target = Target.objects.get(pk=TargetFactory().pk)
    target.value = Decimal("1100")
    services.save_target(target, reason="Census revised the population.")
    target.value = Decimal("1200")
    with pytest.raises(ValidationError):
        services.save_target(target)


def test_a_change_to_the_category_alone_needs_no_reason():
    target = Target.objects.get(pk=TargetFactory().pk)
    target.disaggregation = "sex:female"
    services.save_target(target)


def test_target_must_lie_beyond_the_baseline_in_the_indicators_direction():
    rising = IndicatorFactory(baseline_value=Decimal("50"))
    falling = IndicatorFactory(baseline_value=Decimal("45"), direction=Direction.DECREASE)

    with pytest.raises(ValidationError) as excinfo:
        Target(indicator=rising, due_on=date(2026, 1, 1), value=Decimal("40")).full_clean()
    assert "value" in errors_of(excinfo)
    with pytest.raises(ValidationError) as excinfo:
        Target(indicator=falling, due_on=date(2026, 1, 1), value=Decimal("60")).full_clean()
    assert "value" in errors_of(excinfo)
    Target(indicator=falling, due_on=date(2026, 1, 1), value=Decimal("7")).full_clean()


def test_target_category_must_be_one_the_indicator_reports():
    indicator = IndicatorFactory(disaggregations=["sex"])
    target = Target(
        indicator=indicator,
        due_on=date(2026, 1, 1),
        value=Decimal("9"),
        disaggregation="location:rural",
    )
    with pytest.raises(ValidationError) as excinfo:
        target.full_clean()
    assert "disaggregation" in errors_of(excinfo)


def test_indicator_disaggregations_are_drawn_from_the_list():
    indicator = IndicatorFactory.build(
        project=IndicatorFactory().project, code="X", disaggregations=["sex", "religion"]
    )
    with pytest.raises(ValidationError) as excinfo:
        indicator.full_clean()
    assert "disaggregations" in errors_of(excinfo)


def test_qualitative_indicator_cannot_be_cumulative():
    indicator = IndicatorFactory.build(
        project=IndicatorFactory().project,
        code="Q",
        measure=Measure.QUALITATIVE,
        aggregation=Aggregation.CUMULATIVE,
    )
    with pytest.raises(ValidationError) as excinfo:
        indicator.full_clean()
    assert "aggregation" in errors_of(excinfo)


# Measurements


def test_percentage_measurement_derives_its_value_from_numerator_and_denominator():
    indicator = IndicatorFactory(measure=Measure.PERCENTAGE, aggregation=Aggregation.NON_CUMULATIVE)
    measurement = Measurement(
        indicator=indicator,
        period_start=date(2025, 1, 1),
        period_end=date(2025, 6, 30),
        numerator=Decimal("1840"),
        denominator=Decimal("6100"),
        source="Civil registry statistics",
    )
    measurement.full_clean()
    measurement.save()
    assert measurement.value == Decimal("30.1639")


def test_percentage_measurement_needs_a_positive_denominator():
    indicator = IndicatorFactory(measure=Measure.PERCENTAGE, aggregation=Aggregation.NON_CUMULATIVE)
    measurement = MeasurementFactory.build(
        indicator=indicator, value=None, numerator=Decimal("5"), denominator=Decimal("0")
    )
    with pytest.raises(ValidationError) as excinfo:
        measurement.full_clean(exclude=["reported_by"])
    assert "denominator" in errors_of(excinfo)


def test_number_measurement_takes_no_fraction():
    measurement = MeasurementFactory.build(
        indicator=IndicatorFactory(), numerator=Decimal("1"), denominator=Decimal("2")
    )
    with pytest.raises(ValidationError) as excinfo:
        measurement.full_clean(exclude=["reported_by"])
    assert "numerator" in errors_of(excinfo)


def test_measurement_period_must_be_ordered_and_over():
    measurement = MeasurementFactory.build(
        indicator=IndicatorFactory(), period_start=date(2025, 4, 1), period_end=date(2025, 3, 1)
    )
    with pytest.raises(ValidationError) as excinfo:
        measurement.full_clean(exclude=["reported_by"])
    assert "period_end" in errors_of(excinfo)

    tomorrow = timezone.localdate() + timedelta(days=1)
    measurement = MeasurementFactory.build(indicator=IndicatorFactory(), period_end=tomorrow)
    with pytest.raises(ValidationError) as excinfo:
        measurement.full_clean(exclude=["reported_by"])
    assert "period_end" in errors_of(excinfo)


def test_database_refuses_a_period_that_ends_before_it_starts():
    with pytest.raises(IntegrityError), transaction.atomic():
        MeasurementFactory(period_start=date(2025, 4, 1), period_end=date(2025, 3, 1))


def test_database_refuses_a_rejection_without_reason():
    with pytest.raises(IntegrityError), transaction.atomic():
        MeasurementFactory(rejected=True, rejection_reason="")


def test_database_refuses_self_verification():
    measurement = MeasurementFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Measurement.objects.filter(pk=measurement.pk).update(
            status="verified", verified_by=measurement.reported_by, verified_at=timezone.now()
        )


def test_verified_measurement_cannot_be_edited():
    measurement = Measurement.objects.get(pk=MeasurementFactory(verified=True).pk)
    measurement.value = Decimal("999")
    with pytest.raises(ValidationError, match="cannot be changed"):
        measurement.full_clean()


def test_only_one_live_measurement_per_period_and_category():
    first = MeasurementFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        MeasurementFactory(indicator=first.indicator)
    MeasurementFactory(indicator=first.indicator, disaggregation="sex:female")


# Evaluations


def test_ratings_outside_one_to_six_are_refused():
    evaluation = EvaluationFactory()
    evaluation.relevance = 7
    with pytest.raises(ValidationError) as excinfo:
        evaluation.full_clean()
    assert "relevance" in errors_of(excinfo)
    with pytest.raises(IntegrityError), transaction.atomic():
        EvaluationFactory(sustainability=0)


def test_evaluating_organisation_must_be_an_evaluation_firm():
    evaluation = EvaluationFactory()
    evaluation.evaluator = OrganisationFactory(is_funder=True, is_evaluator=False)
    with pytest.raises(ValidationError) as excinfo:
        evaluation.full_clean()
    assert "evaluator" in errors_of(excinfo)


# Payout terms


def test_only_a_results_based_tranche_takes_payout_terms():
    terms = PayoutTermsFactory()
    terms.tranche = TrancheFactory(
        project=terms.tranche.project, instrument=Tranche.Instrument.GRANT
    )
    with pytest.raises(ValidationError) as excinfo:
        terms.full_clean()
    assert "tranche" in errors_of(excinfo)


def test_payout_target_must_be_of_the_tranches_project():
    terms = PayoutTermsFactory()
    terms.target = TargetFactory()
    with pytest.raises(ValidationError) as excinfo:
        terms.full_clean()
    assert "target" in errors_of(excinfo)


def test_minimum_achievement_applies_only_to_pro_rata():
    terms = PayoutTermsFactory(rule=PayoutRule.ALL_OR_NOTHING)
    terms.minimum_achievement = Decimal("0.5")
    with pytest.raises(ValidationError) as excinfo:
        terms.full_clean()
    assert "minimum_achievement" in errors_of(excinfo)
    with pytest.raises(IntegrityError), transaction.atomic():
        terms.save()

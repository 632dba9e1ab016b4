"""Rules that belong to one indicator, target or measurement, and what each remembers of
what is stored (portfolio.tracking.StoredValues) to judge an edit."""

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
    Indicator,
    Measure,
    Measurement,
    MeasurementStatus,
    Target,
)

from ..factories import (
    EvaluatorFactory,
    IndicatorFactory,
    MeasurementFactory,
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


def test_a_target_just_created_needs_a_reason_for_its_first_change():
    target = TargetFactory()  # never read back: what it saved is what is stored
    target.value = Decimal("1300")

    with pytest.raises(ValidationError) as excinfo:
        services.save_target(target)
    assert "change_reason" in errors_of(excinfo)
    assert Target.objects.get(pk=target.pk).value == Decimal("1000")


def test_a_new_target_needs_no_reason():
    target = TargetFactory.build(indicator=IndicatorFactory())

    services.save_target(target)

    assert Target.objects.get(pk=target.pk).value == Decimal("1000")


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


def test_an_indicators_measure_cannot_change_once_measurements_are_recorded():
    indicator = Indicator.objects.get(pk=MeasurementFactory().indicator_id)
    indicator.measure = Measure.QUALITATIVE
    indicator.aggregation = Aggregation.NON_CUMULATIVE

    with pytest.raises(ValidationError) as excinfo:
        indicator.full_clean()
    assert "measure" in errors_of(excinfo)


def test_an_indicators_measure_changes_freely_before_anything_is_measured():
    indicator = Indicator.objects.get(pk=IndicatorFactory().pk)
    indicator.measure = Measure.QUALITATIVE
    indicator.aggregation = Aggregation.NON_CUMULATIVE

    indicator.full_clean()


def test_the_measure_saved_is_the_one_remembered():
    indicator = IndicatorFactory()
    MeasurementFactory(indicator=indicator)
    indicator.measure = Measure.QUALITATIVE
    indicator.aggregation = Aggregation.NON_CUMULATIVE

    with pytest.raises(ValidationError) as excinfo:
        indicator.full_clean()
    assert "measure" in errors_of(excinfo)


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


def test_a_measurement_verified_in_hand_refuses_later_edits_of_its_evidence():
    measurement = MeasurementFactory()
    services.verify_measurement(measurement, EvaluatorFactory())
    verified = Measurement.objects.get(pk=measurement.pk)
    assert verified.stored("status") == MeasurementStatus.VERIFIED

    verified.comment = "Checked against the Q1 extract."
    verified.full_clean()  # a comment is not evidence
    verified.source = "Another source"
    with pytest.raises(ValidationError, match="cannot be changed"):
        verified.full_clean()


def test_only_one_live_measurement_per_period_and_category():
    first = MeasurementFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        MeasurementFactory(indicator=first.indicator)
    MeasurementFactory(indicator=first.indicator, disaggregation="sex:female")

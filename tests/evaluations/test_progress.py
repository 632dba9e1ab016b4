"""Indicator progress and payouts, worked out on plain data without a database."""

from datetime import date
from decimal import Decimal

import pytest

from evaluations.progress import (
    ACHIEVED,
    ALL_OR_NOTHING,
    CUMULATIVE,
    DECREASE,
    INCREASE,
    NO_DATA,
    NON_CUMULATIVE,
    OFF_TRACK,
    ON_TRACK,
    PRO_RATA,
    Goal,
    IndicatorSpec,
    Observation,
    achievement,
    achievement_toward,
    current_value,
    earned_amount,
    indicator_progress,
    next_goal,
    share_of_time_elapsed,
)


def d(text):
    return date.fromisoformat(text)


def dec(text):
    return Decimal(text)


def spec(direction=INCREASE, aggregation=NON_CUMULATIVE, baseline="0", percentage=False):
    return IndicatorSpec(
        direction=direction,
        aggregation=aggregation,
        baseline_value=dec(baseline),
        baseline_date=d("2025-01-01"),
        is_percentage=percentage,
    )


def seen(start, end, value, category="", numerator=None, denominator=None):
    return Observation(
        d(start),
        d(end),
        dec(value),
        numerator=None if numerator is None else dec(numerator),
        denominator=None if denominator is None else dec(denominator),
        category=category,
    )


Q1 = ("2025-01-01", "2025-03-31")
Q2 = ("2025-04-01", "2025-06-30")
Q3 = ("2025-07-01", "2025-09-30")


def test_non_cumulative_value_is_that_of_the_latest_period():
    observations = [seen(*Q3, "70"), seen(*Q1, "90"), seen(*Q2, "80")]
    assert current_value(spec(), observations) == dec("70")


def test_cumulative_values_add_up():
    observations = [seen(*Q1, "100"), seen(*Q2, "250"), seen(*Q3, "50")]
    assert current_value(spec(aggregation=CUMULATIVE), observations) == dec("400")


def test_no_observations_give_no_value():
    assert current_value(spec(), []) is None


def test_cumulative_percentage_comes_from_numerators_and_denominators_not_an_average():
    # 10/100 and 90/100... averaging 10% and 90% over 100 and 900 people would give 50%;
    # the people counted give 820 of 1000, 82%.
    observations = [
        seen(*Q1, "10", numerator="10", denominator="100"),
        seen(*Q2, "90", numerator="810", denominator="900"),
    ]
    value = current_value(spec(aggregation=CUMULATIVE, percentage=True), observations)
    assert value == dec("82")


def test_non_cumulative_percentage_uses_the_latest_periods_fraction():
    observations = [
        seen(*Q1, "10", numerator="10", denominator="100"),
        seen(*Q2, "33.3333", numerator="1", denominator="3"),
    ]
    value = current_value(spec(percentage=True), observations)
    assert value.quantize(dec("0.000001")) == dec("33.333333")


def test_percentage_without_its_fraction_is_refused():
    with pytest.raises(ValueError, match="numerator"):
        current_value(spec(percentage=True), [seen(*Q1, "40")])


@pytest.mark.parametrize(
    ("direction", "baseline", "target", "actual", "expected"),
    [
        pytest.param(INCREASE, "20", "60", "40", "0.5", id="increase-halfway"),
        pytest.param(INCREASE, "20", "60", "60", "1", id="increase-met"),
        pytest.param(INCREASE, "20", "60", "70", "1.25", id="increase-beyond"),
        pytest.param(INCREASE, "20", "60", "10", "-0.25", id="increase-worse-than-baseline"),
        pytest.param(DECREASE, "45", "5", "25", "0.5", id="decrease-halfway"),
        pytest.param(DECREASE, "45", "5", "5", "1", id="decrease-met"),
        pytest.param(DECREASE, "45", "5", "50", "-0.125", id="decrease-worse-than-baseline"),
    ],
)
def test_achievement_is_measured_from_the_baseline_in_either_direction(
    direction, baseline, target, actual, expected
):
    assert achievement(direction, dec(baseline), dec(target), dec(actual)) == dec(expected)


def test_target_equal_to_baseline_is_met_once_the_actual_is_as_good():
    assert achievement(INCREASE, dec("5"), dec("5"), dec("5")) == 1
    assert achievement(INCREASE, dec("5"), dec("5"), dec("4")) == 0
    assert achievement(DECREASE, dec("5"), dec("5"), dec("4")) == 1


def test_cumulative_increasing_indicator_progress():
    observations = [seen(*Q1, "150"), seen(*Q2, "250")]
    goals = [Goal(d("2026-12-31"), dec("1000"))]
    [total] = indicator_progress(spec(aggregation=CUMULATIVE), observations, goals, d("2025-07-01"))
    assert total.actual == dec("400")
    assert total.achievement == dec("0.4")
    assert total.measured_until == d("2025-06-30")
    assert total.status == ON_TRACK  # 40% achieved, about 25% of the time gone


def test_decreasing_non_cumulative_indicator_progress():
    # Days to issue an ID: from 45 down to 5.
    observations = [seen(*Q1, "40"), seen(*Q2, "30")]
    goals = [Goal(d("2025-12-31"), dec("5"))]
    [total] = indicator_progress(
        spec(direction=DECREASE, baseline="45"), observations, goals, d("2025-10-01")
    )
    assert total.actual == dec("30")
    assert total.achievement == dec("0.375")
    assert total.status == OFF_TRACK  # three quarters of the time gone


def test_progress_is_worked_out_per_disaggregation_with_the_total_first():
    observations = [
        seen(*Q1, "100"),
        seen(*Q1, "30", category="sex:female"),
        seen(*Q2, "40", category="sex:female"),
        seen(*Q1, "70", category="sex:male"),
    ]
    goals = [
        Goal(d("2025-12-31"), dec("200")),
        Goal(d("2025-12-31"), dec("100"), category="sex:female"),
    ]
    rows = indicator_progress(spec(aggregation=CUMULATIVE), observations, goals, d("2025-07-01"))
    by_category = {row.category: row for row in rows}

    assert [row.category for row in rows] == ["", "sex:female", "sex:male"]
    assert by_category[""].actual == dec("100")  # categories are not added into the total
    assert by_category["sex:female"].actual == dec("70")
    assert by_category["sex:female"].achievement == dec("0.7")
    assert by_category["sex:male"].target is None
    assert by_category["sex:male"].status == NO_DATA


def test_achievement_of_one_or_more_is_achieved():
    [total] = indicator_progress(
        spec(), [seen(*Q1, "120")], [Goal(d("2026-12-31"), dec("100"))], d("2025-04-01")
    )
    assert total.status == ACHIEVED


def test_no_verified_value_is_no_data():
    [total] = indicator_progress(spec(), [], [Goal(d("2026-12-31"), dec("100"))], d("2025-04-01"))
    assert total.actual is None
    assert total.status == NO_DATA


def test_past_due_target_not_met_is_off_track():
    [total] = indicator_progress(
        spec(), [seen(*Q1, "99")], [Goal(d("2025-06-30"), dec("100"))], d("2025-08-01")
    )
    assert total.target.due_on == d("2025-06-30")
    assert total.status == OFF_TRACK


def test_on_track_means_achievement_keeps_pace_with_time():
    # Baseline 2025-01-01, due 2025-12-31 (364 days); on 2025-07-02 half the time is gone.
    goals = [Goal(d("2025-12-31"), dec("100"))]
    [ahead] = indicator_progress(spec(), [seen(*Q1, "50")], goals, d("2025-07-02"))
    [behind] = indicator_progress(spec(), [seen(*Q1, "49")], goals, d("2025-07-02"))
    assert ahead.status == ON_TRACK
    assert behind.status == OFF_TRACK


def test_the_next_target_is_the_first_one_not_yet_due():
    goals = [Goal(d("2025-12-31"), dec("1")), Goal(d("2026-12-31"), dec("2"))]
    assert next_goal(goals, d("2025-12-31")).value == 1
    assert next_goal(goals, d("2026-01-01")).value == 2
    assert next_goal(goals, d("2027-06-01")).value == 2  # all past due: the last one
    assert next_goal([], d("2026-01-01")) is None


def test_share_of_time_elapsed_is_clipped():
    start, due = d("2025-01-01"), d("2025-01-11")
    assert share_of_time_elapsed(start, due, d("2024-12-01")) == 0
    assert share_of_time_elapsed(start, due, d("2025-01-06")) == dec("0.5")
    assert share_of_time_elapsed(start, due, d("2026-01-01")) == 1
    assert share_of_time_elapsed(start, start, d("2024-01-01")) == 1


def test_achievement_toward_a_target_counts_only_its_category():
    observations = [seen(*Q1, "80"), seen(*Q1, "10", category="sex:female")]
    goal = Goal(d("2026-12-31"), dec("40"), category="sex:female")
    assert achievement_toward(spec(aggregation=CUMULATIVE), observations, goal) == dec("0.25")
    assert achievement_toward(spec(), [], goal) is None


AMOUNT = dec("100000.00")


@pytest.mark.parametrize(
    ("reached", "expected"),
    [("0.99", "0.00"), ("1", "100000.00"), ("1.5", "100000.00"), ("-0.2", "0.00")],
)
def test_all_or_nothing_pays_the_whole_amount_only_once_the_target_is_met(reached, expected):
    assert earned_amount(AMOUNT, dec(reached), ALL_OR_NOTHING) == dec(expected)


@pytest.mark.parametrize(
    ("reached", "expected"),
    [
        ("0", "0.00"),
        ("0.4", "40000.00"),
        ("0.666666666", "66666.66"),  # rounded down: never more than earned
        ("1", "100000.00"),
        ("1.3", "100000.00"),  # capped at 100%
    ],
)
def test_pro_rata_pays_in_proportion_to_achievement_capped_at_the_amount(reached, expected):
    assert earned_amount(AMOUNT, dec(reached), PRO_RATA) == dec(expected)


def test_pro_rata_pays_nothing_below_the_minimum_achievement():
    assert earned_amount(AMOUNT, dec("0.49"), PRO_RATA, dec("0.5")) == 0
    assert earned_amount(AMOUNT, dec("0.5"), PRO_RATA, dec("0.5")) == dec("50000.00")


def test_no_achievement_earns_nothing():
    assert earned_amount(AMOUNT, None, PRO_RATA) == 0

"""Maintenance coverage and lapse flags, checked on plain dates without a database."""

import calendar
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funding import coverage, lines
from funding.coverage import (
    AT_RISK,
    LAPSED,
    NO_MAINTENANCE,
    UNDERFUNDED,
    UNSECURED,
    Flag,
    FundedPeriod,
    Interval,
    MonthCoverage,
    assess,
    clip,
    forecast,
    gaps,
    merge,
    obligation_window,
)


def d(text):
    return date.fromisoformat(text)


def span(start, end):
    return Interval(d(start), d(end))


WINDOW = span("2025-01-01", "2027-12-31")
AS_OF = d("2026-03-01")


def a_year(amount):
    """A plan of one line costing `amount` a year over the whole window, as the scan passes it:
    what it costs over a period."""
    plan = [lines.LineCost("other", Decimal(amount))]
    return lambda period: lines.cost_over(plan, None, period)


# The design's worked examples


@pytest.mark.parametrize(
    ("secured", "planned", "expected"),
    [
        pytest.param(
            [span("2025-01-01", "2026-01-31")],
            [],
            Flag(LAPSED, d("2026-02-01"), d("2027-12-31"), -28),
            id="lapsed",
        ),
        pytest.param(
            [span("2025-01-01", "2026-04-30")],
            [],
            Flag(AT_RISK, d("2026-05-01"), d("2027-12-31"), 61),
            id="at_risk",
        ),
        pytest.param(
            [span("2025-01-01", "2026-04-30")],
            [span("2026-05-01", "2027-12-31")],
            Flag(UNSECURED, d("2026-05-01"), d("2027-12-31"), 61),
            id="unsecured",
        ),
    ],
)
def test_design_examples(secured, planned, expected):
    assert assess(WINDOW, secured, planned, AS_OF).flags == [expected]


# Boundaries of the lapse flags


def test_gap_starting_today_has_lapsed_today():
    result = assess(WINDOW, [span("2025-01-01", "2026-02-28")], [], AS_OF)
    assert result.flags == [Flag(LAPSED, AS_OF, d("2027-12-31"), 0)]


def test_gap_starting_yesterday_lapsed_one_day_ago():
    result = assess(WINDOW, [span("2025-01-01", "2026-02-27")], [], AS_OF)
    assert result.flags == [Flag(LAPSED, d("2026-02-28"), d("2027-12-31"), -1)]


def test_gap_starting_tomorrow_is_at_risk():
    result = assess(WINDOW, [span("2025-01-01", "2026-03-01")], [], AS_OF)
    assert result.flags == [Flag(AT_RISK, d("2026-03-02"), d("2027-12-31"), 1)]


def test_lapsed_gap_ends_where_coverage_resumes():
    secured = [span("2025-01-01", "2026-02-15"), span("2026-04-01", "2027-12-31")]
    result = assess(WINDOW, secured, [], AS_OF)
    assert result.flags == [Flag(LAPSED, d("2026-02-16"), d("2026-03-31"), -13)]


def test_horizon_exactly_reached_is_at_risk():
    result = assess(WINDOW, [span("2025-01-01", "2026-04-30")], [], AS_OF, warning_days=61)
    assert result.flags == [Flag(AT_RISK, d("2026-05-01"), d("2027-12-31"), 61)]


def test_gap_one_day_beyond_horizon_raises_nothing():
    result = assess(WINDOW, [span("2025-01-01", "2026-04-30")], [], AS_OF, warning_days=60)
    assert result.flags == []
    assert result.next_gap == span("2026-05-01", "2027-12-31")
    assert result.days_to_lapse == 61


def test_gap_only_partly_planned_is_at_risk():
    secured = [span("2025-01-01", "2026-04-30")]
    planned = [span("2026-05-01", "2026-12-31")]
    result = assess(WINDOW, secured, planned, AS_OF)
    assert [flag.kind for flag in result.flags] == [AT_RISK]


def test_secured_coverage_to_window_end_raises_nothing():
    result = assess(WINDOW, [span("2025-01-01", "2027-12-31")], [], AS_OF)
    assert result.flags == []
    assert result.gaps == []
    assert result.next_gap is None
    assert result.days_to_lapse is None


def test_coverage_beyond_window_is_clipped():
    result = assess(WINDOW, [span("2024-06-01", "2028-06-30")], [], AS_OF)
    assert result.secured == [WINDOW]
    assert result.pipeline == [WINDOW]
    assert result.flags == []


def test_coverage_ending_with_the_window_on_its_last_day_raises_nothing():
    result = assess(WINDOW, [span("2025-01-01", "2027-12-31")], [], d("2027-12-31"))
    assert result.flags == []


def test_uncovered_last_day_of_window_has_lapsed():
    result = assess(WINDOW, [span("2025-01-01", "2027-12-30")], [], d("2027-12-31"))
    assert result.flags == [Flag(LAPSED, d("2027-12-31"), d("2027-12-31"), 0)]


def test_day_after_window_raises_nothing():
    result = assess(
        WINDOW, [], [], d("2028-01-01"), has_maintenance=False, plan_cost=a_year("1000")
    )
    assert result.flags == []
    assert result.gaps == [WINDOW]
    assert result.next_gap is None


def test_before_launch_raises_nothing_but_shows_the_gap():
    result = assess(
        WINDOW, [], [], d("2024-12-31"), has_maintenance=False, plan_cost=a_year("1000")
    )
    assert result.flags == []
    assert result.gaps == [WINDOW]
    assert result.next_gap == WINDOW
    assert result.days_to_lapse == 1


def test_no_maintenance_names_the_whole_window_beside_lapsed():
    result = assess(WINDOW, [], [], AS_OF, has_maintenance=False)
    assert result.flags == [
        Flag(LAPSED, d("2025-01-01"), d("2027-12-31"), -424),
        Flag(NO_MAINTENANCE, d("2025-01-01"), d("2027-12-31"), -424),
    ]


def test_flags_come_lapse_then_no_maintenance_then_underfunded():
    result = assess(WINDOW, [], [], AS_OF, has_maintenance=False, plan_cost=a_year("100"))
    assert [flag.kind for flag in result.flags] == [LAPSED, NO_MAINTENANCE, UNDERFUNDED]


def test_generators_are_accepted():
    secured = (interval for interval in [span("2025-01-01", "2026-04-30")])
    planned = (interval for interval in [span("2026-05-01", "2027-12-31")])
    result = assess(WINDOW, secured, planned, AS_OF)
    assert [flag.kind for flag in result.flags] == [UNSECURED]


# Intervals


def test_interval_ending_before_it_starts_is_refused():
    with pytest.raises(ValueError, match="after it ends"):
        span("2025-02-01", "2025-01-31")


def test_interval_counts_both_ends():
    interval = span("2025-01-01", "2025-01-31")
    assert interval.days() == 31
    assert interval.contains(d("2025-01-01"))
    assert interval.contains(d("2025-01-31"))
    assert not interval.contains(d("2025-02-01"))
    assert span("2025-01-01", "2025-01-01").days() == 1


def test_touching_intervals_merge():
    merged = merge([span("2025-01-01", "2025-01-31"), span("2025-02-01", "2025-02-28")])
    assert merged == [span("2025-01-01", "2025-02-28")]


def test_intervals_one_day_apart_stay_separate():
    intervals = [span("2025-01-01", "2025-01-31"), span("2025-02-02", "2025-02-28")]
    assert merge(intervals) == intervals


def test_overlapping_intervals_merge():
    merged = merge([span("2025-01-01", "2025-03-31"), span("2025-03-01", "2025-05-31")])
    assert merged == [span("2025-01-01", "2025-05-31")]


def test_nested_interval_disappears_into_the_outer_one():
    merged = merge([span("2025-01-01", "2025-12-31"), span("2025-03-01", "2025-04-30")])
    assert merged == [span("2025-01-01", "2025-12-31")]


def test_unordered_intervals_merge_sorted():
    merged = merge(
        [
            span("2025-06-01", "2025-06-30"),
            span("2025-01-01", "2025-01-31"),
            span("2025-02-01", "2025-02-10"),
        ]
    )
    assert merged == [span("2025-01-01", "2025-02-10"), span("2025-06-01", "2025-06-30")]


def test_single_day_interval_merges_with_its_neighbours():
    merged = merge(
        [
            span("2025-01-01", "2025-01-31"),
            span("2025-02-01", "2025-02-01"),
            span("2025-02-02", "2025-02-28"),
        ]
    )
    assert merged == [span("2025-01-01", "2025-02-28")]


def test_merge_of_nothing_is_empty():
    assert merge([]) == []


def test_clip_drops_intervals_outside_the_window():
    window = span("2025-01-01", "2025-12-31")
    intervals = [span("2024-01-01", "2024-12-31"), span("2026-01-01", "2026-12-31")]
    assert clip(intervals, window) == []


def test_clip_trims_intervals_partly_inside():
    window = span("2025-01-01", "2025-12-31")
    intervals = [span("2024-07-01", "2025-01-01"), span("2025-12-01", "2026-06-30")]
    assert clip(intervals, window) == [
        span("2025-01-01", "2025-01-01"),
        span("2025-12-01", "2025-12-31"),
    ]


def test_gaps_are_the_window_minus_coverage():
    window = span("2025-01-01", "2025-12-31")
    coverage = [span("2025-03-01", "2025-03-31"), span("2025-10-01", "2026-03-31")]
    assert gaps(window, coverage) == [
        span("2025-01-01", "2025-02-28"),
        span("2025-04-01", "2025-09-30"),
    ]


def test_obligation_window_of_36_months_ends_the_day_before_the_anniversary():
    assert obligation_window(d("2025-01-01"), 36) == span("2025-01-01", "2027-12-31")


def test_obligation_window_from_end_of_january_stops_before_end_of_february():
    # One month after 31 January is 29 February (2024 is a leap year); the window ends the day before.
    assert obligation_window(d("2024-01-31"), 1) == span("2024-01-31", "2024-02-28")


def test_obligation_window_needs_at_least_one_month():
    with pytest.raises(ValueError, match="at least 1"):
        obligation_window(d("2025-01-01"), 0)


# Underfunded: the next 12 months, 2026-03-01..2027-02-28, are 365 days.

NEXT_YEAR = FundedPeriod(d("2026-03-01"), d("2027-02-28"), Decimal("0"))


def assess_money(funded, annual_cost="3650", window=WINDOW):
    # Secured coverage to the window end keeps the lapse flags out of the way.
    return assess(
        window,
        [window],
        [],
        AS_OF,
        plan_cost=a_year(annual_cost),
        funded=funded,
    ).flags


def test_underfunded_counts_money_pro_rata_by_days():
    half_the_year = FundedPeriod(d("2026-03-01"), d("2027-02-28"), Decimal("1825"))
    assert assess_money([half_the_year]) == [
        Flag(UNDERFUNDED, d("2026-03-01"), d("2027-02-28"), 0, shortfall=Decimal("1825.00"))
    ]


def test_need_met_exactly_is_not_underfunded():
    assert assess_money([FundedPeriod(d("2026-03-01"), d("2027-02-28"), Decimal("3650"))]) == []


def test_need_met_by_several_tranches_is_not_underfunded():
    # 1000 a year split over uneven thirds of the year: each share is a repeating decimal.
    funded = [
        FundedPeriod(d("2026-03-01"), d("2026-06-30"), Decimal("1000") * 122 / 365),
        FundedPeriod(d("2026-07-01"), d("2026-10-31"), Decimal("1000") * 123 / 365),
        FundedPeriod(d("2026-11-01"), d("2027-02-28"), Decimal("1000") * 120 / 365),
    ]
    assert assess_money(funded, annual_cost="1000") == []


def test_tranche_half_inside_the_next_12_months_counts_half():
    # 2027-02-01..2027-03-28 is 56 days, 28 of them before 2027-03-01.
    straddling = FundedPeriod(d("2027-02-01"), d("2027-03-28"), Decimal("2000"))
    [flag] = assess_money([straddling])
    assert flag.shortfall == Decimal("2650.00")


def test_money_outside_the_next_12_months_does_not_count():
    funded = [
        FundedPeriod(d("2025-01-01"), d("2026-02-28"), Decimal("9999")),
        FundedPeriod(d("2027-03-01"), d("2027-12-31"), Decimal("9999")),
    ]
    [flag] = assess_money(funded)
    assert flag.shortfall == Decimal("3650.00")


def test_window_ending_in_three_months_needs_three_months_of_money():
    # 2026-03-01..2026-05-31 is 92 days: 3650 * 92 / 365 = 920.
    window = obligation_window(d("2025-01-01"), 17)
    three_months = FundedPeriod(d("2026-03-01"), d("2026-05-31"), Decimal("920"))
    assert assess_money([three_months], window=window) == []

    short = FundedPeriod(d("2026-03-01"), d("2026-05-31"), Decimal("900"))
    assert assess_money([short], window=window) == [
        Flag(UNDERFUNDED, d("2026-03-01"), d("2026-05-31"), 0, shortfall=Decimal("20.00"))
    ]


def test_shortfall_is_rounded_to_cents_half_up():
    # Need 1000.005 rounds to 1000.01; money 0.
    assert assess_money([], annual_cost="1000.005")[0].shortfall == Decimal("1000.01")


def test_the_need_is_what_each_line_of_the_plan_costs_in_the_next_12_months():
    # Cybersecurity starts on 2026-09-01: 181 of the 365 days, 3650 * 181 / 365 = 1810.
    plan = [
        lines.LineCost("hosting", Decimal("3650")),
        lines.LineCost("cybersecurity", Decimal("3650"), start=d("2026-09-01")),
    ]
    result = assess(
        WINDOW, [WINDOW], [], AS_OF, plan_cost=lambda period: lines.cost_over(plan, None, period)
    )
    assert [flag.shortfall for flag in result.flags] == [Decimal("5460.00")]


def test_no_plan_means_no_underfunded_flag():
    result = assess(WINDOW, [WINDOW], [], AS_OF, funded=[])
    assert result.flags == []


# Forecast


def test_forecast_gives_24_months_that_each_add_up():
    secured = [span("2025-01-01", "2026-04-15")]
    planned = [span("2026-06-01", "2026-09-30")]
    months = forecast(WINDOW, secured, planned, d("2026-01-20"))

    assert len(months) == 24
    assert months[0].month == d("2026-01-01")
    assert months[-1].month == d("2027-12-01")
    for month in months:
        days_in_month = calendar.monthrange(month.month.year, month.month.month)[1]
        parts = (
            month.secured_days
            + month.pipeline_only_days
            + month.uncovered_days
            + month.outside_window_days
        )
        assert parts == days_in_month


def test_forecast_splits_a_month_where_secured_coverage_ends():
    months = forecast(WINDOW, [span("2025-01-01", "2026-04-15")], [], d("2026-04-01"), months=1)
    assert months == [MonthCoverage(d("2026-04-01"), 15, 0, 15, 0)]


def test_forecast_counts_planned_only_month_as_pipeline_only():
    secured = [span("2025-01-01", "2026-04-30")]
    planned = [span("2026-05-01", "2027-12-31")]
    months = forecast(WINDOW, secured, planned, d("2026-05-01"), months=1)
    assert months == [MonthCoverage(d("2026-05-01"), 0, 31, 0, 0)]


def test_forecast_counts_days_outside_the_window_only_as_outside():
    window = span("2025-01-15", "2025-02-10")
    covered_everywhere = [span("2024-01-01", "2026-12-31")]
    months = forecast(window, covered_everywhere, covered_everywhere, d("2025-01-01"), months=3)
    assert months == [
        MonthCoverage(d("2025-01-01"), 17, 0, 0, 14),
        MonthCoverage(d("2025-02-01"), 10, 0, 0, 18),
        MonthCoverage(d("2025-03-01"), 0, 0, 0, 31),
    ]


# Properties, on small windows so they can be checked day by day

BASE = date(2025, 1, 1)


def days_from_base(first, length):
    return Interval(BASE + timedelta(days=first), BASE + timedelta(days=first + length - 1))


small_intervals = st.builds(days_from_base, st.integers(0, 120), st.integers(1, 40))
small_windows = st.builds(days_from_base, st.integers(10, 40), st.integers(1, 60))
interval_lists = st.lists(small_intervals, max_size=6)
as_of_dates = st.integers(-5, 110).map(lambda offset: BASE + timedelta(days=offset))
funded_periods = st.builds(
    lambda interval, cents: FundedPeriod(interval.start, interval.end, Decimal(cents) / 100),
    small_intervals,
    st.integers(0, 1_000_000),
)
plan_costs = st.none() | st.integers(0, 1_000_000).map(lambda cents: a_year(Decimal(cents) / 100))


def each_day(interval):
    return {interval.start + timedelta(days=offset) for offset in range(interval.days())}


@settings(max_examples=200, deadline=None)
@given(window=small_windows, secured=interval_lists, as_of=as_of_dates)
def test_secured_coverage_and_gaps_together_are_exactly_the_window(window, secured, as_of):
    result = assess(window, secured, [], as_of)
    covered = [day for interval in result.secured for day in each_day(interval)]
    uncovered = [day for interval in result.gaps for day in each_day(interval)]

    assert len(covered) + len(uncovered) == window.days()
    assert set(covered) | set(uncovered) == each_day(window)
    assert set(covered) == each_day(window) & {
        day for interval in secured for day in each_day(interval)
    }


@settings(max_examples=200, deadline=None)
@given(
    window=small_windows,
    secured=interval_lists,
    planned=interval_lists,
    as_of=as_of_dates,
    warning_days=st.integers(0, 60),
    has_maintenance=st.booleans(),
    plan_cost=plan_costs,
    funded=st.lists(funded_periods, max_size=4),
)
def test_no_flag_names_a_date_outside_the_window(
    window, secured, planned, as_of, warning_days, has_maintenance, plan_cost, funded
):
    result = assess(
        window,
        secured,
        planned,
        as_of,
        warning_days=warning_days,
        has_maintenance=has_maintenance,
        plan_cost=plan_cost,
        funded=funded,
    )
    for flag in result.flags:
        assert window.contains(flag.gap_start)
        assert window.contains(flag.gap_end)
        assert flag.gap_start <= flag.gap_end
    lapse_flags = [flag for flag in result.flags if flag.kind in (LAPSED, AT_RISK, UNSECURED)]
    assert len(lapse_flags) <= 1


@settings(max_examples=200, deadline=None)
@given(
    window=small_windows,
    secured=interval_lists,
    planned=interval_lists,
    as_of=as_of_dates,
    plan_cost=plan_costs,
    funded=st.lists(funded_periods, max_size=4),
    data=st.data(),
)
def test_order_of_the_intervals_does_not_matter(
    window, secured, planned, as_of, plan_cost, funded, data
):
    def run(secured, planned, funded):
        return assess(
            window, secured, planned, as_of, warning_days=30, plan_cost=plan_cost, funded=funded
        )

    shuffled = run(
        data.draw(st.permutations(secured)),
        data.draw(st.permutations(planned)),
        data.draw(st.permutations(funded)),
    )
    assert shuffled == run(secured, planned, funded)


@settings(max_examples=200, deadline=None)
@given(intervals=interval_lists)
def test_merge_is_idempotent_and_leaves_no_touching_intervals(intervals):
    merged = merge(intervals)
    assert merge(merged) == merged
    for earlier, later in zip(merged, merged[1:], strict=False):
        assert (later.start - earlier.end).days > 1


def test_portfolio_forecast_adds_projects_month_by_month():
    window = coverage.obligation_window(date(2026, 1, 1), 12)
    fully = coverage.forecast(window, [window], [], date(2026, 1, 1), months=2)
    planned = coverage.forecast(window, [], [window], date(2026, 1, 1), months=2)

    months = coverage.portfolio_forecast([fully, planned])

    assert [m.month for m in months] == [date(2026, 1, 1), date(2026, 2, 1)]
    assert (months[0].secured, months[0].pipeline_only, months[0].uncovered) == (0.5, 0.5, 0.0)

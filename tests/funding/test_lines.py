"""Coverage of a sustainability plan line by line, checked on plain data without a database."""

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from funding import coverage, lines
from funding.coverage import Interval
from funding.lines import Allocation, LineCost, LineTranche


def d(text):
    return date.fromisoformat(text)


def span(start, end):
    return Interval(d(start), d(end))


WINDOW = span("2025-01-01", "2027-12-31")
PLAN = [
    LineCost("hosting", Decimal("36500")),
    LineCost("cybersecurity", Decimal("18250")),
    LineCost("user_support", Decimal("7300")),
]


def by_category(found):
    return {line.category: line for line in found}


def test_two_funders_splitting_lines_leave_security_unfunded_from_a_date():
    bank = LineTranche(
        d("2025-01-01"),
        d("2027-12-31"),
        True,
        Decimal("109500"),
        (Allocation("hosting", None, Decimal(100)),),
    )
    foundation = LineTranche(
        d("2025-01-01"),
        d("2026-02-28"),
        True,
        Decimal("30000"),
        (
            Allocation("cybersecurity", Decimal("20000")),
            Allocation("user_support", Decimal("10000")),
        ),
    )
    found = by_category(lines.line_coverage(WINDOW, PLAN, [bank, foundation]))

    assert found["hosting"].gaps == []
    assert found["cybersecurity"].gaps == [span("2026-03-01", "2027-12-31")]
    assert found["user_support"].secured == [span("2025-01-01", "2026-02-28")]

    service_gaps = coverage.gaps(WINDOW, [bank.period, foundation.period])
    flag = lines.unfunded_flag(WINDOW, list(found.values()), service_gaps, d("2026-01-15"))
    assert flag.kind == coverage.LINE_UNFUNDED
    assert (flag.gap_start, flag.gap_end) == (d("2026-03-01"), d("2027-12-31"))
    assert flag.days_to_lapse == 45
    assert flag.lines == "cybersecurity from 2026-03-01; user support from 2026-03-01"


def test_a_line_covered_on_days_can_be_short_of_money():
    thin = LineTranche(
        d("2025-01-01"),
        d("2025-12-31"),
        True,
        Decimal("1000"),
        (Allocation("cybersecurity", Decimal("1000")),),
    )
    found = by_category(lines.line_coverage(WINDOW, PLAN, [thin]))
    assert found["cybersecurity"].gaps[0].start == d("2026-01-01")  # covered all of 2025

    years = {(y.category, y.year): y for y in lines.yearly(WINDOW, PLAN, [thin])}
    security_2025 = years[("cybersecurity", 2025)]
    assert security_2025.cost == Decimal("18250.00")
    assert security_2025.secured == Decimal("1000.00")
    assert security_2025.shortfall == Decimal("17250.00")
    assert years[("hosting", 2025)].secured == Decimal("0.00")


def test_a_line_whose_cost_grows_from_a_date_costs_more_from_then():
    plan = [
        LineCost("hosting", Decimal("36500"), end=d("2025-12-31")),
        LineCost("hosting", Decimal("73000"), start=d("2026-01-01")),
    ]
    years = {y.year: y.cost for y in lines.yearly(WINDOW, plan, [])}
    assert years == {
        2025: Decimal("36500.00"),
        2026: Decimal("73000.00"),
        2027: Decimal("73000.00"),
    }
    # Two rows of one line are one line, due every day of the window.
    assert lines.line_coverage(WINDOW, plan, [])[0].due == [WINDOW]


def test_a_whole_plan_tranche_pays_every_line_in_proportion_to_its_cost():
    whole = LineTranche(d("2025-01-01"), d("2025-12-31"), True, Decimal("62050"))
    years = {(y.category, y.year): y.secured for y in lines.yearly(WINDOW, PLAN, [whole])}
    assert years[("hosting", 2025)] == Decimal("36500.00")
    assert years[("cybersecurity", 2025)] == Decimal("18250.00")
    assert years[("user_support", 2025)] == Decimal("7300.00")
    found = lines.line_coverage(WINDOW, PLAN, [whole])
    assert all(line.secured == [span("2025-01-01", "2025-12-31")] for line in found)


def test_a_single_whole_line_never_adds_a_line_flag_to_a_service_wide_gap():
    plan = [LineCost("other", Decimal("1000"))]
    whole = LineTranche(d("2025-01-01"), d("2025-12-31"), True, Decimal("1000"))
    found = lines.line_coverage(WINDOW, plan, [whole])
    service_gaps = coverage.gaps(WINDOW, [whole.period])
    assert lines.unfunded_flag(WINDOW, found, service_gaps, d("2025-06-01")) is None


def test_planned_money_shows_as_planned_in_the_month_grid():
    signed = LineTranche(d("2025-01-01"), d("2025-01-31"), True, Decimal("10"))
    planned = LineTranche(d("2025-02-01"), d("2025-02-28"), False, Decimal("10"))
    line = lines.line_coverage(WINDOW, [LineCost("hosting", Decimal("1"))], [signed, planned])[0]
    states = [m.state for m in lines.months(line, d("2024-12-15"), 4)]
    assert states == ["none", "funded", "planned", "gap"]


def test_no_handover_plan_within_twelve_months_of_the_window_end_names_the_lines():
    successors = {"hosting": True, "cybersecurity": False}
    assert lines.handover_flag(WINDOW, PLAN, successors, d("2026-12-31")) is None
    flag = lines.handover_flag(WINDOW, PLAN, successors, d("2027-01-01"))
    assert flag.kind == coverage.NO_HANDOVER_PLAN
    assert flag.gap_start == d("2028-01-01")
    assert flag.lines == "cybersecurity, user support"
    assert lines.handover_flag(WINDOW, PLAN, successors, d("2028-01-01")) is None


def test_a_line_ended_before_the_window_end_needs_no_successor():
    plan = [LineCost("licences", Decimal("1"), end=d("2026-12-31"))]
    assert lines.handover_flag(WINDOW, plan, {}, d("2027-06-01")) is None


def test_closed_within_window_lasts_until_the_window_ends():
    flag = lines.closed_flag(WINDOW, d("2026-05-01"))
    assert (flag.kind, flag.gap_start, flag.gap_end) == (
        coverage.CLOSED_WITHIN_WINDOW,
        None,
        d("2027-12-31"),
    )
    assert lines.closed_flag(WINDOW, d("2028-01-01")) is None


# --- Properties ------------------------------------------------------------------------------

BASE = date(2025, 1, 1)
CATEGORIES = ["hosting", "updates", "cybersecurity"]


def days_from_base(offset, length):
    return Interval(BASE + timedelta(days=offset), BASE + timedelta(days=offset + length - 1))


windows = st.builds(days_from_base, st.integers(0, 30), st.integers(1, 120))
costs = st.builds(
    lambda category, start, length, open_start, open_end: LineCost(
        category,
        Decimal(1),
        None if open_start else BASE + timedelta(days=start),
        None if open_end else BASE + timedelta(days=start + length),
    ),
    st.sampled_from(CATEGORIES),
    st.integers(-10, 150),
    st.integers(0, 60),
    st.booleans(),
    st.booleans(),
)
allocations = st.lists(st.sampled_from(CATEGORIES), unique=True, max_size=2).map(
    lambda names: tuple(Allocation(name, Decimal(1)) for name in names)
)
tranches = st.builds(
    lambda interval, secured, allocated: LineTranche(
        interval.start, interval.end, secured, Decimal(100), allocated
    ),
    st.builds(days_from_base, st.integers(-10, 150), st.integers(1, 60)),
    st.booleans(),
    allocations,
)


def day_set(intervals):
    return {i.start + timedelta(days=n) for i in intervals for n in range(i.days())}


@settings(max_examples=200, deadline=None)
@given(window=windows, plan=st.lists(costs, max_size=5), paid=st.lists(tranches, max_size=4))
def test_secured_days_and_gaps_of_each_line_exactly_partition_its_due_days(window, plan, paid):
    for line in lines.line_coverage(window, plan, paid):
        secured, missing, due = day_set(line.secured), day_set(line.gaps), day_set(line.due)
        assert secured | missing == due
        assert not secured & missing
        assert due <= day_set([window])
        assert day_set(line.secured) <= day_set(line.pipeline)


@settings(max_examples=200, deadline=None)
@given(window=windows, paid=st.lists(tranches, max_size=4))
def test_lines_due_all_window_with_whole_tranches_are_covered_as_the_service_is(window, paid):
    whole = [LineTranche(t.start, t.end, t.secured, t.amount) for t in paid]
    plan = [LineCost(category, Decimal(1)) for category in CATEGORIES]
    found = lines.line_coverage(window, plan, whole)
    union = set().union(*(day_set(line.secured) for line in found))
    service = coverage.clip(coverage.merge(t.period for t in whole if t.secured), window)
    assert union == day_set(service)
    assert lines.unfunded_flag(window, found, coverage.gaps(window, service), window.start) is None


@settings(max_examples=100, deadline=None)
@given(window=windows, paid=st.lists(tranches, max_size=4))
def test_whole_plan_money_is_shared_out_without_losing_a_cent(window, paid):
    whole = [LineTranche(t.start, t.end, True, t.amount) for t in paid]
    plan = [LineCost(category, Decimal(n + 1)) for n, category in enumerate(CATEGORIES)]
    for tranche in whole:
        shared = sum(lines.money_for(tranche, c, plan) for c in CATEGORIES)
        assert abs(shared - tranche.amount) < Decimal("0.000001")

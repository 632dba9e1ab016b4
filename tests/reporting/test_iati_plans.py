"""The IATI file's forward money: planned disbursements and budgets by year, from plain data."""

from collections import defaultdict
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funding import lines
from funding.coverage import Interval
from reporting.iati_plans import (
    COMMITTED,
    INDICATIVE,
    ORIGINAL,
    REVISED,
    Plan,
    PlanCost,
    TrancheMoney,
    budgets,
    planned_disbursements,
    quarter,
)

TODAY = date(2026, 3, 10)


def money(key="T", amount="1000.00", committed=True, undisbursed=None, planned_on=None, **more):
    amount = Decimal(amount)
    return TrancheMoney(
        key=key,
        amount=amount,
        currency=more.pop("currency", "USD"),
        committed=committed,
        undisbursed=amount if undisbursed is None else Decimal(undisbursed),
        planned_on=planned_on,
        **more,
    )


@pytest.mark.parametrize(
    ("day", "start", "end"),
    [
        (date(2026, 1, 1), date(2026, 1, 1), date(2026, 3, 31)),
        (date(2026, 3, 31), date(2026, 1, 1), date(2026, 3, 31)),
        (date(2026, 5, 15), date(2026, 4, 1), date(2026, 6, 30)),
        (date(2026, 8, 1), date(2026, 7, 1), date(2026, 9, 30)),
        (date(2026, 12, 31), date(2026, 10, 1), date(2026, 12, 31)),
    ],
)
def test_quarter_holds_the_day(day, start, end):
    assert quarter(day) == (start, end)


def test_a_future_plan_is_one_original_line_in_its_quarter_valued_on_its_day():
    (line,) = planned_disbursements([money(planned_on=date(2026, 8, 20))], TODAY)
    assert (line.type, line.period_start, line.period_end) == (
        ORIGINAL,
        date(2026, 7, 1),
        date(2026, 9, 30),
    )
    assert line.value_date == date(2026, 8, 20)
    assert line.amount == Decimal("1000.00") and line.defines


def test_a_plan_in_the_current_quarter_is_not_yet_passed():
    lines = planned_disbursements([money(planned_on=date(2026, 2, 1))], TODAY)
    assert [line.type for line in lines] == [ORIGINAL]


def test_a_passed_plan_stays_in_its_past_quarter_and_what_it_left_unpaid_is_expected_now():
    original, revised = planned_disbursements(
        [money(planned_on=date(2025, 5, 1), undisbursed="400.00")], TODAY
    )
    assert (original.type, original.period_end, original.amount) == (
        ORIGINAL,
        date(2025, 6, 30),
        Decimal("1000.00"),
    )
    assert original.period_end < TODAY  # reported as past, not as a plan for the future
    assert (revised.type, revised.period_start, revised.period_end) == (
        REVISED,
        date(2026, 1, 1),
        date(2026, 3, 31),
    )
    assert (revised.value_date, revised.amount) == (TODAY, Decimal("400.00"))
    assert original.defines and not revised.defines


def test_a_paid_passed_plan_is_only_history():
    lines = planned_disbursements([money(planned_on=date(2025, 5, 1), undisbursed="0")], TODAY)
    assert [line.type for line in lines] == [ORIGINAL]


def test_money_without_any_date_is_expected_from_now():
    (line,) = planned_disbursements([money(committed=False)], TODAY)
    assert (line.type, line.period_start, line.value_date) == (ORIGINAL, date(2026, 1, 1), TODAY)


def test_lines_come_in_time_order():
    lines = planned_disbursements(
        [
            money("late", planned_on=date(2027, 1, 5)),
            money("early", planned_on=date(2024, 1, 5), undisbursed="10.00"),
        ],
        TODAY,
    )
    assert [(line.key, line.type) for line in lines] == [
        ("early", ORIGINAL),
        ("early", REVISED),
        ("late", ORIGINAL),
    ]


def test_budgets_are_by_calendar_year_per_status_and_currency():
    found = budgets(
        [
            money("a", "500.00", planned_on=date(2026, 5, 1)),
            money("b", "250.00", planned_on=date(2026, 9, 1)),
            money("c", "300.00", committed=False, planned_on=date(2026, 1, 2)),
            money("d", "80.00", currency="EUR", planned_on=date(2027, 1, 2)),
        ],
        TODAY,
    )
    assert [(b.period_start, b.period_end, b.status, b.currency, b.amount) for b in found] == [
        (date(2026, 1, 1), date(2026, 12, 31), INDICATIVE, "USD", Decimal("300.00")),
        (date(2026, 1, 1), date(2026, 12, 31), COMMITTED, "USD", Decimal("750.00")),
        (date(2027, 1, 1), date(2027, 12, 31), COMMITTED, "EUR", Decimal("80.00")),
    ]
    assert all(b.type == ORIGINAL and b.value_date == b.period_start for b in found)


def test_maintenance_is_budgeted_over_the_years_it_pays_for_by_days_to_the_cent():
    # 1 July 2025 to 30 June 2027: 184 days in 2025, 365 in 2026, 181 in 2027.
    found = budgets([money(amount="1000.00", covers=(date(2025, 7, 1), date(2027, 6, 30)))], TODAY)
    amounts = {b.period_start.year: b.amount for b in found}
    assert amounts == {
        2025: Decimal("252.05"),
        2026: Decimal("500.00"),
        2027: Decimal("247.95"),
    }
    assert sum(amounts.values()) == Decimal("1000.00")


def test_money_without_a_date_is_budgeted_this_year():
    (budget,) = budgets([money()], TODAY)
    assert budget.period_start == date(2026, 1, 1)


# --- Budgets of a sustainability plan's years --------------------------------------------------

WINDOW = Interval(date(2025, 7, 1), date(2027, 6, 30))  # 184 days of 2025, 365, 181 of 2027


def rows(found):
    return [(b.period_start.year, b.status, b.currency, b.amount) for b in found]


def test_a_plan_is_the_budget_of_the_years_it_covers_in_place_of_maintenance_in_its_window():
    plan = Plan(
        WINDOW,
        (PlanCost("hosting", Decimal("365.00"), "USD"), PlanCost("updates", Decimal("73"), "EUR")),
    )
    tranches = [
        money("build", "5000.00", planned_on=date(2024, 3, 1)),
        money("launch", "900.00", planned_on=date(2025, 2, 1)),
        # From a month before the launch (30 of its 214 days in 2025) to the window's end.
        money("upkeep", "1000.00", covers=(date(2025, 6, 1), WINDOW.end), maintenance=True),
        money("after", "400.00", covers=(date(2027, 7, 1), date(2028, 6, 30)), maintenance=True),
    ]
    assert rows(budgets(tranches, TODAY, plan)) == [
        (2024, COMMITTED, "USD", Decimal("5000.00")),  # before the plan: the tranches
        (2025, INDICATIVE, "EUR", Decimal("36.80")),  # the plan: 73 a year for 184 days
        (2025, INDICATIVE, "USD", Decimal("184.00")),
        # The launch is not part of the plan, nor the month of upkeep before it (30/214 of
        # the 281.58 the upkeep gives 2025): 900.00 + 39.47.
        (2025, COMMITTED, "USD", Decimal("939.47")),
        (2026, INDICATIVE, "EUR", Decimal("73.00")),
        (2026, INDICATIVE, "USD", Decimal("365.00")),
        (2027, INDICATIVE, "EUR", Decimal("36.20")),
        (2027, INDICATIVE, "USD", Decimal("181.00")),
        (2027, COMMITTED, "USD", Decimal("201.09")),  # upkeep after the window: 184/366 days
        (2028, COMMITTED, "USD", Decimal("198.91")),
    ]


def test_a_line_budgets_only_the_days_of_its_rows():
    plan = Plan(
        WINDOW,
        (
            PlanCost("hosting", Decimal("365.00"), "USD", end=date(2025, 12, 31)),
            PlanCost("hosting", Decimal("730.00"), "USD", start=date(2026, 1, 1)),
            PlanCost("licences", Decimal("365.00"), "USD", start=date(2027, 1, 1)),
        ),
    )
    assert rows(budgets([], TODAY, plan)) == [
        (2025, INDICATIVE, "USD", Decimal("184.00")),
        (2026, INDICATIVE, "USD", Decimal("730.00")),
        (2027, INDICATIVE, "USD", Decimal("543.00")),  # 181 days at 730 and 181 at 365
    ]


def test_a_plan_without_a_cost_leaves_the_tranches_budgets_as_they_were():
    tranches = [money("upkeep", "1000.00", covers=(WINDOW.start, WINDOW.end), maintenance=True)]
    assert budgets(tranches, TODAY, Plan(WINDOW, ())) == budgets(tranches, TODAY)


# Properties: tranches and plans of a few years around 2025-2028, in two currencies.
BASE = date(2024, 1, 1)
CURRENCIES = ["USD", "EUR"]
cents = st.integers(1, 10_000_000).map(lambda n: Decimal(n) / 100)
days = st.integers(0, 5 * 365).map(lambda n: BASE + timedelta(days=n))


@st.composite
def tranche_money(draw):
    amount = draw(cents)
    maintenance = draw(st.booleans())
    covers = None
    if maintenance:
        start = draw(days)
        covers = (start, start + timedelta(days=draw(st.integers(0, 800))))
    return TrancheMoney(
        key=None,
        amount=amount,
        currency=draw(st.sampled_from(CURRENCIES)),
        committed=draw(st.booleans()),
        undisbursed=amount,
        planned_on=draw(st.none() | days),
        covers=covers,
        maintenance=maintenance,
    )


@st.composite
def plans(draw):
    start = draw(days)
    window = Interval(start, start + timedelta(days=draw(st.integers(0, 1200))))
    costs = []
    for _ in range(draw(st.integers(1, 4))):
        first = draw(st.none() | days)
        last = draw(st.none() | days)
        if first and last and first > last:
            first, last = last, first
        costs.append(
            PlanCost(
                draw(st.sampled_from(["hosting", "updates", "cybersecurity"])),
                draw(cents),
                draw(st.sampled_from(CURRENCIES)),
                first,
                last,
            )
        )
    return Plan(window, tuple(costs))


def in_window(tranche, window):
    """The tranche, a maintenance one paying only days of the window."""
    if not tranche.maintenance:
        return tranche
    start, end = max(tranche.covers[0], window.start), min(tranche.covers[1], window.end)
    return replace(tranche, covers=(start, end) if start <= end else (window.start, window.end))


def by_year(found):
    totals = defaultdict(Decimal)
    for budget in found:
        totals[(budget.period_start.year, budget.currency)] += budget.amount
    return totals


@settings(max_examples=200, deadline=None)
@given(tranches=st.lists(tranche_money(), max_size=5), plan=plans())
def test_years_outside_the_plan_keep_the_budgets_of_the_tranches(tranches, plan):
    outside = [b for b in budgets(tranches, TODAY, plan) if b.period_start.year not in plan.years]
    without = [b for b in budgets(tranches, TODAY) if b.period_start.year not in plan.years]
    assert outside == without


@settings(max_examples=200, deadline=None)
@given(tranches=st.lists(tranche_money(), max_size=5), plan=plans())
def test_each_year_of_the_plan_is_its_cost_of_the_year_and_the_tranches_it_does_not_pay(
    tranches, plan
):
    """The plan's cost of a year is the Sustainability sheet's (funding.lines.yearly), per
    currency; beside it only the tranches that are not maintenance, when maintenance pays days
    of the window only (what it pays outside: the first test)."""
    tranches = [in_window(t, plan.window) for t in tranches]
    found = by_year(budgets(tranches, TODAY, plan))
    others = by_year(budgets([t for t in tranches if not t.maintenance], TODAY))
    for currency in CURRENCIES:
        own = [
            lines.LineCost(c.category, c.annual_cost, c.start, c.end)
            for c in plan.costs
            if c.currency == currency
        ]
        cost = defaultdict(Decimal)
        for line_year in lines.yearly(plan.window, own, ()):
            cost[line_year.year] += line_year.cost
        for year in plan.years:
            key = (year, currency)
            assert found.get(key, 0) == cost[year] + others.get(key, 0)


@settings(max_examples=200, deadline=None)
@given(plan=plans())
def test_the_plans_budgets_add_up_to_its_cost_over_the_window_within_a_cent_a_line_and_year(
    plan,
):
    found = by_year(budgets([], TODAY, plan))
    for currency in CURRENCIES:
        exact = Decimal(0)
        for cost in plan.costs:
            if cost.currency != currency:
                continue
            start = max(cost.start or plan.window.start, plan.window.start)
            end = min(cost.end or plan.window.end, plan.window.end)
            if start <= end:
                exact += cost.annual_cost * ((end - start).days + 1) / 365
        budgeted = sum((v for (_, c), v in found.items() if c == currency), Decimal(0))
        lines_count = len({c.category for c in plan.costs if c.currency == currency})
        assert abs(budgeted - exact) <= Decimal("0.005") * lines_count * len(plan.years)


@settings(max_examples=200, deadline=None)
@given(tranches=st.lists(tranche_money(), max_size=5), plan=st.none() | plans())
def test_budgets_are_one_calendar_year_each_one_per_status_and_currency(tranches, plan):
    found = budgets(tranches, TODAY, plan)
    keys = [(b.period_start, b.status, b.currency) for b in found]
    assert len(keys) == len(set(keys))
    for budget in found:
        assert budget.period_start == date(budget.period_start.year, 1, 1)
        assert budget.period_end == date(budget.period_start.year, 12, 31)
        assert budget.amount > 0 and budget.type == ORIGINAL

"""The IATI file's forward money: planned disbursements and budgets by year, from plain data."""

from datetime import date
from decimal import Decimal

import pytest

from reporting.iati_plans import (
    COMMITTED,
    INDICATIVE,
    ORIGINAL,
    REVISED,
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

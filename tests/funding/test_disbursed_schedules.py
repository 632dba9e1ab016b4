"""The schedule of what was disbursed: hand-checked to the cent, and its invariants."""

from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funding.schedules import ANNUITY, LINEAR, ScheduleError, disbursed_schedule, repayment_schedule

D = Decimal


def terms(method=LINEAR, rate="12", tenor=12, grace=3, frequency=3, first=date(2026, 3, 31)):
    return SimpleNamespace(
        annual_rate_percent=D(rate),
        tenor_months=tenor,
        grace_months=grace,
        method=method,
        frequency_months=frequency,
        first_payment_date=first,
    )


def rows(schedule):
    return [
        (i.due_on, i.opening_balance, i.interest, i.principal, i.payment, i.closing_balance)
        for i in schedule
    ]


# 1,000.00 at the start of the first period (31 Dec 2025), 500.00 on 15 May 2026.
PARTIAL = [(date(2025, 12, 31), D("1000.00")), (date(2026, 5, 15), D("500.00"))]


def test_linear_schedule_on_partial_disbursements_matches_hand_computation_to_the_cent():
    # 12% a year, quarterly: 3% a period. Due 31 Mar, 30 Jun, 30 Sep, 31 Dec 2026; one
    # quarter of grace.
    expected = [
        # 31 Dec..31 Mar: 1,000.00 out the whole period: 1,000 x 3% = 30.00; grace.
        (date(2026, 3, 31), D("1000.00"), D("30.00"), D("0.00"), D("30.00"), D("1000.00")),
        # 31 Mar..30 Jun is 91 days; the 500.00 accrues 46 of them (15 May..30 Jun):
        # 30.00 + 500 x 3% x 46/91 = 30 + 690/91 = 30 + 7.5824... = 37.58.
        # Linear: 1,500.00 over the 3 instalments left = 500.00 each.
        (date(2026, 6, 30), D("1500.00"), D("37.58"), D("500.00"), D("537.58"), D("1000.00")),
        # 1,000.00 x 3% = 30.00
        (date(2026, 9, 30), D("1000.00"), D("30.00"), D("500.00"), D("530.00"), D("500.00")),
        # 500.00 x 3% = 15.00; the last repays what is left.
        (date(2026, 12, 31), D("500.00"), D("15.00"), D("500.00"), D("515.00"), D("0.00")),
    ]
    assert rows(disbursed_schedule(terms(), PARTIAL)) == expected


def test_annuity_schedule_on_partial_disbursements_matches_hand_computation_to_the_cent():
    # 6% a year, quarterly: r = 1.5% a period.
    # Level payment once the grace ends, on 1,500.00 over 3 instalments:
    #   1.015^3 = 1.045678375; 1,500 x 0.015 / (1 - 1/1.045678375) = 515.0744... -> 515.07
    expected = [
        # 1,000 x 1.5% = 15.00; grace
        (date(2026, 3, 31), D("1000.00"), D("15.00"), D("0.00"), D("15.00"), D("1000.00")),
        # 15.00 + 500 x 1.5% x 46/91 = 15 + 345/91 = 15 + 3.7912... = 18.79
        # principal 515.07 - 18.79 = 496.28; 1,500.00 - 496.28 = 1,003.72
        (date(2026, 6, 30), D("1500.00"), D("18.79"), D("496.28"), D("515.07"), D("1003.72")),
        # 1,003.72 x 1.5% = 15.0558 -> 15.06; 515.07 - 15.06 = 500.01; left 503.71
        (date(2026, 9, 30), D("1003.72"), D("15.06"), D("500.01"), D("515.07"), D("503.71")),
        # 503.71 x 1.5% = 7.55565 -> 7.56 (half up); the last repays 503.71: 511.27
        (date(2026, 12, 31), D("503.71"), D("7.56"), D("503.71"), D("511.27"), D("0.00")),
    ]
    assert rows(disbursed_schedule(terms(ANNUITY, rate="6"), PARTIAL)) == expected


def test_money_disbursed_before_the_first_period_accrues_from_its_own_date():
    # 1,000.00 on 30 Nov 2025, 31 days before the first period (31 Dec..31 Mar, 90 days)
    # starts: it accrues 121 days of a 90-day period at 3%:
    # 1,000 x 3% x 121/90 = 40.3333... -> 40.33
    schedule = disbursed_schedule(terms(), [(date(2025, 11, 30), D("1000.00"))])
    assert schedule[0].interest == D("40.33")
    assert schedule[1].interest == D("30.00")


def test_money_disbursed_on_a_due_date_accrues_from_the_next_period():
    schedule = disbursed_schedule(
        terms(), [(date(2025, 12, 31), D("1000.00")), (date(2026, 3, 31), D("300.00"))]
    )
    assert schedule[0].interest == D("30.00")  # the 300.00 is not in the first instalment
    assert schedule[0].opening_balance == D("1000.00")
    assert schedule[1].opening_balance == D("1300.00")
    assert schedule[1].interest == D("39.00")  # 1,300 x 3%, a whole period


def test_money_disbursed_after_the_last_due_date_falls_into_the_last_instalment():
    schedule = disbursed_schedule(
        terms(), [(date(2025, 12, 31), D("1000.00")), (date(2027, 2, 1), D("200.00"))]
    )
    # Linear: 1,000.00 over 3 instalments is 333.33, 333.33, and the last 333.34 + 200.00.
    assert [i.principal for i in schedule] == [D("0.00"), D("333.33"), D("333.33"), D("533.34")]
    assert sum(i.principal for i in schedule) == D("1200.00")


def test_nothing_disbursed_gives_no_schedule():
    assert disbursed_schedule(terms(), []) == []


def test_bad_terms_are_refused_as_repayment_schedule_refuses_them():
    with pytest.raises(ScheduleError):
        disbursed_schedule(terms(tenor=10), PARTIAL)


@settings(max_examples=60, deadline=None)
@given(
    method=st.sampled_from([ANNUITY, LINEAR]),
    rate=st.decimals(min_value=0, max_value=20, places=3),
    frequency=st.sampled_from([1, 3, 6, 12]),
    periods=st.integers(min_value=1, max_value=40),
    grace_share=st.integers(min_value=0, max_value=39),
    payments=st.lists(
        st.tuples(
            st.integers(min_value=-400, max_value=4000),
            st.decimals(min_value=D("0.01"), max_value=D("5000000"), places=2),
        ),
        min_size=1,
        max_size=6,
    ),
)
def test_the_schedule_repays_exactly_what_was_disbursed(
    method, rate, frequency, periods, grace_share, payments
):
    grace = (grace_share % periods) * frequency
    loan = terms(method, str(rate), periods * frequency, grace, frequency, date(2026, 1, 31))
    money = [(date(2026, 1, 31) + timedelta(days=days), amount) for days, amount in payments]
    schedule = disbursed_schedule(loan, money)
    assert sum(i.principal for i in schedule) == sum(amount for _, amount in money)
    assert schedule[-1].closing_balance == 0
    assert all(i.principal >= 0 and i.interest >= 0 for i in schedule)
    assert all(i.principal == 0 for i in schedule[: grace // frequency])
    assert all(i.payment == i.principal + i.interest for i in schedule)


@settings(max_examples=40, deadline=None)
@given(
    method=st.sampled_from([ANNUITY, LINEAR]),
    rate=st.decimals(min_value=0, max_value=20, places=3),
    principal=st.decimals(min_value=D("0.01"), max_value=D("10000000"), places=2),
)
def test_a_loan_disbursed_in_full_at_the_start_follows_the_committed_schedule(
    method, rate, principal
):
    first = date(2026, 6, 30)
    loan = terms(method, str(rate), 60, 12, 6, first)
    disbursed = disbursed_schedule(loan, [(date(2025, 12, 30), principal)])
    committed = repayment_schedule(principal, rate, 60, 12, method, 6, first)
    assert disbursed == committed

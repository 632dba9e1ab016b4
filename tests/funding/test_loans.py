"""A loan's status on a date: outstanding principal, interest, arrears and days overdue."""

from datetime import date
from decimal import Decimal
from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

from funding import loans
from funding.loans import Received, loan_status
from funding.schedules import LINEAR

D = Decimal

# 12% a year, quarterly (3% a period), one quarter of grace, linear; due 31 Mar, 30 Jun,
# 30 Sep and 31 Dec 2026. Instalments (see test_disbursed_schedules):
#   31 Mar: interest 30.00, principal 0;  30 Jun: 37.58 + 500.00;
#   30 Sep: 30.00 + 500.00;               31 Dec: 15.00 + 500.00.
TERMS = SimpleNamespace(
    annual_rate_percent=D("12"),
    tenor_months=12,
    grace_months=3,
    method=LINEAR,
    frequency_months=3,
    first_payment_date=date(2026, 3, 31),
)
MONEY = [(date(2025, 12, 31), D("1000.00")), (date(2026, 5, 15), D("500.00"))]
FIRST_TWO_PAID = [
    Received(date(2026, 3, 31), D("0.00"), D("30.00")),
    Received(date(2026, 6, 30), D("500.00"), D("37.58")),
]


def test_nothing_is_in_arrears_the_day_before_a_due_date():
    status = loan_status(TERMS, MONEY, FIRST_TWO_PAID, date(2026, 9, 29))
    assert status.principal_disbursed == D("1500.00")
    assert status.principal_repaid == D("500.00")
    assert status.principal_outstanding == D("1000.00")
    assert status.interest_due == D("67.58")
    assert status.interest_received == D("67.58")
    assert not status.in_arrears
    assert status.days_overdue == 0
    assert [line.state for line in status.lines] == ["paid", "paid", "upcoming", "upcoming"]


def test_due_today_is_due_not_in_arrears():
    status = loan_status(TERMS, MONEY, FIRST_TWO_PAID, date(2026, 9, 30))
    assert status.interest_due == D("97.58")
    assert not status.in_arrears
    assert status.lines[2].state == loans.DUE


def test_the_day_after_an_unpaid_due_date_it_is_in_arrears():
    status = loan_status(TERMS, MONEY, FIRST_TWO_PAID, date(2026, 10, 1))
    assert status.principal_in_arrears == D("500.00")
    assert status.interest_in_arrears == D("30.00")
    assert status.days_overdue == 1
    assert status.first_overdue_on == date(2026, 9, 30)
    assert status.lines[2].state == loans.OVERDUE


def test_a_part_payment_is_allocated_oldest_instalment_first():
    # Nothing paid on 30 Jun; on 20 Oct 600.00 principal and 40.00 interest come in: they pay
    # the 30 Jun instalment's principal (500.00) and interest (37.58) first, the rest goes to
    # the 30 Sep instalment, which stays in arrears for 400.00 and 27.58.
    paid = [FIRST_TWO_PAID[0], Received(date(2026, 10, 20), D("600.00"), D("40.00"))]
    status = loan_status(TERMS, MONEY, paid, date(2026, 10, 31))
    assert status.principal_in_arrears == D("400.00")
    assert status.interest_in_arrears == D("27.58")
    assert status.days_overdue == 31  # from 30 Sep
    assert [line.state for line in status.lines] == ["paid", "paid", "overdue", "upcoming"]


def test_what_happens_after_the_date_does_not_exist_yet():
    status = loan_status(TERMS, MONEY, FIRST_TWO_PAID, date(2026, 4, 30))
    # The 500.00 of 15 May is not disbursed yet, nor repaid.
    assert status.principal_disbursed == D("1000.00")
    assert status.principal_repaid == D("0.00")
    assert status.interest_received == D("30.00")
    assert not status.in_arrears


def test_a_loan_with_nothing_disbursed_has_no_instalments_and_no_arrears():
    status = loan_status(TERMS, [], [], date(2027, 1, 1))
    assert status.lines == ()
    assert status.principal_outstanding == 0
    assert not status.in_arrears


def test_nothing_paid_puts_every_instalment_due_before_the_date_in_arrears():
    status = loan_status(TERMS, MONEY, [], date(2027, 1, 1))
    assert status.principal_in_arrears == D("1500.00")
    assert status.interest_in_arrears == D("112.58")
    assert status.days_overdue == (date(2027, 1, 1) - date(2026, 3, 31)).days


@settings(max_examples=60, deadline=None)
@given(
    as_of=st.dates(min_value=date(2025, 12, 1), max_value=date(2027, 6, 30)),
    principal=st.decimals(min_value=0, max_value=1500, places=2),
    interest=st.decimals(min_value=0, max_value=200, places=2),
)
def test_arrears_never_exceed_what_fell_due_nor_go_negative(as_of, principal, interest):
    paid = [Received(date(2026, 1, 15), principal, interest)]
    status = loan_status(TERMS, MONEY, paid, as_of)
    fell_due = [line.instalment for line in status.lines if line.due_on < as_of]
    assert 0 <= status.principal_in_arrears <= sum((i.principal for i in fell_due), D(0))
    assert 0 <= status.interest_in_arrears <= sum((i.interest for i in fell_due), D(0))
    assert status.in_arrears == (status.days_overdue > 0)

"""Repayment schedules: hand-checked figures, rounding, due dates, refused terms, invariants."""

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funding.schedules import ANNUITY, LINEAR, Instalment, ScheduleError, repayment_schedule

D = Decimal


def rows(schedule):
    return [
        (i.opening_balance, i.interest, i.principal, i.payment, i.closing_balance) for i in schedule
    ]


def test_annuity_with_grace_matches_hand_computation_to_the_cent():
    # 1,000,000.00 at 2% a year, semi-annual: r = 2/100 * 6/12 = 0.01.
    # 60 months / 6 = 10 instalments; 12 months grace / 6 = 2 interest-only instalments,
    # leaving n = 8 annuity instalments on the full 1,000,000.00.
    schedule = repayment_schedule(D("1000000.00"), D("2.00"), 60, 12, ANNUITY, 6, date(2026, 6, 30))

    # Annuity payment P*r / (1 - 1.01^-8):
    #   1.01^2 = 1.0201, 1.01^4 = 1.0201^2 = 1.04060401,
    #   1.01^8 = 1.04060401^2 = 1.0828567056280801
    #   1.01^-8 = 0.92348322248231225..., 1 - 1.01^-8 = 0.07651677751768774...
    #   1,000,000 * 0.01 / 0.07651677751768774 = 130,690.29204... -> 130,690.29
    # Each interest is 1% of the opening balance, rounded half up to the cent:
    expected = [
        # Grace: interest 1,000,000.00 * 0.01 = 10,000.00, no principal.
        (D("1000000.00"), D("10000.00"), D("0.00"), D("10000.00"), D("1000000.00")),
        (D("1000000.00"), D("10000.00"), D("0.00"), D("10000.00"), D("1000000.00")),
        # 130,690.29 - 10,000.00 = 120,690.29; 1,000,000.00 - 120,690.29 = 879,309.71
        (D("1000000.00"), D("10000.00"), D("120690.29"), D("130690.29"), D("879309.71")),
        # 879,309.71 * 0.01 = 8,793.0971 -> 8,793.10; 130,690.29 - 8,793.10 = 121,897.19;
        # 879,309.71 - 121,897.19 = 757,412.52
        (D("879309.71"), D("8793.10"), D("121897.19"), D("130690.29"), D("757412.52")),
        # 757,412.52 * 0.01 = 7,574.1252 -> 7,574.13; 130,690.29 - 7,574.13 = 123,116.16;
        # 757,412.52 - 123,116.16 = 634,296.36
        (D("757412.52"), D("7574.13"), D("123116.16"), D("130690.29"), D("634296.36")),
        # 634,296.36 * 0.01 = 6,342.9636 -> 6,342.96; 130,690.29 - 6,342.96 = 124,347.33;
        # 634,296.36 - 124,347.33 = 509,949.03
        (D("634296.36"), D("6342.96"), D("124347.33"), D("130690.29"), D("509949.03")),
        # 509,949.03 * 0.01 = 5,099.4903 -> 5,099.49; 130,690.29 - 5,099.49 = 125,590.80;
        # 509,949.03 - 125,590.80 = 384,358.23
        (D("509949.03"), D("5099.49"), D("125590.80"), D("130690.29"), D("384358.23")),
        # 384,358.23 * 0.01 = 3,843.5823 -> 3,843.58; 130,690.29 - 3,843.58 = 126,846.71;
        # 384,358.23 - 126,846.71 = 257,511.52
        (D("384358.23"), D("3843.58"), D("126846.71"), D("130690.29"), D("257511.52")),
        # 257,511.52 * 0.01 = 2,575.1152 -> 2,575.12; 130,690.29 - 2,575.12 = 128,115.17;
        # 257,511.52 - 128,115.17 = 129,396.35
        (D("257511.52"), D("2575.12"), D("128115.17"), D("130690.29"), D("129396.35")),
        # Last: 129,396.35 * 0.01 = 1,293.9635 -> 1,293.96; the whole 129,396.35 is repaid,
        # so the payment is 1,293.96 + 129,396.35 = 130,690.31 (2 cents of rounding absorbed).
        (D("129396.35"), D("1293.96"), D("129396.35"), D("130690.31"), D("0.00")),
    ]
    assert rows(schedule) == expected
    assert [i.number for i in schedule] == list(range(1, 11))
    assert sum(i.principal for i in schedule) == D("1000000.00")


def test_due_dates_keep_the_day_of_the_first_payment_date():
    schedule = repayment_schedule(D("1000000.00"), D("2.00"), 60, 12, ANNUITY, 6, date(2026, 6, 30))

    # Every date is first + k*6 months, so a 30 June start stays on the 30th.
    assert [i.due_on for i in schedule] == [
        date(2026, 6, 30),
        date(2026, 12, 30),
        date(2027, 6, 30),
        date(2027, 12, 30),
        date(2028, 6, 30),
        date(2028, 12, 30),
        date(2029, 6, 30),
        date(2029, 12, 30),
        date(2030, 6, 30),
        date(2030, 12, 30),
    ]


def test_month_end_first_date_is_clamped_in_short_months_without_drifting():
    schedule = repayment_schedule(D("1200.00"), D("0"), 13, 0, LINEAR, 1, date(2026, 1, 31))

    due = [i.due_on for i in schedule]
    # Each date is offset from 31 January, so after February the 31st comes back.
    assert due[:4] == [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30)]
    assert due[-1] == date(2027, 1, 31)
    # 2028 is a leap year.
    leap = repayment_schedule(D("100.00"), D("0"), 3, 0, LINEAR, 1, date(2028, 1, 31))
    assert [i.due_on for i in leap] == [date(2028, 1, 31), date(2028, 2, 29), date(2028, 3, 31)]


def test_linear_last_instalment_absorbs_the_rounding_remainder():
    # 100,000.00 / 3 = 33,333.333... -> 33,333.33; the last repays 100,000.00 - 2 * 33,333.33.
    # Annual at 3%: interest is 3% of each opening balance.
    schedule = repayment_schedule(D("100000.00"), D("3.00"), 36, 0, LINEAR, 12, date(2026, 12, 31))

    assert rows(schedule) == [
        # 100,000.00 * 0.03 = 3,000.00
        (D("100000.00"), D("3000.00"), D("33333.33"), D("36333.33"), D("66666.67")),
        # 66,666.67 * 0.03 = 2,000.0001 -> 2,000.00
        (D("66666.67"), D("2000.00"), D("33333.33"), D("35333.33"), D("33333.34")),
        # 33,333.34 * 0.03 = 1,000.0002 -> 1,000.00
        (D("33333.34"), D("1000.00"), D("33333.34"), D("34333.34"), D("0.00")),
    ]


def test_linear_grace_periods_pay_interest_only_then_split_principal_equally():
    # 1,200.00 at 12% monthly (r = 0.01), 2 months grace, then 1,200.00 / 2 = 600.00 each.
    schedule = repayment_schedule(D("1200.00"), D("12.00"), 4, 2, LINEAR, 1, date(2026, 1, 15))

    assert rows(schedule) == [
        (D("1200.00"), D("12.00"), D("0.00"), D("12.00"), D("1200.00")),
        (D("1200.00"), D("12.00"), D("0.00"), D("12.00"), D("1200.00")),
        (D("1200.00"), D("12.00"), D("600.00"), D("612.00"), D("600.00")),
        (D("600.00"), D("6.00"), D("600.00"), D("606.00"), D("0.00")),
    ]


@pytest.mark.parametrize("method", [ANNUITY, LINEAR])
def test_zero_rate_repays_principal_in_equal_parts_without_interest(method):
    # 1,000.00 / 3 = 333.33, 333.33, and the last takes 1,000.00 - 666.66 = 333.34.
    schedule = repayment_schedule(D("1000.00"), D("0"), 9, 0, method, 3, date(2026, 3, 31))

    assert rows(schedule) == [
        (D("1000.00"), D("0.00"), D("333.33"), D("333.33"), D("666.67")),
        (D("666.67"), D("0.00"), D("333.33"), D("333.33"), D("333.34")),
        (D("333.34"), D("0.00"), D("333.34"), D("333.34"), D("0.00")),
    ]


def test_interest_rounds_an_exact_half_cent_up():
    # 1,000.50 at 1% annual: 10.005 -> 10.01 (half-even would give 10.00).
    annual = repayment_schedule(D("1000.50"), D("1.00"), 12, 0, LINEAR, 12, date(2026, 12, 31))
    assert annual[0].interest == D("10.01")
    # 6.00 at 1% monthly: 6 * 1 / 1200 = 0.005 exactly -> 0.01, which a pre-rounded monthly
    # rate of 0.000833... would have turned into 0.00499... -> 0.00.
    monthly = repayment_schedule(D("6.00"), D("1.00"), 1, 0, LINEAR, 1, date(2026, 1, 31))
    assert monthly[0].interest == D("0.01")


def test_tiny_principal_is_never_overpaid_when_parts_round_up():
    # 0.11 / 20 = 0.0055 -> 0.01 a period; after 11 periods nothing is left, so the rest
    # repay 0.00 instead of driving the balance negative.
    schedule = repayment_schedule(D("0.11"), D("0"), 20, 0, LINEAR, 1, date(2026, 1, 31))

    assert [i.principal for i in schedule] == [D("0.01")] * 11 + [D("0.00")] * 9
    assert schedule[-1].closing_balance == D("0.00")
    assert all(i.closing_balance >= 0 for i in schedule)


def test_principal_given_as_whole_units_is_reported_in_cents():
    schedule = repayment_schedule(D("500"), D("0"), 1, 0, ANNUITY, 1, date(2026, 1, 31))

    assert schedule == [
        Instalment(
            number=1,
            due_on=date(2026, 1, 31),
            opening_balance=D("500.00"),
            interest=D("0.00"),
            principal=D("500.00"),
            payment=D("500.00"),
            closing_balance=D("0.00"),
        )
    ]
    assert schedule[0].opening_balance.as_tuple().exponent == -2


VALID = {
    "principal": D("1000000.00"),
    "annual_rate_percent": D("2.00"),
    "tenor_months": 60,
    "grace_months": 12,
    "method": ANNUITY,
    "frequency_months": 6,
    "first_payment_date": date(2026, 6, 30),
}


@pytest.mark.parametrize(
    ("term", "value", "message"),
    [
        ("principal", D("0.00"), "principal must be greater than 0"),
        ("principal", D("-1.00"), "principal must be greater than 0"),
        ("principal", D("100.001"), "principal must have at most 2 decimal places"),
        ("principal", D("NaN"), "principal must be a finite number"),
        ("principal", 1000.0, "principal must be a Decimal"),
        ("annual_rate_percent", D("-0.01"), "annual_rate_percent must be between 0 and 100"),
        ("annual_rate_percent", D("100.01"), "annual_rate_percent must be between 0 and 100"),
        ("tenor_months", 0, "tenor_months must be greater than 0"),
        ("tenor_months", -6, "tenor_months must be greater than 0"),
        ("tenor_months", 62, "tenor_months must be a multiple of frequency_months"),
        ("tenor_months", "60", "tenor_months must be an integer"),
        ("grace_months", -6, "grace_months must be at least 0 and less than tenor_months"),
        ("grace_months", 60, "grace_months must be at least 0 and less than tenor_months"),
        ("grace_months", 7, "grace_months must be a multiple of frequency_months"),
        ("frequency_months", 2, "frequency_months must be one of 1, 3, 6, 12"),
        ("frequency_months", 0, "frequency_months must be one of 1, 3, 6, 12"),
        ("method", "bullet", "method must be one of annuity, linear"),
        ("first_payment_date", "2026-06-30", "first_payment_date must be a date"),
    ],
)
def test_invalid_term_is_refused_naming_the_term(term, value, message):
    with pytest.raises(ScheduleError, match=message):
        repayment_schedule(**{**VALID, term: value})


def test_schedule_error_is_a_value_error():
    with pytest.raises(ValueError, match="method"):
        repayment_schedule(**{**VALID, "method": "balloon"})


@st.composite
def loan_terms(draw):
    frequency = draw(st.sampled_from([1, 3, 6, 12]))
    periods = draw(st.integers(min_value=1, max_value=360 // frequency))
    grace_periods = draw(st.integers(min_value=0, max_value=periods - 1))
    return {
        # From one cent to a billion, so tiny loans stress the rounding too.
        "principal": D(draw(st.integers(min_value=1, max_value=10**11))).scaleb(-2),
        "annual_rate_percent": D(draw(st.integers(min_value=0, max_value=10_000))).scaleb(-2),
        "tenor_months": periods * frequency,
        "grace_months": grace_periods * frequency,
        "method": draw(st.sampled_from([ANNUITY, LINEAR])),
        "frequency_months": frequency,
        "first_payment_date": draw(
            st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31))
        ),
    }


@settings(max_examples=100, deadline=None)
@given(loan_terms())
def test_any_valid_terms_give_a_consistent_cent_exact_schedule(terms):
    schedule = repayment_schedule(**terms)

    assert len(schedule) == terms["tenor_months"] // terms["frequency_months"]
    assert [i.number for i in schedule] == list(range(1, len(schedule) + 1))
    assert schedule[0].opening_balance == terms["principal"]
    assert sum(i.principal for i in schedule) == terms["principal"]
    assert schedule[-1].closing_balance == D("0.00")
    for row in schedule:
        assert row.payment == row.interest + row.principal
        assert row.closing_balance == row.opening_balance - row.principal
        assert row.principal >= 0
        assert row.closing_balance >= 0
        for amount in (
            row.opening_balance,
            row.interest,
            row.principal,
            row.payment,
            row.closing_balance,
        ):
            assert amount.as_tuple().exponent == -2
    for earlier, later in zip(schedule, schedule[1:], strict=False):
        assert earlier.closing_balance == later.opening_balance
        assert earlier.due_on < later.due_on
    grace_rows = schedule[: terms["grace_months"] // terms["frequency_months"]]
    assert all(i.principal == 0 for i in grace_rows)

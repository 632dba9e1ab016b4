"""The rules every door shares, tested with plain data: figures and leverage, secured-until and
the flag kinds with their urgency and escalation."""

from datetime import date
from decimal import Decimal

import pytest

from funding import coverage, figures
from funding.coverage import Interval
from funding.models import FlagKind, Instrument, Purpose
from portfolio.rates import RateTable

D = Decimal
EUR_RATES = RateTable("USD", [("EUR", date(2025, 1, 1), "1.10"), ("EUR", date(2026, 1, 1), "1.30")])


def tranche(amount="1000.00", currency="EUR", instrument="grant", purpose="launch", **kwargs):
    return figures.TrancheMoney(
        instrument=instrument,
        purpose=purpose,
        amount=D(amount),
        currency=currency,
        committed_on=kwargs.pop("committed_on", date(2025, 3, 1)),
        **kwargs,
    )


def add_up(tranches, as_of=date(2026, 6, 1), table=EUR_RATES):
    return figures.add_up(tranches, table, as_of, Instrument.choices, Purpose.choices)


@pytest.mark.parametrize(
    ("committed", "expected"),
    [
        ({"grant": D("200"), "loan": D("100"), "results_based": D("50")}, D("0.75")),
        ({"grant": D("3"), "loan": D("1")}, D("0.33")),
        ({"grant": D("8"), "loan": D("1")}, D("0.13")),  # 0.125 rounds half-up
        ({"loan": D("1")}, None),
        ({"grant": D("0.00"), "loan": D("1")}, None),
    ],
)
def test_leverage_is_loan_and_results_based_money_per_unit_of_grant(committed, expected):
    assert figures.leverage(committed) == expected


def test_each_figure_is_converted_at_its_own_date():
    paid = ((date(2025, 6, 1), D("400.00")), (date(2026, 2, 1), D("100.00")))
    result = add_up([tranche(disbursements=paid)])

    assert result.committed == D("1100.00")  # signed in 2025 at 1.10
    assert result.disbursed == D("570.00")  # 400 at 1.10 and 100 at 1.30
    assert result.undisbursed == D("650.00")  # 500 still to pay, at the as-of rate
    assert {(r.used_for, r.rate_date) for r in result.rates} == {
        ("commitment", date(2025, 1, 1)),
        ("disbursement", date(2025, 1, 1)),
        ("disbursement", date(2026, 1, 1)),
        ("undisbursed", date(2026, 1, 1)),
    }


def test_rows_by_instrument_and_purpose_add_up_to_the_same_totals():
    result = add_up(
        [
            tranche("100.00", instrument="grant", purpose="launch"),
            tranche("200.00", instrument="loan", purpose="maintenance"),
            tranche("300.00", currency="USD", instrument="results_based", purpose="launch"),
        ]
    )

    for name in ("committed", "disbursed", "undisbursed"):
        by_instrument = sum(getattr(row, name) for row in result.by_instrument)
        by_purpose = sum(getattr(row, name) for row in result.by_purpose)
        assert by_instrument == by_purpose == getattr(result, name)
    assert result.committed == D("630.00")
    assert result.leverage == D("4.73")  # (220 + 300) / 110 = 4.727...


def test_a_tranche_without_a_rate_is_left_out_and_its_currency_named():
    result = add_up([tranche(currency="XOF"), tranche("10.00", currency="USD")])

    assert result.committed == D("10.00")
    assert result.missing_rates == {"XOF"}
    assert result.rates == []  # no conversion was needed for what is shown


def test_half_up_to_the_cent():
    table = RateTable("USD", [("EUR", date(2025, 1, 1), "0.5")])
    assert add_up([tranche("1000.05")], table=table).committed == D("500.03")


def test_share_disbursed_is_a_whole_percent_rounded_half_up():
    assert figures.MoneyRow("grant", "Grant", D("200"), D("1")).share_disbursed == 1  # 0.5 %
    assert figures.MoneyRow("grant", "Grant").share_disbursed == 0


def assessment(secured, as_of, planned=()):
    window = coverage.obligation_window(date(2025, 1, 1), 36)  # to 2027-12-31
    return coverage.assess(window, secured, planned, as_of)


@pytest.mark.parametrize(
    ("secured", "as_of", "until"),
    [
        ([Interval(date(2025, 1, 1), date(2026, 4, 30))], date(2026, 3, 1), date(2026, 4, 30)),
        ([Interval(date(2025, 1, 1), date(2027, 12, 31))], date(2026, 3, 1), date(2027, 12, 31)),
        ([Interval(date(2025, 1, 1), date(2026, 1, 31))], date(2026, 3, 1), None),  # lapsed
        ([Interval(date(2025, 3, 1), date(2026, 1, 31))], date(2024, 6, 1), None),  # from launch
        ([Interval(date(2025, 1, 1), date(2025, 6, 30))], date(2024, 6, 1), date(2025, 6, 30)),
        ([], date(2026, 3, 1), None),
    ],
)
def test_secured_until_is_the_last_day_secured_without_a_break_from_the_as_of_day(
    secured, as_of, until
):
    assert coverage.secured_until(assessment(secured, as_of), as_of) == until


def test_flag_kinds_are_one_list_for_the_database_urgency_and_escalation():
    assert FlagKind.choices == [(kind.value, kind.label) for kind in coverage.FLAG_KINDS]
    assert coverage.by_urgency(FlagKind.values) == [
        "lapsed",
        "no_maintenance",
        "closed_within_window",
        "at_risk",
        "line_unfunded",
        "unsecured",
        "underfunded",
        "no_handover_plan",
        "disbursement_overdue",
        "repayment_overdue",
    ]
    assert coverage.flag_urgency("something new") == len(coverage.FLAG_KINDS)
    assert {k.value for k in coverage.FLAG_KINDS if coverage.escalates_to(k.value)} == {
        "at_risk",
        "unsecured",
    }
    assert coverage.escalates_to("at_risk") == coverage.LAPSED
    assert coverage.escalates_to("lapsed") is None

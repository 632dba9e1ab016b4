"""Every total in the workbook, read back as a non-recalculating reader sees it (python-calamine),
adds only like things and equals the same scope worked out from the database."""

from collections import defaultdict
from decimal import Decimal

import pytest

from evaluations.models import Indicator
from funding.models import Disbursement, LapseFlag, LoanTerms, Tranche, TrancheStatus
from funding.selectors import loan_statuses
from portfolio.models import ExchangeRate
from portfolio.rates import convert_tranche
from projects.models import Project
from reporting.workbook import SCHEDULES_SHEET, ExportFilters

from .workbook_helpers import (
    AS_OF,
    add_scope_traps,
    build_portfolio,
    calamine,
    export,
    records,
    total_rows,
)

pytestmark = pytest.mark.django_db
ZERO = Decimal("0.00")


def expected_from_the_database():
    """Each total's scope, worked out from the rows as they stand, independently of the
    workbook's code: as of AS_OF, one status per figure, one currency per unconverted sum."""
    table = ExchangeRate.table("USD")
    money = defaultdict(lambda: ZERO)
    by_instrument = defaultdict(lambda: defaultdict(lambda: ZERO))
    by_purpose = defaultdict(lambda: defaultdict(lambda: ZERO))
    for t in Tranche.objects.exclude(committed_on__gt=AS_OF):
        paid = [(d.disbursed_on, d.amount) for d in t.disbursements.filter(disbursed_on__lte=AS_OF)]
        if t.status == TrancheStatus.COMMITTED:
            c = convert_tranche(
                table, amount=t.amount, currency=t.currency, committed_on=t.committed_on,
                as_of=AS_OF, disbursements=paid, fixed_rate=t.fixed_rate,
            )  # fmt: skip
            figures = {
                "committed": c.committed,
                "disbursed": c.disbursed,
                "undisbursed": c.undisbursed,
                "revaluation": c.revaluation,
            }
        elif t.status == TrancheStatus.PLANNED:
            figures = {"planned": table.convert(t.amount, t.currency, AS_OF).amount}
        else:
            continue
        for name, value in figures.items():
            money[name] += value
            by_instrument[t.instrument][name] += value
            by_purpose[t.purpose][name] += value

    disbursed = sum(
        (
            table.convert(d.amount, d.tranche.currency, d.disbursed_on).amount
            for d in Disbursement.objects.filter(disbursed_on__lte=AS_OF)
        ),
        ZERO,
    )
    loans = defaultdict(lambda: defaultdict(lambda: ZERO))
    loans_rc = defaultdict(lambda: ZERO)
    instalments = defaultdict(lambda: defaultdict(lambda: ZERO))
    for terms in LoanTerms.objects.filter(
        tranche__status=TrancheStatus.COMMITTED, tranche__committed_on__lte=AS_OF
    ):
        t = terms.tranche
        schedule = terms.schedule()
        due = [each for each in schedule if each.due_on <= AS_OF]
        upcoming = schedule[len(due)] if len(due) < len(schedule) else None
        balance = due[-1].closing_balance if due else t.amount
        per = loans[t.currency]
        per["Amount"] += t.amount
        per["Interest over the term"] += sum((each.interest for each in schedule), ZERO)
        per["Principal due after as-of date"] += balance
        per["Next payment"] += upcoming.payment if upcoming else ZERO
        c = convert_tranche(
            table, amount=t.amount, currency=t.currency, committed_on=t.committed_on, as_of=AS_OF
        )
        loans_rc["Committed (reporting currency, commitment-date rate)"] += c.committed
        loans_rc["Principal due after as-of date (reporting currency, as-of rate)"] += (
            table.convert(balance, t.currency, AS_OF).amount
        )
        status = loan_statuses([t], AS_OF)[t.pk]
        loans_rc["Principal outstanding (reporting currency, as-of rate)"] += table.convert(
            status.principal_outstanding, t.currency, AS_OF
        ).amount
        loans_rc["In arrears (reporting currency, as-of rate)"] += table.convert(
            status.arrears, t.currency, AS_OF
        ).amount
        for each in schedule:
            for name in ("interest", "principal", "payment"):
                instalments[t.currency][name.capitalize()] += getattr(each, name)
    return {
        "money": money,
        "by_instrument": by_instrument,
        "by_purpose": by_purpose,
        "disbursed": disbursed,
        "loans": loans,
        "loans_rc": loans_rc,
        "instalments": instalments,
    }


MONEY_COLUMNS = {
    "Committed (reporting currency)": "committed",
    "Disbursed (reporting currency, at payment dates)": "disbursed",
    "Undisbursed (reporting currency, as-of rate)": "undisbursed",
    "Planned (reporting currency, as-of rate)": "planned",
    "FX revaluation of disbursed (to as-of rate)": "revaluation",
    "Committed (commitment-date rates)": "committed",
    "Disbursed (payment-date rates)": "disbursed",
    "Undisbursed (as-of rate)": "undisbursed",
    "Planned (as-of rate)": "planned",
    "FX revaluation of disbursed": "revaluation",
}


def numbers(row):
    return {header: value for header, value in row.items() if isinstance(value, int | float)}


def check(found, expected, where):
    assert found == pytest.approx(float(expected), abs=0.005), where


def test_every_total_row_equals_its_scope_in_the_database():
    build_portfolio()
    add_scope_traps(Project.objects.get(code="KE-ID-01").portfolio)
    expected = expected_from_the_database()
    _, out = export(ExportFilters(as_of=AS_OF, with_schedules=True))
    sheets = calamine(out)
    checked = 0

    # Tranches: one SUBTOTAL row; each converted column one status.
    (total,) = total_rows(sheets["Tranches"])
    assert total["label"] == "Total"
    for header, value in numbers(total).items():
        check(value, expected["money"][MONEY_COLUMNS[header]], ("Tranches", header))
        checked += 1

    # Projects: money by status and instrument, and counts.
    (total,) = total_rows(sheets["Projects"])
    scoped = {
        "Grant committed": expected["by_instrument"]["grant"]["committed"],
        "Loan committed": expected["by_instrument"]["loan"]["committed"],
        "Results-based committed": expected["by_instrument"]["results_based"]["committed"],
        "Indicators": Indicator.objects.count(),
        "Indicators on track": sum(
            1
            for r in records(sheets["Results"])
            if r["Category"] == "Total" and r["Status"] in ("On track", "Achieved")
        ),
    }
    for header, value in numbers(total).items():
        want = scoped[header] if header in scoped else expected["money"][MONEY_COLUMNS[header]]
        check(value, want, ("Projects", header))
        checked += 1

    # Disbursements: only those made by the as-of date, each at its own date's rate.
    (total,) = total_rows(sheets["Disbursements"])
    (value,) = numbers(total).values()
    check(value, expected["disbursed"], "Disbursements")
    checked += 1

    # Loans: converted totals, then one row per currency for money in the loans' currencies.
    totals = total_rows(sheets["Loans"])
    assert [t["label"] for t in totals] == ["Total", "Total GBP", "Total USD"]
    for header, value in numbers(totals[0]).items():
        check(value, expected["loans_rc"][header], ("Loans", header))
        checked += 1
    for row in totals[1:]:
        currency = row["label"].removeprefix("Total ")
        assert row["Currency"] == row["label"]  # the label sits in the text column
        for header, value in numbers(row).items():
            check(value, expected["loans"][currency][header], ("Loans", currency, header))
            checked += 1

    totals = total_rows(sheets[SCHEDULES_SHEET])
    assert [t["label"] for t in totals] == ["Total GBP", "Total USD"]
    for row in totals:
        currency = row["label"].removeprefix("Total ")
        for header, value in numbers(row).items():
            check(value, expected["instalments"][currency][header], (SCHEDULES_SHEET, header))
            checked += 1

    # Summary: every "Total" row, by the table it closes.
    heading = None
    open_flags = LapseFlag.objects.filter(raised_at__date__lte=AS_OF).count()
    for row in sheets["Summary"]:
        if isinstance(row[1], str) and row[1] and row[0] != "Total":
            heading = row[0]
            headers = row
            continue
        if row[0] != "Total":
            continue
        values = {headers[n]: v for n, v in enumerate(row) if isinstance(v, int | float)}
        if heading in ("By instrument", "By purpose"):
            for header, value in values.items():
                check(value, expected["money"][MONEY_COLUMNS[header]], ("Summary", heading))
                checked += 1
        elif heading == "Projects by status":
            check(values["Projects"], Project.objects.count(), heading)
            checked += 1
        elif heading.startswith("Open flags"):
            check(values["Flags"], open_flags, heading)
            checked += 1
        else:
            pytest.fail(f"A total under {heading!r} has no scope to check against")
    # 5 + 10 + 1 + 4 + 8 + 6 + 10 + 1 + 1 totals: none was skipped.
    assert checked == 46

"""A small portfolio for the workbook tests, and ways to read the workbook back."""

from datetime import date, datetime
from decimal import Decimal
from io import BytesIO

from django.utils import timezone
from python_calamine import CalamineWorkbook

from funding.models import LapseFlag, Tranche
from reporting.workbook import ExportFilters, write_workbook
from tests.evaluations.factories import (
    IndicatorFactory,
    MeasurementFactory,
    PayoutTermsFactory,
    TargetFactory,
)
from tests.factories import (
    DisbursementFactory,
    ExchangeRateFactory,
    FunderFactory,
    LoanTermsFactory,
    PortfolioFactory,
    ProjectFactory,
    TrancheFactory,
)

AS_OF = date(2026, 3, 1)


def build_portfolio():
    """One launched project funded three ways (USD and EUR), one still being built.

    EUR is worth 1.05 USD from 2025 and 1.10 from 2026, so commitments (2025) and the as-of
    date (2026) convert differently.
    """
    portfolio = PortfolioFactory(name="Digital Services Fund")
    bank = FunderFactory(name="Development Bank")
    donor = FunderFactory(name="Bilateral Donor")
    ExchangeRateFactory(
        currency="EUR", rate=Decimal("1.05"), valid_on=date(2025, 1, 1), source="ECB"
    )
    ExchangeRateFactory(
        currency="EUR", rate=Decimal("1.10"), valid_on=date(2026, 1, 1), source="ECB"
    )
    live = ProjectFactory(
        portfolio=portfolio, code="KE-ID-01", title="+Digital ID", country="KE", launched=True
    )
    building = ProjectFactory(portfolio=portfolio, code="SN-PAY-01", country="SN")
    launch = TrancheFactory(
        project=live, funder=donor, amount=Decimal("100000.00"), funder_reference="D-1",
        notes='=HYPERLINK("http://evil.example","click")',
    )  # fmt: skip
    DisbursementFactory(tranche=launch, amount=Decimal("40000.00"))
    Tranche.objects.filter(pk=launch.pk).update(disbursed_amount=Decimal("40000.00"))
    TrancheFactory(
        project=live, funder=donor, maintenance=True, currency="EUR", amount=Decimal("50000.00"),
        covers_from=date(2025, 1, 1), covers_until=date(2026, 4, 30), funder_reference="D-2",
    )  # fmt: skip
    loan = TrancheFactory(
        project=live, funder=bank, instrument=Tranche.Instrument.LOAN,
        amount=Decimal("200000.00"), funder_reference="B-1",
    )  # fmt: skip
    LoanTermsFactory(tranche=loan)
    rbf = TrancheFactory(
        project=live, funder=bank, instrument=Tranche.Instrument.RESULTS_BASED,
        amount=Decimal("80000.00"), funder_reference="B-2",
    )  # fmt: skip
    indicator = IndicatorFactory(project=live, code="OUT-1", unit="people", disaggregations=[])
    target = TargetFactory(indicator=indicator, due_on=date(2026, 12, 31), value=Decimal("1000"))
    MeasurementFactory(indicator=indicator, verified=True, value=Decimal("400"))
    terms = PayoutTermsFactory(tranche=rbf, target=target)
    type(terms).objects.filter(pk=terms.pk).update(eligible_amount=Decimal("32000.00"))
    TrancheFactory(project=live, funder=donor, planned=True, amount=Decimal("30000.00"))
    TrancheFactory(
        project=building, funder=bank, amount=Decimal("10000.00"), funder_reference="B-3"
    )
    LapseFlag.objects.create(
        project=live, kind="at_risk", gap_start=date(2026, 5, 1),
        raised_at=timezone.make_aware(datetime(2026, 2, 1)), last_seen_on=date(2026, 2, 1),
    )  # fmt: skip
    return portfolio


def export(filters=None, **kwargs):
    out = BytesIO()
    rows = write_workbook(out, filters or ExportFilters(as_of=AS_OF, **kwargs))
    out.seek(0)
    return rows, out


def calamine(out) -> dict:
    """Every sheet's rows as a reader that does not recalculate sees them (cached values)."""
    out.seek(0)
    wb = CalamineWorkbook.from_filelike(out)
    out.seek(0)
    return {name: wb.get_sheet_by_name(name).to_python() for name in wb.sheet_names}


def records(rows) -> list[dict]:
    """Data rows of a list sheet as dicts keyed by header; total rows (their first column is
    blank) left out."""
    header = rows[0]
    return [dict(zip(header, row, strict=True)) for row in rows[1:] if row[0] != ""]


def total_rows(rows) -> list[dict]:
    """The total rows under a list sheet, keyed by header, with the label under "label"."""
    header = rows[0]
    found = []
    for row in rows[1:]:
        if row[0] != "":
            continue
        labels = [value for value in row if isinstance(value, str) and value.startswith("Total")]
        if labels:
            found.append({"label": labels[0], **dict(zip(header, row, strict=True))})
    return found


def add_scope_traps(portfolio):
    """What a total must leave out or keep apart: a cancelled tranche, a tranche committed after
    the as-of date, a disbursement after it, a rate after it, and a loan in another currency."""
    live = portfolio.projects.get(code="KE-ID-01")
    donor = FunderFactory(name="Late Donor")
    ExchangeRateFactory(currency="EUR", rate=Decimal("1.30"), valid_on=date(2026, 5, 1))
    ExchangeRateFactory(currency="GBP", rate=Decimal("1.25"), valid_on=date(2025, 1, 1))
    TrancheFactory(
        project=live, funder=donor, currency="EUR", amount=Decimal("7000.00"),
        status=Tranche.Status.CANCELLED, funder_reference="X-CANCELLED",
    )  # fmt: skip
    TrancheFactory(
        project=live, funder=donor, amount=Decimal("999000.00"), committed_on=date(2026, 6, 1),
        funder_reference="X-LATER",
    )  # fmt: skip
    maintenance = Tranche.objects.get(funder_reference="D-2")
    DisbursementFactory(
        tranche=maintenance, amount=Decimal("10000.00"), disbursed_on=date(2025, 6, 1)
    )
    DisbursementFactory(
        tranche=maintenance, amount=Decimal("5000.00"), disbursed_on=date(2026, 4, 1)
    )
    Tranche.objects.filter(pk=maintenance.pk).update(disbursed_amount=Decimal("15000.00"))
    sterling = TrancheFactory(
        project=live, funder=donor, instrument=Tranche.Instrument.LOAN, currency="GBP",
        amount=Decimal("100000.00"), funder_reference="X-GBP-LOAN",
    )  # fmt: skip
    LoanTermsFactory(tranche=sterling, first_payment_date=date(2025, 6, 30), grace_months=0)

"""The summary workbook, opened with openpyxl: sheets, values, formats, formulas and charts."""

import zipfile
from datetime import date, datetime
from decimal import Decimal
from io import BytesIO

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from funding.models import LapseFlag, Tranche
from projects.models import Project
from reporting.workbook import SHEETS, TRANCHE_COLUMNS, ExportFilters, write_workbook
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

pytestmark = pytest.mark.django_db

AS_OF = date(2026, 3, 1)


@pytest.fixture
def portfolio():
    """One launched project funded three ways, and one still being built."""
    portfolio = PortfolioFactory(name="Digital Services Fund")
    bank = FunderFactory(name="Development Bank")
    donor = FunderFactory(name="Bilateral Donor")
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


def rows_of(ws):
    return [list(row) for row in ws.iter_rows(values_only=True)]


def by_header(ws):
    """Data rows of a list sheet as dicts keyed by header (the totals row left out)."""
    values = rows_of(ws)
    header = values[0]
    return [dict(zip(header, row, strict=True)) for row in values[1:] if row[0] is not None]


def test_sheets_come_in_order_with_frozen_filterable_headers(portfolio):
    rows, out = export()
    wb = load_workbook(out)
    assert wb.sheetnames == SHEETS
    for name in SHEETS[2:]:
        ws = wb[name]
        assert ws.freeze_panes == "A2", name
        assert ws.auto_filter.ref.startswith("A1:"), name
        assert ws["A1"].font.bold, name
        assert ws.column_dimensions["A"].width >= 14, name
    instalments = len(Tranche.objects.get(funder_reference="B-1").loan_terms.schedule())
    # tranches, projects, the disbursement, the coverage row, the result, the instalments
    assert rows == 6 + 2 + 1 + 1 + 1 + instalments


def test_tranches_sheet_converts_at_the_as_of_rate_and_says_which(portfolio):
    _, out = export()
    ws = load_workbook(out)["Tranches"]
    assert [c.value for c in ws[1]] == [column.header for column in TRANCHE_COLUMNS]
    tranches = {row["Reference"]: row for row in by_header(ws)}
    maintenance = tranches["D-2"]
    assert maintenance["Currency"] == "EUR"
    assert maintenance["Amount"] == 50000
    assert maintenance["Rate"] == pytest.approx(1.1)
    assert maintenance["Rate date"] == datetime(2026, 1, 1)
    assert maintenance["Amount (reporting currency)"] == 55000
    assert maintenance["Covers until"] == datetime(2026, 4, 30)
    assert tranches["D-1"]["Disbursed (reporting currency)"] == 40000
    assert tranches["D-1"]["Rate date"] is None  # already in the reporting currency

    amount = next(c for c in ws["H"] if c.value == 50000)
    assert amount.number_format == "#,##0.00"
    assert ws.cell(row=amount.row, column=10).is_date
    assert ws.cell(row=amount.row, column=10).number_format == "d mmm yyyy"
    converted = ws.cell(row=amount.row, column=18)
    assert converted.number_format == "[$USD] #,##0.00"


def test_totals_are_subtotal_formulas_outside_the_filter_range(portfolio):
    _, out = export()
    ws = load_workbook(out)["Tranches"]
    last = ws.max_row
    assert ws.auto_filter.ref == f"S1:S{last - 1}".replace("S1", "A1")
    assert ws.cell(row=last, column=17).value == "Total"
    assert ws.cell(row=last, column=18).value == f"=SUBTOTAL(109,R2:R{last - 1})"
    assert ws.cell(row=last, column=19).value == f"=SUBTOTAL(109,S2:S{last - 1})"
    assert ws.cell(row=last, column=1).value is None  # an import skips this row

    projects = load_workbook(out)["Projects"]
    header = [c.value for c in projects[1]]
    committed = header.index("Committed") + 1
    formula = projects.cell(row=projects.max_row, column=committed).value
    assert formula.startswith("=SUBTOTAL(109,")


def test_text_that_looks_like_a_formula_is_written_as_text(portfolio):
    _, out = export()
    wb = load_workbook(out)
    notes = next(c for c in wb["Tranches"]["N"] if c.value and "HYPERLINK" in c.value)
    assert notes.data_type == "s"
    assert notes.value == '=HYPERLINK("http://evil.example","click")'
    assert notes.quotePrefix
    title = next(c for c in wb["Projects"]["C"] if c.value == "+Digital ID")
    assert title.data_type == "s"
    assert title.quotePrefix
    with zipfile.ZipFile(out) as archive:
        sheet_xml = b"".join(
            archive.read(n) for n in archive.namelist() if n.startswith("xl/worksheets/")
        )
    assert b"<f>HYPERLINK" not in sheet_xml
    assert sheet_xml.count(b"<f>") == sheet_xml.count(b"<f>SUBTOTAL(109,")


def test_no_macros_and_native_charts(portfolio):
    _, out = export()
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        charts = [archive.read(n) for n in names if n.startswith("xl/charts/chart")]
        content_types = archive.read("[Content_Types].xml")
    assert not any("vba" in name.lower() for name in names)
    assert b"macroEnabled" not in content_types
    assert any(b"<c:barChart>" in c or b"barChart" in c for c in charts)
    assert any(b"pieChart" in c for c in charts)


def test_summary_money_by_instrument_and_leverage(portfolio):
    _, out = export()
    ws = load_workbook(out)["Summary"]
    values = rows_of(ws)
    lines = {row[0]: tuple(row[1:]) for row in values if row and row[0]}
    # Committed, disbursed, undisbursed, pipeline in USD: the EUR maintenance grant at 1.10.
    assert lines["Grant"][:4] == (165000, 40000, 125000, 30000)
    assert lines["Concessional loan"][:4] == (200000, 0, 200000, 0)
    assert lines["Results-based funding"][:4] == (80000, 0, 80000, 0)
    assert lines["Maintenance"][0] == 55000
    assert lines["Committed results-based tranches"][:3] == (80000, 32000, 0)
    assert lines["Loan money"][0] == pytest.approx(1.21)
    assert lines["Results-based money"][0] == pytest.approx(0.48)
    assert lines["Launched"][0] == 1 and lines["Implementing"][0] == 1
    assert lines["At risk"][0] == 1
    totals = [row for row in values if row and row[0] == "Total"]
    assert totals[0][1] == "=SUBTOTAL(109,B5:B7)"


def test_projects_sheet_one_row_per_project(portfolio):
    _, out = export()
    projects = {row["Project"]: row for row in by_header(load_workbook(out)["Projects"])}
    live = projects["KE-ID-01"]
    assert live["Grant committed"] == 155000
    assert live["Loan committed"] == 200000
    assert live["Results-based committed"] == 80000
    assert live["Maintenance secured until"] == datetime(2026, 4, 30)
    assert live["Current flag"] == "At risk"
    assert (live["Indicators"], live["Indicators on track"]) == (1, 0)
    assert live["Country"] == "Kenya"
    assert projects["SN-PAY-01"]["Maintenance secured until"] is None


def test_coverage_forecast_is_a_coloured_month_grid(portfolio):
    _, out = export()
    ws = load_workbook(out)["Maintenance coverage"]
    header = [c.value for c in ws[1]]
    assert header[9] == datetime(2026, 3, 1) and header[10] == datetime(2026, 4, 1)
    assert ws.cell(row=1, column=10).number_format == "mmm yyyy"
    row = dict(zip(header, ws[2], strict=True))
    assert row["Secured until"].value == datetime(2026, 4, 30)
    assert row["Gap start"].value == datetime(2026, 5, 1)
    assert row["Days to lapse"].value == 61
    assert row["Flag on as-of date"].value == "At risk"
    march, may = ws.cell(row=2, column=10), ws.cell(row=2, column=12)
    assert (march.value, march.fill.fgColor.rgb[-6:]) == ("Secured", "C6EFCE")
    assert (may.value, may.fill.fgColor.rgb[-6:]) == ("Gap", "FFC7CE")
    assert ws.max_column == 9 + 24


def test_results_and_loan_schedules(portfolio):
    _, out = export()
    wb = load_workbook(out)
    (result,) = by_header(wb["Results"])
    assert result["Indicator"] == "OUT-1"
    assert result["Target"] == 1000
    assert result["Latest verified actual"] == 400
    assert result["Achievement"] == pytest.approx(0.4)
    assert result["Status"] == "Off track"
    loan = Tranche.objects.get(funder_reference="B-1")
    schedule = loan.loan_terms.schedule()
    instalments = by_header(wb["Loan schedules"])
    assert len(instalments) == len(schedule)
    assert instalments[-1]["Closing balance"] == 0
    assert sum(Decimal(str(i["Principal"])) for i in instalments) == loan.amount


def test_filters_select_projects_and_tranches(portfolio):
    bank = FunderFactory._meta.model.objects.get(name="Development Bank")
    _, out = export(ExportFilters(funder=bank.pk, as_of=AS_OF))
    wb = load_workbook(out)
    assert {row["Funder"] for row in by_header(wb["Tranches"])} == {"Development Bank"}
    assert {row["Project"] for row in by_header(wb["Projects"])} == {"KE-ID-01", "SN-PAY-01"}
    assert ("Funder", "Development Bank") in [tuple(r[:2]) for r in rows_of(wb["Cover"]) if r]

    _, out = export(ExportFilters(country="SN", as_of=AS_OF))
    assert [row["Project"] for row in by_header(load_workbook(out)["Projects"])] == ["SN-PAY-01"]

    _, out = export(ExportFilters(instrument="loan", as_of=AS_OF))
    wb = load_workbook(out)
    assert {row["Instrument"] for row in by_header(wb["Tranches"])} == {"loan"}
    assert by_header(wb["Disbursements"]) == []


def test_cover_names_the_rates_and_missing_ones(portfolio):
    ProjectFactory(portfolio=portfolio, code="GB-01", launched=True)
    TrancheFactory(
        project=Project.objects.get(code="GB-01"), currency="GBP", funder_reference="G-1"
    )
    _, out = export()
    cover = {row[0]: row[1] for row in rows_of(load_workbook(out)["Cover"]) if row and row[0]}
    assert cover["As-of date"] == datetime(2026, 3, 1)
    assert cover["Reporting currency"] == "USD"
    assert "1 EUR = 1.1 USD on 2026-01-01 (ECB)" in cover["Exchange rates"]
    assert "GBP" in cover["Warning"]
    assert isinstance(cover["Generated (UTC)"], datetime)


def test_progress_reaches_one_hundred(portfolio):
    seen = []
    write_workbook(BytesIO(), ExportFilters(as_of=AS_OF), progress=seen.append)
    assert seen[0] == 0 and seen[-1] == 100
    assert seen == sorted(seen)


def test_an_empty_selection_still_gives_every_sheet(db):
    _, out = export(ExportFilters(country="FR", as_of=AS_OF))
    wb = load_workbook(out)
    assert wb.sheetnames == SHEETS
    assert wb["Tranches"].max_row == 1
    assert wb["Tranches"].auto_filter.ref == "A1:S1"


def test_reads_in_a_fixed_number_of_queries(portfolio, django_assert_max_num_queries):
    for n in range(30):
        project = ProjectFactory(portfolio=portfolio, code=f"X-{n}", launched=True)
        TrancheFactory(project=project, maintenance=True)
        IndicatorFactory(project=project)
    with django_assert_max_num_queries(25):
        export()


def test_a_sheet_past_excels_row_limit_goes_on_in_the_next(portfolio, monkeypatch):
    monkeypatch.setattr("portfolio.xlsx.MAX_DATA_ROWS", 4)
    _, out = export()
    wb = load_workbook(out)
    names = wb.sheetnames
    assert names.index("Tranches (2)") == names.index("Tranches") + 1
    assert wb["Tranches (2)"]["A1"].value == "Portfolio"
    assert len(by_header(wb["Tranches"])) == 4 and len(by_header(wb["Tranches (2)"])) == 2
    assert wb["Tranches (2)"].auto_filter.ref == "A1:S3"

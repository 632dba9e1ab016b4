"""The summary workbook: sheets, values (read back as a non-recalculating reader sees them),
formats, formulas with their values, charts, safety of text, and the Loans sheet."""

import zipfile
from datetime import date, datetime
from decimal import Decimal
from io import BytesIO

import pytest
from openpyxl import load_workbook

from evaluations.models import Indicator
from funding.models import Repayment, Tranche
from funding.selectors import loan_statuses
from projects.models import Project
from reporting.workbook import (
    SCHEDULES_SHEET,
    SHEETS,
    TRANCHE_COLUMNS,
    ExportFilters,
    write_workbook,
)
from tests.evaluations.factories import (
    IndicatorFactory,
    MeasurementFactory,
    StandardIndicatorFactory,
)
from tests.factories import DisbursementFactory, FunderFactory, ProjectFactory, TrancheFactory

from .workbook_helpers import AS_OF, build_portfolio, calamine, export, records, total_rows

pytestmark = pytest.mark.django_db


@pytest.fixture
def portfolio():
    return build_portfolio()


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
    # tranches, projects, the disbursement, the coverage row, the result, the loan
    assert rows == 6 + 2 + 1 + 1 + 1 + 1


def test_every_font_is_named_and_sized_in_one_theme(portfolio):
    _, out = export()
    wb = load_workbook(out)
    fonts = {(font.name, font.sz) for font in wb._fonts}
    assert {name for name, _ in fonts} == {"Arial"}
    assert all(size for _, size in fonts)
    assert wb["Tranches"]["A1"].font.name == "Arial"


def test_formulas_carry_their_values_for_readers_that_do_not_recalculate(portfolio):
    _, out = export()
    tranches = calamine(out)["Tranches"]
    (total,) = total_rows(tranches)
    assert total["label"] == "Total"
    # 100,000 USD + 50,000 EUR at 1.05 (its 2025 commitment date) + loan + rbf + B-3.
    assert total["Committed (reporting currency)"] == 100000 + 52500 + 200000 + 80000 + 10000
    assert total["Planned (reporting currency, as-of rate)"] == 30000
    opened = load_workbook(out, data_only=True)["Tranches"]
    assert opened.cell(opened.max_row, 19).value == 442500
    formulas = load_workbook(out)["Tranches"]
    last = formulas.max_row
    assert formulas.cell(last, 19).value == f"=SUBTOTAL(109,S2:S{last - 1})"


def test_a_data_column_holds_one_type(portfolio):
    """Total labels sit in a text column; codes that are numbers are numbers."""
    _, out = export()
    for name, rows in calamine(out).items():
        if name in ("Cover", "Summary"):
            continue
        header = rows[0]
        for n, title in enumerate(header):
            kinds = {type(row[n]).__name__ for row in rows[1:] if row[n] != ""}
            kinds = {"number" if kind in ("int", "float") else kind for kind in kinds}
            assert len(kinds) <= 1, (name, title, kinds)
    projects = records(calamine(out)["Projects"])
    assert {type(p["Sector"]) for p in projects} <= {int, float}


def test_tranches_sheet_converts_each_part_by_its_own_date(portfolio):
    _, out = export()
    ws = load_workbook(out)["Tranches"]
    assert [c.value for c in ws[1]] == [column.header for column in TRANCHE_COLUMNS]
    tranches = {row["Reference"]: row for row in records(calamine(out)["Tranches"])}
    maintenance = tranches["D-2"]
    assert maintenance["Currency"] == "EUR"
    assert maintenance["Amount"] == 50000
    assert maintenance["Commitment rate"] == pytest.approx(1.05)
    assert maintenance["Commitment rate date"] == date(2025, 1, 1)
    assert maintenance["Converted at"] == "Rate of the commitment date"
    assert maintenance["Committed (reporting currency)"] == 52500
    assert maintenance["Undisbursed (reporting currency, as-of rate)"] == 55000
    assert maintenance["Covers until"] == date(2026, 4, 30)
    launch = tranches["D-1"]
    assert launch["Disbursed (reporting currency, at payment dates)"] == 40000
    assert launch["Commitment rate date"] == ""  # already in the reporting currency
    assert launch["Converted at"] == "No conversion"
    planned = next(row for row in tranches.values() if row["Status"] == "planned")
    assert planned["Committed (reporting currency)"] == ""  # a plan is not a commitment
    assert planned["Planned (reporting currency, as-of rate)"] == 30000

    amount = next(c for c in ws["H"] if c.value == 50000)
    assert amount.number_format == "#,##0.00"
    assert ws.cell(row=amount.row, column=10).is_date
    assert ws.cell(row=amount.row, column=10).number_format == "d mmm yyyy"
    assert ws.cell(row=amount.row, column=19).number_format == "[$USD] #,##0.00"


def test_an_agreed_rate_converts_the_commitment(portfolio):
    Tranche.objects.filter(funder_reference="D-2").update(fixed_rate=Decimal("1.2"))
    _, out = export()
    tranches = {row["Reference"]: row for row in records(calamine(out)["Tranches"])}
    assert tranches["D-2"]["Committed (reporting currency)"] == 60000
    assert tranches["D-2"]["Commitment rate"] == pytest.approx(1.2)
    assert tranches["D-2"]["Converted at"] == "Rate agreed in the tranche"
    assert tranches["D-2"]["Undisbursed (reporting currency, as-of rate)"] == 55000


def test_totals_are_subtotal_formulas_outside_the_filter_range(portfolio):
    _, out = export()
    ws = load_workbook(out)["Tranches"]
    last = ws.max_row
    assert ws.auto_filter.ref == f"A1:W{last - 1}"
    assert ws.cell(row=last, column=18).value == "Total"  # "Converted at": a text column
    assert ws.cell(row=last, column=18).data_type == "s"
    assert ws.cell(row=last, column=1).value is None  # an import skips this row

    projects = load_workbook(out)["Projects"]
    header = [c.value for c in projects[1]]
    committed = header.index("Committed (commitment-date rates)") + 1
    formula = projects.cell(row=projects.max_row, column=committed).value
    assert formula.startswith("=SUBTOTAL(109,")
    assert projects.cell(row=projects.max_row, column=header.index("Status") + 1).value == "Total"


def test_text_that_looks_like_a_formula_or_markup_is_written_as_text(portfolio):
    Tranche.objects.filter(funder_reference="B-3").update(notes="<r><t>injected</t></r>")
    _, out = export()
    wb = load_workbook(out)
    notes = next(c for c in wb["Tranches"]["N"] if c.value and "HYPERLINK" in c.value)
    assert notes.data_type == "s"
    assert notes.value == '=HYPERLINK("http://evil.example","click")'
    assert notes.quotePrefix
    title = next(c for c in wb["Projects"]["C"] if c.value == "+Digital ID")
    assert title.data_type == "s"
    assert title.quotePrefix
    assert any(c.value == "<r><t>injected</t></r>" for c in wb["Tranches"]["N"])
    with zipfile.ZipFile(out) as archive:
        sheet_xml = b"".join(
            archive.read(n) for n in archive.namelist() if n.startswith("xl/worksheets/")
        )
    assert b"<f>HYPERLINK" not in sheet_xml
    assert b"<t>injected</t></r>" not in sheet_xml
    assert sheet_xml.count(b"<f>") == sheet_xml.count(b"<f>SUBTOTAL(109,") + sheet_xml.count(
        b"<f>SUMIF("
    )


def test_no_macros_and_native_charts_with_titles_and_labels(portfolio):
    _, out = export()
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        charts = [archive.read(n) for n in names if n.startswith("xl/charts/chart")]
        content_types = archive.read("[Content_Types].xml")
    assert not any("vba" in name.lower() for name in names)
    assert b"macroEnabled" not in content_types
    assert len(charts) == 3
    assert all(b"<c:title>" in chart for chart in charts)
    pie = next(c for c in charts if b"pieChart" in c)
    assert b'<c:showPercent val="1"/>' in pie
    bar = next(c for c in charts if b'<c:barDir val="bar"/>' in c)
    assert b'<c:orientation val="maxMin"/>' in bar  # bars in the table's order
    column = next(c for c in charts if b'<c:barDir val="col"/>' in c)
    assert column.count(b"<c:title>") == 3  # the chart's and both axes'


def test_summary_money_by_instrument_and_leverage(portfolio):
    _, out = export()
    values = calamine(out)["Summary"]
    lines = {row[0]: tuple(row[1:]) for row in values if row and row[0]}
    # Committed (commitment-date rates), disbursed, undisbursed (as-of), planned, revaluation.
    assert lines["Grant"][:5] == (162500, 40000, 125000, 30000, 0)
    assert lines["Concessional loan"][:5] == (200000, 0, 200000, 0, 0)
    assert lines["Results-based funding"][:5] == (80000, 0, 80000, 0, 0)
    assert lines["Maintenance"][0] == 52500
    assert lines["Committed results-based tranches"][:3] == (80000, 32000, 0)
    # One leverage for every door: (200,000 + 80,000) / 162,500, half-up to two places.
    assert lines["Loan and results-based money"][0] == pytest.approx(1.72)
    assert lines["Launched"][0] == 1 and lines["Implementing"][0] == 1
    assert lines["At risk"][0] == 1
    formulas = load_workbook(out)["Summary"]
    totals = [row for row in formulas.iter_rows(values_only=True) if row[0] == "Total"]
    assert totals[0][1].startswith("=SUBTOTAL(109,B")


def test_a_small_pie_slice_is_grouped_so_every_label_can_be_read(portfolio):
    capacity = Project.objects.get(code="SN-PAY-01")
    TrancheFactory(project=capacity, purpose="capacity", amount=Decimal("100.00"))
    TrancheFactory(project=capacity, purpose="other", amount=Decimal("200.00"))
    _, out = export()
    summary = calamine(out)["Summary"]
    slices = {row[7]: row[8] for row in summary if len(row) > 8 and row[7] != ""}
    # Committed money of every instrument by purpose; under 3% of it goes into one slice.
    assert slices == {
        "Launch": 100000 + 200000 + 80000 + 10000,
        "Maintenance": 52500,
        "Smaller: Capacity, Other": 300,
    }
    assert load_workbook(out)["Summary"].column_dimensions["H"].hidden


def test_projects_sheet_one_row_per_project(portfolio):
    _, out = export()
    projects = {row["Project"]: row for row in records(calamine(out)["Projects"])}
    live = projects["KE-ID-01"]
    assert live["Grant committed"] == 152500
    assert live["Loan committed"] == 200000
    assert live["Results-based committed"] == 80000
    assert live["Maintenance secured until"] == date(2026, 4, 30)
    assert live["Flags on as-of date"] == "At risk"
    assert (live["Indicators"], live["Indicators on track"]) == (1, 0)
    assert live["Country"] == "Kenya"
    assert projects["SN-PAY-01"]["Maintenance secured until"] == ""


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
    assert row["Flags on as-of date"].value == "At risk"
    march, may = ws.cell(row=2, column=10), ws.cell(row=2, column=12)
    assert (march.value, march.fill.fgColor.rgb[-6:]) == ("Secured", "C6EFCE")
    assert (may.value, may.fill.fgColor.rgb[-6:]) == ("Gap", "FFC7CE")
    assert ws.max_column == 9 + 24


def test_results_sheet(portfolio):
    _, out = export()
    (result,) = records(calamine(out)["Results"])
    assert result["Indicator"] == "OUT-1"
    assert result["Target"] == 1000
    assert result["Latest verified actual"] == 400
    assert result["Achievement"] == pytest.approx(0.4)
    assert result["Status"] == "Off track"


def test_loans_sheet_has_one_row_per_loan_with_its_terms_and_standing(portfolio):
    loan = Tranche.objects.get(funder_reference="B-1")
    schedule = loan.loan_terms.schedule()
    _, out = export()
    sheets = calamine(out)
    assert SCHEDULES_SHEET not in sheets
    (row,) = records(sheets["Loans"])
    assert row["Amount"] == 200000
    assert row["Currency"] == "USD"
    assert (row["Tenor (months)"], row["Grace (months)"], row["Every (months)"]) == (60, 12, 6)
    assert row["Method"] == "Annuity"
    assert row["Instalments"] == len(schedule)
    assert row["Last payment"] == schedule[-1].due_on
    assert row["Schedule on as-of date"] == "Not started"  # the first payment is in June
    assert row["Next payment on"] == date(2026, 6, 30)
    assert row["Next payment"] == pytest.approx(float(schedule[0].payment))
    assert row["Interest over the term"] == pytest.approx(
        float(sum(each.interest for each in schedule))
    )
    assert row["Principal due after as-of date"] == 200000


def test_full_schedules_only_when_asked(portfolio):
    loan = Tranche.objects.get(funder_reference="B-1")
    schedule = loan.loan_terms.schedule()
    rows, out = export(ExportFilters(as_of=AS_OF, with_schedules=True))
    wb = load_workbook(out)
    assert wb.sheetnames == [*SHEETS, SCHEDULES_SHEET]
    instalments = records(calamine(out)[SCHEDULES_SHEET])
    assert len(instalments) == len(schedule)
    assert rows == 12 + len(schedule)
    assert instalments[-1]["Closing balance"] == 0
    assert sum(Decimal(str(i["Principal"])) for i in instalments) == loan.amount


def test_filters_select_projects_and_tranches(portfolio):
    bank = FunderFactory._meta.model.objects.get(name="Development Bank")
    _, out = export(ExportFilters(funder=bank.pk, as_of=AS_OF))
    sheets = calamine(out)
    assert {row["Funder"] for row in records(sheets["Tranches"])} == {"Development Bank"}
    assert {row["Project"] for row in records(sheets["Projects"])} == {"KE-ID-01", "SN-PAY-01"}
    assert ["Funder", "Development Bank"] in [row[:2] for row in sheets["Cover"]]

    _, out = export(ExportFilters(country="SN", as_of=AS_OF))
    assert [row["Project"] for row in records(calamine(out)["Projects"])] == ["SN-PAY-01"]

    _, out = export(ExportFilters(instrument="loan", as_of=AS_OF))
    sheets = calamine(out)
    assert {row["Instrument"] for row in records(sheets["Tranches"])} == {"loan"}
    assert records(sheets["Disbursements"]) == []


def test_cover_names_the_rates_and_missing_ones(portfolio):
    ProjectFactory(portfolio=portfolio, code="GB-01", launched=True)
    TrancheFactory(
        project=Project.objects.get(code="GB-01"), currency="GBP", funder_reference="G-1"
    )
    _, out = export()
    cover = {row[0]: row[1] for row in calamine(out)["Cover"] if row and row[0]}
    assert cover["As-of date"] == date(2026, 3, 1)
    assert cover["Reporting currency"] == "USD"
    assert "1 EUR = 1.1 USD on 2026-01-01 (ECB)" in cover["As-of exchange rates"]
    assert "GBP" in cover["Warning"]
    assert isinstance(cover["Generated (UTC)"], datetime)
    tranches = {row["Reference"]: row for row in records(calamine(out)["Tranches"])}
    assert tranches["G-1"]["Committed (reporting currency)"] == ""
    assert tranches["G-1"]["Converted at"].startswith("No exchange rate")


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
    assert wb["Tranches"].auto_filter.ref == "A1:W1"


def test_reads_in_a_fixed_number_of_queries(portfolio, django_assert_max_num_queries):
    for n in range(30):
        project = ProjectFactory(portfolio=portfolio, code=f"X-{n}", launched=True)
        TrancheFactory(project=project, maintenance=True)
        IndicatorFactory(project=project)
    with django_assert_max_num_queries(26):  # one read a sheet or so, whatever the size
        export()


def test_a_sheet_past_excels_row_limit_goes_on_in_the_next(portfolio, monkeypatch):
    monkeypatch.setattr("portfolio.xlsx.MAX_DATA_ROWS", 4)
    _, out = export()
    wb = load_workbook(out)
    names = wb.sheetnames
    assert names.index("Tranches (2)") == names.index("Tranches") + 1
    assert names[-1] == "Loans" and names[:2] == ["Cover", "Summary"]
    assert wb["Tranches (2)"]["A1"].value == "Portfolio"
    sheets = calamine(out)
    assert len(records(sheets["Tranches"])) == 4 and len(records(sheets["Tranches (2)"])) == 2
    assert wb["Tranches (2)"].auto_filter.ref == "A1:W3"
    assert wb["Tranches (2)"].print_title_rows == "$1:$1"


def test_loans_sheet_shows_the_loan_status_and_schedules_mark_overdue_lines(portfolio):
    loan = Tranche.objects.get(funder_reference="B-1")
    DisbursementFactory(tranche=loan, amount=Decimal("100000.00"), disbursed_on=date(2025, 2, 1))
    Repayment.objects.create(tranche=loan, received_on=date(2026, 7, 1), interest=Decimal("500.00"))
    as_of = date(2026, 8, 1)
    status = loan_statuses([loan], as_of)[loan.pk]
    assert status.interest_in_arrears > 0  # the 30 Jun 2026 interest is not all paid

    _, out = export(ExportFilters(as_of=as_of, with_schedules=True))
    sheets = calamine(out)
    (row,) = records(sheets["Loans"])
    assert row["Principal disbursed"] == 100000
    assert row["Principal outstanding"] == 100000
    assert row["Interest received"] == 500
    assert row["Interest in arrears"] == pytest.approx(float(status.interest_in_arrears))
    assert row["Days overdue"] == 32
    assert row["In arrears (reporting currency, as-of rate)"] == pytest.approx(
        float(status.arrears)
    )
    states = [i["State on as-of date"] for i in records(sheets[SCHEDULES_SHEET])]
    assert states[:2] == ["Overdue", "Upcoming"]


def test_loans_sheet_shows_the_same_status_with_or_without_the_schedules(portfolio):
    # Without schedules the export leaves out the instalments still to come: the status
    # figures must not move, a prepayment beyond what fell due included.
    loan = Tranche.objects.get(funder_reference="B-1")
    DisbursementFactory(tranche=loan, amount=Decimal("100000.00"), disbursed_on=date(2025, 2, 1))
    Repayment.objects.create(
        tranche=loan,
        received_on=date(2026, 7, 1),
        principal=Decimal("30000.00"),
        interest=Decimal("500.00"),
    )
    as_of = date(2026, 8, 1)

    _, default = export(ExportFilters(as_of=as_of))
    _, with_schedules = export(ExportFilters(as_of=as_of, with_schedules=True))

    (row,) = records(calamine(default)["Loans"])
    assert row["Principal repaid"] == 30000
    assert row == records(calamine(with_schedules)["Loans"])[0]


def test_standard_indicators_sheet_adds_up_verified_results_across_projects(portfolio):
    standard = StandardIndicatorFactory(portfolio=portfolio, code="DPS-ID-1")
    Indicator.objects.filter(code="OUT-1").update(standard=standard)
    other = IndicatorFactory(
        project=ProjectFactory(portfolio=portfolio, code="P-9"), standard=standard
    )
    MeasurementFactory(indicator=other, verified=True, value=Decimal("100"))
    MeasurementFactory(
        indicator=other, verified=True, value=Decimal("60"), disaggregation="sex:female"
    )

    _, out = export()
    rows = records(calamine(out)["Standard indicators"])

    by = {(row["Group"], row["Project"]): row for row in rows}
    assert by[("Total", "Portfolio total")]["Value"] == 500  # 400 + 100
    assert by[("Total", "Portfolio total")]["Projects counted"] == 2
    assert by[("Sex: Female", "Portfolio total")]["Projects counted"] == 1
    assert by[("Total", f"P-9 {other.code}")]["Value"] == 100
    assert {row["Standard indicator"] for row in rows} == {"DPS-ID-1"}


def test_sustainability_sheet_has_cost_and_secured_money_per_line_per_year(portfolio):
    from projects.models import CostLine

    live = portfolio.projects.get(code="KE-ID-01")
    for category, cost in (("hosting", "36500.00"), ("cybersecurity", "=1+1")):
        CostLine.objects.create(
            project=live,
            category=category,
            annual_cost=Decimal("36500.00") if cost.startswith("=") else Decimal(cost),
            currency="USD",
            successor=cost if cost.startswith("=") else "",
        )
    _, out = export()

    rows = records(calamine(out)["Sustainability"])
    lines = {(row["Cost line"], row["Year"]) for row in rows if row["Project"] == "KE-ID-01"}
    assert ("Hosting and operations", live.launch_date.year) in lines
    assert ("Cybersecurity", live.launch_date.year) in lines
    first = next(r for r in rows if r["Cost line"] == "Cybersecurity")
    assert first["Taken over by"] == "=1+1"  # written as text, never a formula
    cost = first["Cost (reporting currency, as-of rate)"]
    secured = first["Secured (reporting currency, as-of rate)"]
    assert first["Short by"] == pytest.approx(cost - secured)
    assert 0 < secured < cost

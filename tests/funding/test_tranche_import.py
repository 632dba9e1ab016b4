"""Tranche import: every error by sheet, row and column; all rows saved or none; idempotent."""

import os
import threading
import zipfile
from datetime import date
from decimal import Decimal
from io import BytesIO

import openpyxl
import pytest
import xlsxwriter
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext
from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter

from funding import services, tranche_import
from funding.models import Tranche
from funding.tranche_import import IMPORT_COLUMNS, import_tranches, tranche_template
from portfolio import access, xlsx_upload
from portfolio.models import OutboxMessage, Role
from portfolio.sheet_import import CellError, ImportResult
from reporting.workbook import ExportFilters, write_workbook
from tests.factories import (
    DisbursementFactory,
    FunderFactory,
    MembershipFactory,
    PortfolioFactory,
    ProjectFactory,
    TrancheFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

HEADERS = [column.header for column in IMPORT_COLUMNS]
PAID_ON = date(2026, 2, 1)  # after the rows' commitment


@pytest.fixture
def donor():
    return FunderFactory(name="Donor")


@pytest.fixture
def officer(donor):
    return MembershipFactory(organisation=donor, role=Role.DONOR_OFFICER).user


@pytest.fixture
def project(donor):
    return ProjectFactory(portfolio=PortfolioFactory(name="Fund"), code="KE-01")


def row(**changes):
    values = {
        "Portfolio": "Fund",
        "Project": "KE-01",
        "Funder": "Donor",
        "Reference": "D-100",
        "Instrument": "grant",
        "Purpose": "launch",
        "Status": "committed",
        "Amount": 125000.5,
        "Currency": "EUR",
        "Committed on": date(2026, 1, 15),
        "Expected disbursement": None,
        "Covers from": None,
        "Covers until": None,
        "Notes": "Signed in Nairobi",
    }
    values.update({key.replace("_", " "): value for key, value in changes.items()})
    return [values[header] for header in HEADERS]


def workbook_file(rows, headers=HEADERS, name="tranches.xlsx", sheet="Tranches"):
    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    ws.append(headers)
    for each in rows:
        ws.append(each)
    out = BytesIO()
    wb.save(out)
    return SimpleUploadedFile(name, out.getvalue())


def excel_file(rows, headers=HEADERS, name="tranches.xlsx"):
    """The workbook as Excel writes it: strings shared, dates as styled serial numbers."""
    out = BytesIO()
    book = xlsxwriter.Workbook(out, {"default_date_format": "dd/mm/yyyy"})
    sheet = book.add_worksheet("Tranches")
    sheet.write_row(0, 0, headers)
    for n, values in enumerate(rows, start=1):
        for column, value in enumerate(values):
            if value is not None:
                sheet.write(n, column, value)
    book.close()
    return SimpleUploadedFile(name, out.getvalue())


def errors_of(result):
    return [(e.sheet, e.row, e.column, e.reason) for e in result.errors]


def test_template_has_the_importable_columns_and_choices(db):
    out = BytesIO()
    tranche_template(out)
    wb = load_workbook(out)
    ws = wb["Tranches"]
    assert [c.value for c in ws[1]] == HEADERS
    assert ws.freeze_panes == "A2"
    lists = {str(dv.sqref)[0]: dv.formula1 for dv in ws.data_validations.dataValidation}
    assert lists["E"] == '"grant,loan,results_based"'
    assert "Instructions" in wb.sheetnames


def test_valid_rows_are_created_with_history(project, officer):
    maintenance = row(
        Reference="D-101", Purpose="maintenance", Amount=50000, Currency="usd",
        Covers_from=date(2026, 1, 1), Covers_until=date(2026, 12, 31),
    )  # fmt: skip
    result = import_tranches(workbook_file([row(), maintenance]), officer)
    assert result.ok, result.errors
    assert (result.created, result.updated, result.unchanged) == (2, 0, 0)
    tranche = Tranche.objects.get(funder_reference="D-100")
    assert tranche.amount == Decimal("125000.50")
    assert tranche.currency == "EUR"
    assert tranche.committed_on == date(2026, 1, 15)
    assert tranche.history.get().history_user == officer
    assert Tranche.objects.get(funder_reference="D-101").currency == "USD"


def test_the_same_file_again_changes_nothing(project, officer):
    upload = workbook_file([row()])
    import_tranches(upload, officer)
    result = import_tranches(workbook_file([row()]), officer)
    assert (result.created, result.updated, result.unchanged) == (0, 0, 1)
    assert Tranche.history.count() == 1


def test_a_changed_row_updates_its_tranche_with_history(project, officer):
    import_tranches(workbook_file([row()]), officer)
    result = import_tranches(workbook_file([row(Amount=130000)]), officer)
    assert (result.created, result.updated, result.unchanged) == (0, 1, 0)
    tranche = Tranche.objects.get(funder_reference="D-100")
    assert tranche.amount == Decimal("130000.00")
    assert [h.amount for h in tranche.history.order_by("history_date")] == [
        Decimal("125000.50"),
        Decimal("130000.00"),
    ]


def test_a_row_changing_the_currency_of_a_paid_tranche_is_refused(project, officer):
    import_tranches(workbook_file([row()]), officer)
    tranche = Tranche.objects.get(funder_reference="D-100")
    DisbursementFactory(tranche=tranche, amount=Decimal("1000.00"), disbursed_on=PAID_ON)

    result = import_tranches(workbook_file([row(Currency="USD")]), officer)

    assert [(e.column, e.reason) for e in result.errors] == [
        (
            "I",
            "A tranche with disbursements keeps its currency (EUR); undo them first, or "
            "cancel the tranche and create a new one.",
        )
    ]
    assert Tranche.objects.get(pk=tranche.pk).currency == "EUR"


def test_a_payment_made_after_the_file_was_read_still_keeps_the_currency(project, officer):
    import_tranches(workbook_file([row()]), officer)
    read = Tranche.objects.get(funder_reference="D-100")
    read.currency = "USD"
    read.full_clean()  # as the import checked it, before the payment
    DisbursementFactory(tranche=read, amount=Decimal("1000.00"), disbursed_on=PAID_ON)

    with pytest.raises(ValidationError) as refused:
        services.save_tranches([read], officer)

    assert "keeps its currency (EUR)" in refused.value.message_dict["currency"][0]
    assert Tranche.objects.get(pk=read.pk).currency == "EUR"


@pytest.mark.parametrize(
    "changes, column, reason",
    [
        ({"Currency": "XYZ"}, "I", "'XYZ' is not an ISO 4217 currency code."),
        ({"Amount": -500}, "H", "The amount must be positive, not -500."),
        ({"Amount": "a lot"}, "H", "'a lot' is not a number."),
        ({"Amount": 10.005}, "H", "The amount has more than two decimal places."),
        ({"Project": "XX-99"}, "B", "There is no project 'XX-99' in the portfolio 'Fund'."),
        ({"Portfolio": "Other fund"}, "A", "There is no portfolio named 'Other fund'."),
        ({"Funder": "Nobody"}, "C", "There is no funding organisation named 'Nobody'."),
        ({"Instrument": "bond"}, "E", "'bond' is not one of: grant, loan, results_based."),
        ({"Committed_on": "last spring"}, "J", "'last spring' is not a date; enter an Excel date."),
        ({"Reference": None}, "D", "Give the funder's reference: rows are matched on funder and reference."),
        ({"Committed_on": None}, "J", "A committed tranche needs the date it was signed."),
        ({"Purpose": "maintenance"}, "L", "A maintenance tranche needs the first day of service it pays for."),
        ({"Amount": "=100*2"}, "H", "Formulas are not accepted; type the value."),
    ],
)  # fmt: skip
def test_each_bad_cell_is_named_and_nothing_is_saved(project, officer, changes, column, reason):
    good = row(Reference="D-1")
    bad = row(Reference="D-2", **changes) if "Reference" not in changes else row(**changes)
    result = import_tranches(workbook_file([good, bad]), officer)
    assert ("Tranches", 3, column, reason) in errors_of(result)
    assert result.created == 0
    assert not Tranche.objects.exists()


def test_every_error_is_listed_not_only_the_first(project, officer):
    rows = [row(Reference="D-1", Currency="XYZ"), row(Reference="D-2", Amount=-1, Project="NOPE")]
    result = import_tranches(workbook_file(rows), officer)
    assert [(e.row, e.column, e.header) for e in result.errors] == [
        (2, "I", "Currency"),
        (3, "B", "Project"),
        (3, "H", "Amount"),
    ]


def test_duplicate_rows_in_one_file(project, officer):
    result = import_tranches(workbook_file([row(), row(Amount=1)]), officer)
    assert ("Tranches", 3, "D", "Row 2 already has this funder and reference.") in errors_of(result)


def test_wrong_headers_are_listed(project, officer):
    headers = [h for h in HEADERS if h != "Currency"] + ["Colour"]
    result = import_tranches(workbook_file([], headers=headers), officer)
    assert errors_of(result) == [
        ("Tranches", 1, "N", "'Colour' is not a column of the tranche template."),
        ("Tranches", 1, "", "The column 'Currency' is missing."),
    ]


def test_a_workbook_without_the_sheet(project, officer):
    result = import_tranches(workbook_file([row()], sheet="Sheet1"), officer)
    assert errors_of(result) == [
        ("", None, "", "The workbook has no sheet named 'Tranches'; start from the template.")
    ]


@pytest.mark.parametrize(
    "upload, reason",
    [
        (SimpleUploadedFile("tranches.csv", b"Portfolio,Project\n"), "Upload an Excel workbook (.xlsx); other file types are not accepted."),
        (SimpleUploadedFile("tranches.xlsx", b"Portfolio,Project\n"), "This is not an .xlsx workbook (an .xlsx file is a zip archive)."),
    ],
)  # fmt: skip
def test_wrong_file_types_are_refused(officer, upload, reason):
    assert errors_of(import_tranches(upload, officer)) == [("", None, "", reason)]


def zipped(entries, name="bomb.xlsx"):
    out = BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for entry, data in entries.items():
            with archive.open(entry, "w") as member:
                for chunk in data:
                    member.write(chunk)
    return SimpleUploadedFile(name, out.getvalue())


def test_a_zip_bomb_is_refused_before_parsing(officer, monkeypatch):
    parsed = []
    monkeypatch.setattr(xlsx_upload, "read_sheet", lambda *a, **k: parsed.append(1))
    megabyte = b"\0" * (1024 * 1024)
    bomb = zipped(
        {"xl/workbook.xml": [b"<workbook/>"], "xl/worksheets/sheet1.xml": [megabyte] * 200}
    )
    assert bomb.size < 1024 * 1024
    (error,) = import_tranches(bomb, officer).errors
    assert "would unpack to 200 MB; the limit is 100 MB" in error.reason
    assert parsed == []


def test_an_entry_compressed_beyond_any_real_workbook_is_refused(officer):
    bomb = zipped(
        {"xl/workbook.xml": [b"<workbook/>"], "xl/sharedStrings.xml": [b"\0" * (5 << 20)]}
    )
    (error,) = import_tranches(bomb, officer).errors
    assert error.reason.startswith("xl/sharedStrings.xml is compressed more than 100 to 1")


def test_the_size_limit(officer, settings):
    settings.MAX_UPLOAD_BYTES = 1000
    upload = zipped({"xl/workbook.xml": [os.urandom(5000)]})
    (error,) = import_tranches(upload, officer).errors
    assert "the limit is" in error.reason


def test_macro_workbooks_are_refused(officer):
    upload = zipped({"xl/workbook.xml": [b"<workbook/>"], "xl/vbaProject.bin": [b"macro"]})
    (error,) = import_tranches(upload, officer).errors
    assert error.reason == "Workbooks with macros are not accepted; save it as .xlsx."


def test_xml_is_parsed_with_defusedxml(project, officer):
    assert openpyxl.DEFUSEDXML is True
    good = workbook_file([row()])
    source = zipfile.ZipFile(BytesIO(good.read()))
    out = BytesIO()
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
    )
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                declared = data.startswith(b"<?xml")
                data = laughs + (data.split(b"?>", 1)[1] if declared else data)
            target.writestr(item, data)
    upload = SimpleUploadedFile("tranches.xlsx", out.getvalue())
    result = import_tranches(upload, officer)
    assert errors_of(result) == [
        ("", None, "", "The workbook contains XML entity declarations, which are refused.")
    ]
    assert not Tranche.objects.exists()


def test_a_donor_officer_imports_only_its_own_funders_tranches(project, officer):
    FunderFactory(name="Other donor")
    result = import_tranches(workbook_file([row(Funder="Other donor")]), officer)
    assert errors_of(result) == [
        ("Tranches", 2, "C", "Donor officers change only their own organisation's tranches.")
    ]
    assert not Tranche.objects.exists()


def test_people_who_may_not_add_tranches_cannot_import(project):
    evaluator = MembershipFactory(role=Role.EVALUATOR).user
    with pytest.raises(PermissionDenied):
        import_tranches(workbook_file([row()]), evaluator)


def test_a_failure_while_saving_keeps_nothing(project, officer, monkeypatch):
    real = services.save_tranches

    def save_then_fail(tranches, user=None):
        real(tranches, user)
        raise PermissionDenied("The funder changed meanwhile.")

    monkeypatch.setattr(services, "save_tranches", save_then_fail)
    result = import_tranches(workbook_file([row(Reference="D-1"), row(Reference="D-2")]), officer)
    assert errors_of(result) == [("Tranches", None, "", "Not saved: The funder changed meanwhile.")]
    assert (result.created, result.updated) == (0, 0)
    assert not Tranche.objects.exists()


def test_export_then_import_changes_nothing(project, donor):
    manager = UserFactory(is_superuser=True)
    other = FunderFactory(name="Bank")
    TrancheFactory(project=project, funder=donor, funder_reference="D-1", notes="=1+1")
    TrancheFactory(
        project=project, funder=other, funder_reference="B-1", maintenance=True,
        currency="EUR", amount=Decimal("1234.56"), planned=True,
    )  # fmt: skip
    TrancheFactory(project=project, funder=other, funder_reference="B-2", status="cancelled")
    out = BytesIO()
    write_workbook(out, ExportFilters(as_of=date(2026, 3, 1)))
    history = Tranche.history.count()
    result = import_tranches(SimpleUploadedFile("export.xlsx", out.getvalue()), manager)
    assert result.ok, result.errors
    assert (result.created, result.updated, result.unchanged) == (0, 0, 3)
    assert Tranche.history.count() == history


def test_cell_error_reads_as_a_dict():
    error = CellError("Tranches", 4, "H", "The amount must be positive, not -1.", "Amount")
    assert error.as_dict() == {
        "sheet": "Tranches",
        "row": 4,
        "column": "H",
        "header": "Amount",
        "reason": "The amount must be positive, not -1.",
    }


# --- every error of the file in one answer ----------------------------------------------------


def test_formula_cells_cell_errors_and_row_errors_come_in_one_answer(project, officer):
    # The three rounds: first the formula, then six cell errors, then row errors.
    rows = [
        row(Reference="D-1", Amount="=100*2"),
        row(Reference="D-2", Currency="XYZ", Instrument="bond", Committed_on=None),
        row(Reference="D-3", Purpose="maintenance"),
        row(
            Reference="D-4",
            Funder="Nobody",
            Covers_from=date(2026, 2, 1),
            Covers_until=date(2026, 1, 1),
        ),
    ]
    result = import_tranches(workbook_file(rows), officer)

    assert [(e.row, e.column, e.reason) for e in result.errors] == [
        (2, "H", "Formulas are not accepted; type the value."),
        (3, "E", "'bond' is not one of: grant, loan, results_based."),
        (3, "I", "'XYZ' is not an ISO 4217 currency code."),
        (3, "J", "A committed tranche needs the date it was signed."),
        (4, "L", "A maintenance tranche needs the first day of service it pays for."),
        (4, "M", "A maintenance tranche needs the last day of service it pays for."),
        (5, "C", "There is no funding organisation named 'Nobody'."),
        (5, "M", "The cover period cannot end before it starts."),
    ]
    assert not Tranche.objects.exists()


def test_an_unknown_column_and_the_rows_errors_come_in_one_answer(project, officer):
    headers = [*HEADERS, "Colour"]
    rows = [[*row(Reference="D-1", Currency="XYZ"), "blue"]]
    result = import_tranches(workbook_file(rows, headers=headers), officer)

    assert errors_of(result) == [
        ("Tranches", 1, "O", "'Colour' is not a column of the tranche template."),
        ("Tranches", 2, "I", "'XYZ' is not an ISO 4217 currency code."),
    ]
    assert not Tranche.objects.exists()


def test_another_funders_row_is_refused_beside_its_other_errors(project, officer):
    FunderFactory(name="Other donor")
    result = import_tranches(workbook_file([row(Funder="Other donor", Amount=-5)]), officer)

    assert errors_of(result) == [
        ("Tranches", 2, "C", "Donor officers change only their own organisation's tranches."),
        ("Tranches", 2, "H", "The amount must be positive, not -5."),
    ]


def test_a_cell_refused_while_parsing_is_not_judged_again_by_the_model(project, officer):
    result = import_tranches(workbook_file([row(Committed_on="last spring")]), officer)

    assert errors_of(result) == [
        ("Tranches", 2, "J", "'last spring' is not a date; enter an Excel date.")
    ]


def test_the_import_costs_no_query_a_row(project, officer):
    def queries(rows, **changes):
        upload = workbook_file([row(Reference=f"D-{n}", **changes) for n in range(rows)])
        with CaptureQueriesContext(connection) as captured:
            result = import_tranches(upload, officer)
        assert not result.errors, result.errors
        return len(captured), result

    # Reading, lookups, model rules, uniqueness, the lock and the saves with their history
    # cost the same few queries for 5 rows as for 40: nothing is checked or saved row by row.
    access.roles(officer)  # read once a request, and kept on the user
    few, _ = queries(5)
    Tranche.objects.all().delete()
    many, created = queries(40)
    assert created.created == 40
    assert many == few
    changed_many, changed = queries(40, Amount=200000)
    assert changed.updated == 40
    assert changed_many <= many + 3  # the bulk UPDATE and the lock of the stored rows


def test_an_updated_tranche_keeps_its_disbursements_and_history(project, officer):
    import_tranches(workbook_file([row()]), officer)
    tranche = Tranche.objects.get()
    services.disburse(tranche, Decimal("1000.00"), date(2026, 2, 1))

    result = import_tranches(workbook_file([row(Notes="Amended")]), officer)

    assert result.updated == 1
    tranche.refresh_from_db()
    assert (tranche.notes, tranche.disbursed_amount) == ("Amended", Decimal("1000.00"))
    assert [h.history_type for h in tranche.history.order_by("history_id")] == ["+", "~"]
    assert tranche.history.latest("history_id").history_user == officer


def test_an_amount_below_what_was_paid_is_refused(project, officer):
    import_tranches(workbook_file([row()]), officer)
    services.disburse(Tranche.objects.get(), Decimal("100000.00"), date(2026, 2, 1))

    result = import_tranches(workbook_file([row(Amount=5000)]), officer)

    assert errors_of(result) == [
        ("Tranches", 2, "H", "The amount cannot fall below the 100,000.00 already disbursed.")
    ]


# --- bounded work: the sheet's real extent ---------------------------------------------------


def sheet_xml(rows_xml, dimension="A1:N2"):
    header = "".join(
        f'<c r="{get_column_letter(n)}1" t="inlineStr"><is><t>{h}</t></is></c>'
        for n, h in enumerate(HEADERS, 1)
    )
    return (
        (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            f'<dimension ref="{dimension}"/><sheetData><row r="1">{header}</row>'
        ).encode()
        + rows_xml
        + b"</sheetData></worksheet>"
    )


def with_part(upload, part, data, compress=zipfile.ZIP_DEFLATED):
    """The upload with one part of its zip replaced."""
    source = zipfile.ZipFile(BytesIO(upload.read()))
    out = BytesIO()
    with zipfile.ZipFile(out, "w", compress) as target:
        for item in source.infolist():
            target.writestr(item.filename, data if item.filename == part else source.read(item))
    return SimpleUploadedFile("tranches.xlsx", out.getvalue())


def hostile(rows_xml, dimension="A1:N2"):
    return with_part(workbook_file([]), "xl/worksheets/sheet1.xml", sheet_xml(rows_xml, dimension))


@pytest.fixture
def never_parsed(monkeypatch):
    """Fails the test if any row reaches the row form: the file was refused while read."""
    monkeypatch.setattr(
        tranche_import, "parse_row", lambda *a, **k: pytest.fail("a row was parsed")
    )


def test_a_single_row_at_the_last_row_of_excel_is_refused_unread(officer, never_parsed):
    upload = hostile(b'<row r="1048576"><c r="A1048576" t="inlineStr"><is><t>x</t></is></c></row>')

    assert errors_of(import_tranches(upload, officer)) == [
        (
            "",
            None,
            "",
            "The Tranches sheet holds data in row 1,048,576; an import reads at most 20,002 rows.",
        )
    ]


def test_rows_of_data_in_an_unheaded_column_count_whatever_the_dimension_says(
    officer, never_parsed
):
    rows = b"".join(
        b'<row r="%d"><c r="T%d"><v>%d</v></c></row>' % (n, n, n) for n in range(2, 30_002)
    )
    upload = hostile(rows, dimension="A1:XFD1048576")

    assert errors_of(import_tranches(upload, officer)) == [
        (
            "",
            None,
            "",
            "The Tranches sheet holds data in row 20,003; an import reads at most 20,002 rows.",
        )
    ]


def test_a_cell_in_the_last_column_of_excel_is_refused_at_once(officer, never_parsed):
    rows = b"".join(
        b'<row r="%d"><c r="XFD%d"><v>%d</v></c></row>' % (n, n, n) for n in range(2, 50_002)
    )
    upload = hostile(rows, dimension="A1:XFD50001")

    assert errors_of(import_tranches(upload, officer)) == [
        (
            "",
            None,
            "",
            "The Tranches sheet holds data in column XFD; an import reads at most 50 columns (up to AX).",
        )
    ]


def test_blank_rows_count_as_rows(project, officer, never_parsed):
    # 20,001 blank rows between the header and one row of data: the data is in row 20,003.
    cells = "".join(
        f'<c r="{get_column_letter(n)}20003" t="inlineStr"><is><t>{v}</t></is></c>'
        for n, v in enumerate(row(), 1)
        if isinstance(v, str)
    )
    upload = hostile(f'<row r="20003">{cells}</row>'.encode())

    (error,) = import_tranches(upload, officer).errors
    assert error.reason.startswith("The Tranches sheet holds data in row 20,003")


def test_a_declared_dimension_far_beyond_the_data_costs_nothing(project, officer):
    cells = "".join(
        f'<c r="{get_column_letter(n)}2" t="inlineStr"><is><t>{v}</t></is></c>'
        for n, v in enumerate(row(Amount="125000.50", Committed_on="2026-01-15"), 1)
        if v is not None
    )
    # Empty styled cells far out do not hold data; openpyxl is asked for A1:N2 only.
    padding = '<c r="XFD2" s="1"/>'
    upload = hostile(
        f'<row r="2">{cells}{padding}</row><row r="1048576"/>'.encode(), "A1:XFD1048576"
    )

    result = import_tranches(upload, officer)

    assert result.ok, result.errors
    assert Tranche.objects.get().amount == Decimal("125000.50")


def test_at_most_twenty_thousand_tranches(officer, monkeypatch):
    monkeypatch.setattr(tranche_import, "MAX_ROWS", 3)
    monkeypatch.setattr(tranche_import, "MAX_SHEET_ROWS", 100)
    result = import_tranches(workbook_file([row(Reference=f"D-{n}") for n in range(4)]), officer)

    assert errors_of(result) == [("", None, "", "At most 3 tranches can be imported at once.")]


# --- no part of the upload may use XML entities -----------------------------------------------

LAUGHS = (
    b'<!DOCTYPE lolz [<!ENTITY lol "lol">'
    b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
)
EXTERNAL = b'<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'


def using_entity(data, declaration, entity, where):
    """The part's XML with a document type declaring `entity`, and the entity used at
    `where` (the first occurrence of that text is replaced by a reference to it)."""
    prolog, _sep, body = data.partition(b"?>") if data.startswith(b"<?xml") else (b"", b"", data)
    declared = prolog + _sep
    assert where in body, (where, body[:300])
    return declared + declaration + body.replace(where, b"&" + entity + b";", 1)


@pytest.mark.parametrize(
    "part, where, declaration, entity",
    [
        ("[Content_Types].xml", b"application/xml", LAUGHS, b"lol3"),
        ("[Content_Types].xml", b"application/xml", EXTERNAL, b"xxe"),
        ("xl/workbook.xml", b"Tranches", LAUGHS, b"lol3"),
        ("xl/_rels/workbook.xml.rels", b"worksheets/sheet1.xml", EXTERNAL, b"xxe"),
        ("xl/styles.xml", b"Calibri", LAUGHS, b"lol3"),
        ("xl/sharedStrings.xml", b"Signed in Nairobi", LAUGHS, b"lol3"),
        ("xl/sharedStrings.xml", b"Signed in Nairobi", EXTERNAL, b"xxe"),
        ("xl/worksheets/sheet1.xml", b"125000.5", LAUGHS, b"lol3"),
        ("xl/worksheets/sheet1.xml", b"125000.5", EXTERNAL, b"xxe"),
    ],
)
def test_every_part_of_the_workbook_refuses_entities(
    project, officer, part, where, declaration, entity
):
    good = excel_file([row()])
    original = zipfile.ZipFile(BytesIO(good.read())).read(part)
    good.seek(0)
    upload = with_part(good, part, using_entity(original, declaration, entity, where))

    result = import_tranches(upload, officer)

    assert errors_of(result) == [
        ("", None, "", "The workbook contains XML entity declarations, which are refused.")
    ]
    assert not Tranche.objects.exists()


def test_the_good_workbook_of_those_payloads_imports(project, officer):
    result = import_tranches(excel_file([row()]), officer)

    assert result.ok, result.errors
    tranche = Tranche.objects.get()
    assert (tranche.notes, tranche.committed_on) == ("Signed in Nairobi", date(2026, 1, 15))


def test_a_document_type_in_utf16_is_refused_too(project, officer):
    good = workbook_file([row()])
    original = zipfile.ZipFile(BytesIO(good.read())).read("xl/workbook.xml")
    good.seek(0)
    payload = using_entity(original, LAUGHS, b"lol3", b"Tranches").replace(
        b'encoding="UTF-8"', b'encoding="UTF-16"'
    )
    upload = with_part(good, "xl/workbook.xml", payload.decode().encode("utf-16"))

    assert "entity declarations" in import_tranches(upload, officer).errors[0].reason


# --- parallel identical imports ---------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_parallel_identical_imports_answer_unchanged(postgres):
    donor = FunderFactory(name="Donor")
    officer = MembershipFactory(organisation=donor, role=Role.DONOR_OFFICER).user
    ProjectFactory(portfolio=PortfolioFactory(name="Fund"), code="KE-01")
    content = workbook_file([row(Reference=f"D-{n}") for n in range(40)]).read()
    contenders = 6
    barrier = threading.Barrier(contenders)
    outcomes = []

    def upload():
        try:
            barrier.wait(timeout=10)
            outcomes.append(import_tranches(SimpleUploadedFile("t.xlsx", content), officer))
        except Exception as error:  # noqa: BLE001 - the outcome is what the test inspects
            outcomes.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=upload) for _ in range(contenders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert all(isinstance(o, ImportResult) for o in outcomes), outcomes
    assert sorted((o.created, o.unchanged, len(o.errors)) for o in outcomes) == [(0, 40, 0)] * (
        contenders - 1
    ) + [(40, 0, 0)]
    assert Tranche.objects.count() == 40


def test_a_refused_file_queues_nothing(project, officer):
    queued = OutboxMessage.objects.count()  # the project's own, on its creation

    import_tranches(workbook_file([row(Currency="XYZ")]), officer)

    assert OutboxMessage.objects.count() == queued


def test_an_insert_lost_twice_to_a_parallel_upload_is_said_in_words(project, officer, monkeypatch):
    # Should another writer insert the same tranche on both attempts, the answer is the
    # constraint's sentence, never the database's "duplicate key value violates ...".
    def lost(*args):
        raise IntegrityError(
            'duplicate key value violates unique constraint "tranche_funder_reference_unique"\n'
            "DETAIL:  Key (funder_id, funder_reference)=(1, D-100) already exists."
        )

    monkeypatch.setattr(tranche_import, "_check_and_save", lost)

    result = import_tranches(workbook_file([row()]), officer)

    assert [e.reason for e in result.errors] == [
        "Not saved: This funder already has a tranche with this reference."
    ]
    assert not Tranche.objects.exists()

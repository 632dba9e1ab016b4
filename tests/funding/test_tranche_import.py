"""Tranche import: every error by sheet, row and column; all rows saved or none; idempotent."""

import os
import zipfile
from datetime import date
from decimal import Decimal
from io import BytesIO

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook, load_workbook

from funding import services
from funding.models import Tranche
from funding.tranche_import import IMPORT_COLUMNS, CellError, import_tranches, tranche_template
from portfolio import xlsx_upload
from portfolio.models import Role
from reporting.workbook import ExportFilters, write_workbook
from tests.factories import (
    FunderFactory,
    MembershipFactory,
    PortfolioFactory,
    ProjectFactory,
    TrancheFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

HEADERS = [column.header for column in IMPORT_COLUMNS]


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
    monkeypatch.setattr(xlsx_upload, "load_workbook", lambda *a, **k: parsed.append(1))
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
    real = services.save_tranche
    calls = []

    def fail_on_second(tranche, user=None, **kwargs):
        calls.append(tranche)
        if len(calls) == 2:
            raise PermissionDenied("The funder changed meanwhile.")
        return real(tranche, user, **kwargs)

    monkeypatch.setattr(services, "save_tranche", fail_on_second)
    result = import_tranches(workbook_file([row(Reference="D-1"), row(Reference="D-2")]), officer)
    assert errors_of(result) == [("Tranches", 3, "", "Not saved: The funder changed meanwhile.")]
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

"""Tranche import from the Tranches sheet of a workbook: every row is checked, then all are saved or none.

Rows are matched on funder and reference, so uploading the same file twice changes nothing;
a changed row updates its tranche through `services.save_tranche`, which keeps its history.
The upload is distrusted before it is parsed: its size, its type and what its zip would
unpack to are checked first, and openpyxl reads its XML with defusedxml (installed), which
refuses entity declarations. Formulas are refused: the import takes values, not recipes.
"""

import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from defusedxml import DefusedXmlException
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import IntegrityError
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from portfolio import access
from portfolio.codelists import currencies
from portfolio.models import Organisation, Portfolio
from portfolio.xlsx import DATE, MONEY_FORMAT, RATE, REPORTING, Book, Column, Sheet, key
from projects.models import Project

from . import services
from .models import Instrument, Purpose, Tranche, TrancheStatus
from .signals import rescans_batched

SHEET = "Tranches"
# The Tranches sheet of the workbook, declared once for the export and the import: the first
# columns are what a donor officer fills in; the rest are worked out by the export and ignored
# by the import.
TRANCHE_COLUMNS = [
    Column("Portfolio", key("portfolio"), width=24, field="portfolio"),
    Column("Project", key("project"), width=14, field="project"),
    Column("Funder", key("funder__name"), width=24, field="funder"),
    Column("Reference", key("funder_reference"), width=16, field="funder_reference"),
    Column("Instrument", key("instrument"), width=14, field="instrument"),
    Column("Purpose", key("purpose"), width=13, field="purpose"),
    Column("Status", key("status"), width=11, field="status"),
    Column("Amount", key("amount"), MONEY_FORMAT, width=16, field="amount"),
    Column("Currency", key("currency"), width=9, field="currency"),
    Column("Committed on", key("committed_on"), DATE, width=12, field="committed_on"),
    Column(
        "Expected disbursement",
        key("expected_disbursement_on"),
        DATE,
        width=13,
        field="expected_disbursement_on",
    ),
    Column("Covers from", key("covers_from"), DATE, width=12, field="covers_from"),
    Column("Covers until", key("covers_until"), DATE, width=12, field="covers_until"),
    Column("Notes", key("notes"), width=30, field="notes"),
    # Worked out by the export as of its date, each figure in one status (never mixed):
    Column("Disbursed (tranche currency)", key("disbursed_own"), MONEY_FORMAT, width=15),
    Column("Commitment rate", key("commitment_rate"), RATE, width=11),
    Column("Commitment rate date", key("commitment_rate_date"), DATE, width=12),
    Column("Converted at", key("basis"), width=24),
    Column("Committed (reporting currency)", key("committed_rc"), REPORTING, width=17, total=True),
    Column(
        "Disbursed (reporting currency, at payment dates)",
        key("disbursed_rc"),
        REPORTING,
        width=17,
        total=True,
    ),
    Column(
        "Undisbursed (reporting currency, as-of rate)",
        key("undisbursed_rc"),
        REPORTING,
        width=17,
        total=True,
    ),
    Column(
        "Planned (reporting currency, as-of rate)",
        key("pipeline_rc"),
        REPORTING,
        width=17,
        total=True,
    ),
    Column(
        "FX revaluation of disbursed (to as-of rate)",
        key("revaluation_rc"),
        REPORTING,
        width=17,
        total=True,
    ),
]
IMPORT_COLUMNS = [column for column in TRANCHE_COLUMNS if column.field]
EXPORT_ONLY = {column.header for column in TRANCHE_COLUMNS if not column.field}
HEADERS = {column.header: column.field for column in IMPORT_COLUMNS}
FIELD_HEADERS = {column.field: column.header for column in IMPORT_COLUMNS}
# The tranche's own fields an import writes (portfolio and project name the project).
WRITTEN = [
    "project_id",
    "instrument",
    "purpose",
    "status",
    "amount",
    "currency",
    "committed_on",
    "expected_disbursement_on",
    "covers_from",
    "covers_until",
    "notes",
]
MAX_ROWS = 20_000
# Workbook XML compresses about tenfold; a zip entry that claims far more is a bomb.
MAX_COMPRESSION_RATIO = 100
RATIO_CHECKED_ABOVE = 1024 * 1024
CENT = Decimal("0.01")
TEMPLATE_ROWS = 2000


@dataclass(frozen=True)
class CellError:
    sheet: str
    row: int | None
    column: str  # column letter; blank when the error is about the file or a whole row
    reason: str
    header: str = ""

    def as_dict(self):
        return {
            "sheet": self.sheet,
            "row": self.row,
            "column": self.column,
            "header": self.header,
            "reason": self.reason,
        }


@dataclass
class ImportResult:
    errors: list[CellError] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def ok(self):
        return not self.errors

    def as_dict(self):
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": [error.as_dict() for error in self.errors],
        }


class Refused(Exception):
    """The file as a whole cannot be read."""


def tranche_template(out):
    """The workbook a donor officer fills in: the Tranches sheet's importable columns."""
    book = Book(out, "USD", footer="Tranche import template")
    sheet = Sheet(book, SHEET, IMPORT_COLUMNS)
    for values, name in (
        (Instrument.values, "instrument"),
        (Purpose.values, "purpose"),
        (TrancheStatus.values, "status"),
    ):
        sheet.choices(
            FIELD_HEADERS[name], values, TEMPLATE_ROWS - 1, f"Choose one of: {', '.join(values)}."
        )
    sheet.close()
    book.notes_sheet(
        "Instructions",
        [
            "Fill in one row per tranche on the Tranches sheet; keep the header row as it is.",
            "Rows are matched on Funder and Reference: a row that matches a tranche updates it, "
            "any other row creates one. Uploading the same file again changes nothing.",
            "Portfolio and Funder are names as shown in the tracker; Project is the project code.",
            "Instrument: "
            + ", ".join(Instrument.values)
            + ". Purpose: "
            + ", ".join(Purpose.values)
            + ". Status: "
            + ", ".join(TrancheStatus.values)
            + ".",
            "Amount is a positive number with at most two decimals; Currency an ISO 4217 code.",
            "Dates are Excel dates. Maintenance tranches need Covers from and Covers until; "
            "committed tranches need Committed on.",
            "Type values, not formulas: formulas are refused. Either every row is saved or none is.",
        ],
    )
    book.save()


def import_tranches(fileobj, user) -> ImportResult:
    """Check every row of the upload, then save all of them in one transaction, or none."""
    if not access.may(user, access.ADD, Tranche):
        raise PermissionDenied(access.reason(user, access.ADD, Tranche))
    result = ImportResult()
    try:
        check_upload(fileobj)
        rows = read_rows(fileobj, result)
    except Refused as refusal:
        result.errors.append(CellError("", None, "", str(refusal)))
        return result
    if result.errors:
        return result
    planned = plan(rows, user, result)
    if result.errors:
        result.errors.sort(key=lambda e: (e.row or 0, e.column))
        return result
    save(planned, user, result)
    return result


# --- Before parsing -----------------------------------------------------------------------


def check_upload(fileobj):
    name = getattr(fileobj, "name", "") or ""
    if name and not str(name).lower().endswith(".xlsx"):
        raise Refused("Upload an Excel workbook (.xlsx); other file types are not accepted.")
    size = getattr(fileobj, "size", None)
    if size is None:
        fileobj.seek(0, 2)
        size = fileobj.tell()
    fileobj.seek(0)
    if size > settings.MAX_UPLOAD_BYTES:
        raise Refused(
            f"The file is {size / 1024 / 1024:.1f} MB; the limit is "
            f"{settings.MAX_UPLOAD_BYTES / 1024 / 1024:.0f} MB."
        )
    if not zipfile.is_zipfile(fileobj):
        raise Refused("This is not an .xlsx workbook (an .xlsx file is a zip archive).")
    fileobj.seek(0)
    try:
        with zipfile.ZipFile(fileobj) as archive:
            entries = archive.infolist()
    except zipfile.BadZipFile as error:
        raise Refused(f"The workbook is damaged: {error}.") from error
    names = {entry.filename for entry in entries}
    if "xl/workbook.xml" not in names:
        raise Refused("This zip archive is not an Excel workbook (.xlsx).")
    if any(n.lower().endswith("vbaproject.bin") for n in names):
        raise Refused("Workbooks with macros are not accepted; save it as .xlsx.")
    # zipfile never inflates an entry beyond the size its header states, so these sizes bound
    # what parsing can unpack.
    unpacked = sum(entry.file_size for entry in entries)
    if unpacked > settings.MAX_UPLOAD_UNCOMPRESSED_BYTES:
        raise Refused(
            f"The workbook would unpack to {unpacked / 1024 / 1024:.0f} MB; the limit is "
            f"{settings.MAX_UPLOAD_UNCOMPRESSED_BYTES / 1024 / 1024:.0f} MB."
        )
    for entry in entries:
        if entry.file_size > RATIO_CHECKED_ABOVE and entry.file_size > MAX_COMPRESSION_RATIO * max(
            entry.compress_size, 1
        ):
            raise Refused(
                f"{entry.filename} is compressed more than {MAX_COMPRESSION_RATIO} to 1, "
                "which no real workbook is; the file is refused."
            )
    fileobj.seek(0)


# --- Reading ------------------------------------------------------------------------------


def read_rows(fileobj, result):
    """[(row number, {field: (value, letter)})] of the non-blank rows, after the header."""
    try:
        wb = load_workbook(fileobj, read_only=True, data_only=False, keep_links=False)
    except Exception as error:  # openpyxl raises many kinds for a damaged file
        raise _refusal(error) from error
    try:
        if SHEET not in wb.sheetnames:
            raise Refused(f"The workbook has no sheet named {SHEET!r}; start from the template.")
        try:
            return _rows(wb[SHEET], result)
        except (DefusedXmlException, SyntaxError) as error:  # the sheet's XML, read lazily
            raise _refusal(error) from error
    finally:
        wb.close()


def _refusal(error) -> Refused:
    # openpyxl wraps the parser's error in its own; defusedxml's refusal is further down.
    cause = error
    while cause is not None:
        if isinstance(cause, DefusedXmlException):
            return Refused("The workbook contains XML entity declarations, which are refused.")
        cause = cause.__cause__ or cause.__context__
    return Refused(f"The workbook cannot be read: {error}")


def _rows(ws, result):
    lines = ws.iter_rows()
    header = next(lines, ())
    columns = {}
    for cell in header:
        if cell.value is None:
            continue
        letter = get_column_letter(cell.column)
        title = str(cell.value).strip()
        if title in HEADERS:
            if HEADERS[title] in columns:
                result.errors.append(
                    CellError(SHEET, 1, letter, f"The column {title!r} appears twice.", title)
                )
            columns[HEADERS[title]] = cell.column - 1
        elif title not in EXPORT_ONLY:
            result.errors.append(
                CellError(
                    SHEET, 1, letter, f"{title!r} is not a column of the tranche template.", title
                )
            )
    for column in IMPORT_COLUMNS:
        if column.field not in columns:
            result.errors.append(
                CellError(SHEET, 1, "", f"The column {column.header!r} is missing.", column.header)
            )
    if result.errors:
        return []
    rows = []
    for number, cells in enumerate(lines, start=2):
        values = {}
        for name, index in columns.items():
            cell = cells[index] if index < len(cells) else None
            value = getattr(cell, "value", None)
            letter = get_column_letter(index + 1)
            if isinstance(value, str):
                value = value.strip() or None
            if value is not None and getattr(cell, "data_type", None) == "f":
                result.errors.append(
                    CellError(
                        SHEET,
                        number,
                        letter,
                        "Formulas are not accepted; type the value.",
                        FIELD_HEADERS[name],
                    )
                )
                value = None
            values[name] = (value, letter)
        if all(value is None for value, _ in values.values()):
            continue  # a blank row, or the export's totals row
        rows.append((number, values))
        if len(rows) > MAX_ROWS:
            raise Refused(f"At most {MAX_ROWS:,} tranches can be imported at once.")
    return rows


# --- Checking -----------------------------------------------------------------------------


class RowErrors:
    def __init__(self, result, number, values):
        self.result, self.number, self.values = result, number, values

    def add(self, name, reason):
        letter = self.values[name][1] if name in self.values else ""
        self.result.errors.append(
            CellError(SHEET, self.number, letter, reason, FIELD_HEADERS.get(name, ""))
        )


def _choice(value, choices):
    """A code, or its label, in any case."""
    text = str(value).strip().lower()
    for code, label in choices:
        if text in (code.lower(), str(label).lower()):
            return code
    raise ValueError(f"{value!r} is not one of: {', '.join(code for code, _ in choices)}.")


def _amount(value):
    if isinstance(value, bool):
        raise ValueError("The amount must be a number.")
    try:
        # repr() of a float is its shortest exact decimal form: 1234.56, never 1234.5599999.
        amount = Decimal(repr(value) if isinstance(value, float) else str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number.") from None
    if not amount.is_finite():
        raise ValueError("The amount must be a number.")
    if amount <= 0:
        raise ValueError(f"The amount must be positive, not {amount:,}.")
    if amount != amount.quantize(CENT):
        raise ValueError("The amount has more than two decimal places.")
    if amount >= Decimal("1e16"):
        raise ValueError("The amount is too large.")
    return amount.quantize(CENT)


def _date(value):
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"{value!r} is not a date; enter an Excel date.")


def _text(value, limit):
    text = "" if value is None else str(value)
    if len(text) > limit:
        raise ValueError(f"At most {limit} characters.")
    return text


def plan(rows, user, result):
    """Parse and validate every row; return [(row number, tranche, is new)] to save."""
    portfolios = dict(Portfolio.objects.values_list("name", "id"))
    funder_names = {str(v[0]) for _, values in rows for v in [values["funder"]] if v[0]}
    funders = {f.name: f for f in Organisation.objects.filter(name__in=funder_names)}
    codes = {str(values["project"][0]) for _, values in rows if values["project"][0]}
    projects = {
        (portfolio_id, code): pk
        for pk, portfolio_id, code in Project.objects.filter(code__in=codes).values_list(
            "id", "portfolio_id", "code"
        )
    }
    references = {
        str(values["funder_reference"][0]) for _, values in rows if values["funder_reference"][0]
    }
    stored = {
        (t.funder_id, t.funder_reference): t
        for t in Tranche.objects.filter(
            funder__in=funders.values(), funder_reference__in=references
        )
    }
    currency_codes = currencies()
    seen = {}
    planned = []
    for number, values in rows:
        errors = RowErrors(result, number, values)
        before = len(result.errors)
        parsed = {}

        portfolio_name = values["portfolio"][0]
        portfolio_id = portfolios.get(str(portfolio_name)) if portfolio_name else None
        if portfolio_name is None:
            errors.add("portfolio", "Give the portfolio's name.")
        elif portfolio_id is None:
            errors.add("portfolio", f"There is no portfolio named {portfolio_name!r}.")
        code = values["project"][0]
        if code is None:
            errors.add("project", "Give the project code.")
        elif portfolio_id is not None:
            parsed["project_id"] = projects.get((portfolio_id, str(code)))
            if parsed["project_id"] is None:
                errors.add(
                    "project", f"There is no project {code!r} in the portfolio {portfolio_name!r}."
                )
        funder_name = values["funder"][0]
        funder = funders.get(str(funder_name)) if funder_name else None
        if funder_name is None:
            errors.add("funder", "Give the funder's name.")
        elif funder is None or not funder.is_funder:
            errors.add("funder", f"There is no funding organisation named {funder_name!r}.")
        reference = values["funder_reference"][0]
        if reference is None:
            errors.add(
                "funder_reference",
                "Give the funder's reference: rows are matched on funder and reference.",
            )
        else:
            reference = str(reference)
            if len(reference) > 100:
                errors.add("funder_reference", "At most 100 characters.")
        for name, choices in (
            ("instrument", Instrument.choices),
            ("purpose", Purpose.choices),
            ("status", TrancheStatus.choices),
        ):
            value = values[name][0]
            if value is None:
                errors.add(name, f"Give the {FIELD_HEADERS[name].lower()}.")
                continue
            try:
                parsed[name] = _choice(value, choices)
            except ValueError as error:
                errors.add(name, str(error))
        if values["amount"][0] is None:
            errors.add("amount", "Give the amount.")
        else:
            try:
                parsed["amount"] = _amount(values["amount"][0])
            except ValueError as error:
                errors.add("amount", str(error))
        currency = values["currency"][0]
        if currency is None:
            errors.add("currency", "Give the currency (ISO 4217 code, e.g. USD).")
        elif str(currency).upper() not in currency_codes:
            errors.add("currency", f"{currency!r} is not an ISO 4217 currency code.")
        else:
            parsed["currency"] = str(currency).upper()
        for name in ("committed_on", "expected_disbursement_on", "covers_from", "covers_until"):
            try:
                parsed[name] = _date(values[name][0])
            except ValueError as error:
                errors.add(name, str(error))
        try:
            parsed["notes"] = _text(values["notes"][0], 10_000)
        except ValueError as error:
            errors.add("notes", str(error))

        if funder is not None and reference is not None:
            key = (funder.pk, reference)
            if key in seen:
                errors.add(
                    "funder_reference",
                    f"Row {seen[key]} already has this funder and reference.",
                )
            seen.setdefault(key, number)
        if len(result.errors) > before:
            continue

        existing = stored.get((funder.pk, reference))
        if existing is not None and all(
            getattr(existing, name) == parsed[name] for name in WRITTEN
        ):
            result.unchanged += 1
            continue
        tranche = existing or Tranche(funder=funder, funder_reference=reference)
        tranche.funder = funder
        for name in WRITTEN:
            setattr(tranche, name, parsed[name])
        action = access.CHANGE if existing is not None else access.ADD
        if not access.may(user, action, tranche):
            errors.add("funder", access.reason(user, action, tranche))
            continue
        try:
            tranche.full_clean()
        except ValidationError as error:
            for name, messages in error.message_dict.items():
                target = {"project": "project", "funder": "funder"}.get(name, name)
                for message in messages:
                    if target in FIELD_HEADERS:
                        errors.add(target, message)
                    else:
                        label = "" if name == NON_FIELD_ERRORS else f"{name}: "
                        errors.add("", f"{label}{message}")
            continue
        planned.append((number, tranche, existing is None))
    return planned


# --- Saving -------------------------------------------------------------------------------


def save(planned, user, result):
    """Save every planned tranche in one transaction; if one fails, none is kept."""
    current = None
    try:
        # One rescan of the touched projects, inside the transaction, once every row is saved.
        with rescans_batched():
            for number, tranche, is_new in planned:
                current = number
                services.save_tranche(tranche, user)
                if is_new:
                    result.created += 1
                else:
                    result.updated += 1
    except (ValidationError, PermissionDenied, IntegrityError) as error:
        reason = "; ".join(getattr(error, "messages", None) or [str(error)])
        result.errors.append(CellError(SHEET, current, "", f"Not saved: {reason}"))
        result.created = result.updated = 0

"""Tranche import from the Tranches sheet of a workbook: every row is checked, then all are
saved or none, and every error of the file is listed in one answer.

- The upload is distrusted before it is parsed (`portfolio.xlsx_upload`): size, zip bomb,
  XML document types in any part, and the sheet's real extent, cut off at the limits.
- Each row's cells are read by the fields of `TrancheRow`, a form; lookups of portfolios,
  projects and funders are set-based; each row is then checked once against the model's
  own rules (`full_clean`, without the per-row queries of constraints and foreign keys: the
  uniqueness of funder and reference is checked for the whole file at once, and the
  database holds every constraint anyway).
- Rows are matched on funder and reference, so uploading the same file twice changes nothing.
  The funders' imports take turns (a lock per funder), and the stored tranches are locked and
  read again under it, so two identical uploads at once answer "unchanged", never a database
  error. The rows are saved together through `services.save_tranches`, which keeps every
  tranche's history. Formulas are refused: the import takes values, not recipes.
"""

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils.translation import gettext as _
from openpyxl.utils import get_column_letter

from portfolio import access, errors
from portfolio.codelists import currencies
from portfolio.models import Organisation, Portfolio
from portfolio.sheet_import import CellError, ImportResult, header_columns
from portfolio.xlsx import DATE, MONEY_FORMAT, RATE, REPORTING, Book, Column, Sheet, key
from portfolio.xlsx_upload import BLANK, Refused, distrusted_sheet
from projects.models import Project

from . import services
from .models import Instrument, Purpose, Tranche, TrancheStatus
from .signals import rescan, rescans_batched

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
MAX_ROWS = 20_000  # tranches in one file
# What of the sheet is read at most: the header, MAX_ROWS tranches and the export's totals
# row. A blank row counts as a row; data below, or right of MAX_COLUMNS, refuses the file.
MAX_SHEET_ROWS = MAX_ROWS + 2
MAX_COLUMNS = 50
CENT = Decimal("0.01")
TEMPLATE_ROWS = 2000
IMPORT_LOCK = 7_310_002  # PostgreSQL advisory locks (IMPORT_LOCK, funder id): one import a funder


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


# --- One row's cells: a form --------------------------------------------------------------


class CodeOrLabelField(forms.Field):
    """One of a model's choices, by its code or its label, in any case."""

    def __init__(self, choices, **kwargs):
        super().__init__(**kwargs)
        self.codes = [code for code, _label in choices]
        self.known = {}
        for code, label in choices:
            self.known[str(label).lower()] = code
            self.known[code.lower()] = code

    def to_python(self, value):
        if value in self.empty_values:
            return None
        code = self.known.get(str(value).strip().lower())
        if code is None:
            raise ValidationError(
                _("%(value)r is not one of: %(codes)s.")
                % {"value": value, "codes": ", ".join(self.codes)},
                code="invalid_choice",
            )
        return code


class AmountField(forms.Field):
    """A positive amount with at most two decimals, as a number or as text."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, bool):
            raise ValidationError(_("The amount must be a number."), code="invalid")
        try:
            # repr() of a float is its shortest exact decimal form: 1234.56, never 1234.5599999.
            amount = Decimal(repr(value) if isinstance(value, float) else str(value).strip())
        except InvalidOperation:
            raise ValidationError(
                _("%(value)r is not a number.") % {"value": value}, code="invalid"
            ) from None
        if not amount.is_finite():
            raise ValidationError(_("The amount must be a number."), code="invalid")
        if amount <= 0:
            raise ValidationError(
                _("The amount must be positive, not %(amount)s.") % {"amount": f"{amount:,}"},
                code="min_value",
            )
        if amount != amount.quantize(CENT):
            raise ValidationError(_("The amount has more than two decimal places."), code="places")
        if amount >= Decimal("1e16"):
            raise ValidationError(_("The amount is too large."), code="max_value")
        return amount.quantize(CENT)


class CurrencyCodeField(forms.Field):
    def to_python(self, value):
        if value in self.empty_values:
            return None
        code = str(value).strip().upper()
        if code not in currencies():
            raise ValidationError(
                _("%(value)r is not an ISO 4217 currency code.") % {"value": value},
                code="invalid",
            )
        return code


class ExcelDateField(forms.Field):
    """An Excel date, or a date written as YYYY-MM-DD."""

    def to_python(self, value):
        if value in self.empty_values:
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
        raise ValidationError(
            _("%(value)r is not a date; enter an Excel date.") % {"value": value}, code="invalid"
        )


def text(limit, required_message=None):
    messages = {"max_length": _("At most %(limit_value)d characters.")}
    if required_message:
        messages["required"] = required_message
    return forms.CharField(
        max_length=limit, required=bool(required_message), error_messages=messages
    )


class TrancheRow(forms.Form):
    """The cells of one row of the Tranches sheet, as a donor officer types them.

    Names and codes (portfolio, project, funder) are looked up for the whole file at once.
    The import runs these fields over each row (`parse_row`) rather than binding a form per
    row: the same checks, without copying fourteen fields twenty thousand times (0.4 ms a
    row, a third of the time budget of the largest file).
    """

    portfolio = text(200, _("Give the portfolio's name."))
    project = text(100, _("Give the project code."))
    funder = text(200, _("Give the funder's name."))
    funder_reference = text(
        100, _("Give the funder's reference: rows are matched on funder and reference.")
    )
    instrument = CodeOrLabelField(
        Instrument.choices, error_messages={"required": _("Give the instrument.")}
    )
    purpose = CodeOrLabelField(Purpose.choices, error_messages={"required": _("Give the purpose.")})
    status = CodeOrLabelField(
        TrancheStatus.choices, error_messages={"required": _("Give the status.")}
    )
    amount = AmountField(error_messages={"required": _("Give the amount.")})
    currency = CurrencyCodeField(
        error_messages={"required": _("Give the currency (ISO 4217 code, e.g. USD).")}
    )
    committed_on = ExcelDateField(required=False)
    expected_disbursement_on = ExcelDateField(required=False)
    covers_from = ExcelDateField(required=False)
    covers_until = ExcelDateField(required=False)
    notes = text(10_000)


FIELDS = TrancheRow.base_fields


@dataclass
class Row:
    """One row of the sheet: its number, the letter of each field's column, what its cells
    parsed to, and why each cell that did not was refused."""

    number: int
    letters: dict
    values: dict = field(default_factory=dict)
    errors: dict = field(default_factory=dict)  # field name -> [reasons]

    def refuse(self, name, reason):
        self.errors.setdefault(name, []).append(str(reason))


def parse_row(number, cells, letters) -> Row:
    """Run each field of TrancheRow over its cell; a formula is refused without parsing."""
    row = Row(number, letters)
    for name, form_field in FIELDS.items():
        try:
            row.values[name] = form_field.clean(cells[name].typed_value())
        except ValidationError as error:
            for message in error.messages:
                row.refuse(name, message)
    return row


# --- Reading ------------------------------------------------------------------------------


def read_rows(fileobj, result) -> list[Row]:
    """The non-blank rows of the Tranches sheet after its header, each with its cells parsed;
    header errors go to `result`. Rows are still judged beside an unknown or repeated column,
    so one answer lists both; with a column missing, no rows come back."""
    with distrusted_sheet(fileobj, SHEET, MAX_SHEET_ROWS, MAX_COLUMNS) as lines:
        number, header = next(lines, (1, {}))
        columns, errors = header_columns(
            header if number == 1 else {},
            HEADERS,
            sheet=SHEET,
            row=1,
            required=[column.header for column in IMPORT_COLUMNS],
            unknown=_("%(title)r is not a column of the tranche template."),
            ignored=EXPORT_ONLY,
        )
        result.errors += errors
        if len(columns) < len(IMPORT_COLUMNS):
            return []  # a column is missing: its cells cannot be read, so no row is judged
        letters = {name: get_column_letter(column) for name, column in columns.items()}
        rows = [] if number == 1 else [_row(number, header, columns, letters)]
        for number, cells in lines:
            rows.append(_row(number, cells, columns, letters))
    return [row for row in rows if row is not None]


def _row(number, cells, columns, letters):
    read = {name: cells.get(column, BLANK) for name, column in columns.items()}
    if all(cell.is_blank for cell in read.values()):
        return None  # blank for the import: cells only elsewhere, or the export's totals row
    return parse_row(number, read, letters)


# --- Checking against the stored portfolio ------------------------------------------------


@dataclass
class Lookups:
    """Portfolios, projects and funders named in the file, each read in one query."""

    portfolios: dict
    projects: dict  # (portfolio id, code) -> project id
    funders: dict

    @classmethod
    def load(cls, rows):
        def named(name):
            return {row.values[name] for row in rows if row.values.get(name)}

        portfolios = dict(
            Portfolio.objects.filter(name__in=named("portfolio")).values_list("name", "id")
        )
        projects = {
            (portfolio_id, code): pk
            for pk, portfolio_id, code in Project.objects.filter(
                portfolio_id__in=portfolios.values(), code__in=named("project")
            ).values_list("id", "portfolio_id", "code")
        }
        funders = {f.name: f for f in Organisation.objects.filter(name__in=named("funder"))}
        return cls(portfolios, projects, funders)

    def resolve(self, row):
        """Set the row's project and funder from their names, or refuse the cells."""
        values = row.values
        portfolio_id = self.portfolios.get(values.get("portfolio"))
        if "portfolio" in values and portfolio_id is None:
            row.refuse(
                "portfolio",
                _("There is no portfolio named %(name)r.") % {"name": values["portfolio"]},
            )
        if "project" in values and portfolio_id is not None:
            values["project_id"] = self.projects.get((portfolio_id, values["project"]))
            if values["project_id"] is None:
                row.refuse(
                    "project",
                    _("There is no project %(code)r in the portfolio %(portfolio)r.")
                    % {"code": values["project"], "portfolio": values["portfolio"]},
                )
        funder = self.funders.get(values.get("funder"))
        if "funder" in values and (funder is None or not funder.is_funder):
            row.refuse(
                "funder",
                _("There is no funding organisation named %(name)r.") % {"name": values["funder"]},
            )
        elif funder is not None:
            values["funder_object"] = funder


def _lock_funders(funder_ids):
    """One import at a time per funder, until the transaction ends (PostgreSQL; SQLite runs
    one writer at a time anyway). Taken in order, so two imports never deadlock."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for funder_id in sorted(funder_ids):
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [IMPORT_LOCK, funder_id])


def _stored(rows, funders):
    """The tranches the rows name by funder and reference, locked and read under the lock."""
    references = {
        row.values["funder_reference"] for row in rows if row.values.get("funder_reference")
    }
    found = (
        Tranche.objects.select_for_update()
        .select_related("funder")
        .filter(funder__in=funders, funder_reference__in=references)
    )
    return {(t.funder_id, t.funder_reference): t for t in found}


def check(rows, stored, user, result):
    """Each row against what is stored and the model's rules; [(row, tranche, is new)] to
    save. Every refusal is recorded on its row."""
    seen = {}
    planned = []
    for row in rows:
        values = row.values
        funder = values.get("funder_object")
        reference = values.get("funder_reference")
        existing = None
        if funder is not None and reference:
            key = (funder.pk, reference)
            if key in seen:
                row.refuse(
                    "funder_reference",
                    _("Row %(row)d already has this funder and reference.") % {"row": seen[key]},
                )
            seen.setdefault(key, row.number)
            existing = stored.get(key)
        if (
            not row.errors
            and existing is not None
            and all(getattr(existing, name) == values[name] for name in WRITTEN)
        ):
            result.unchanged += 1
            continue
        tranche = existing or Tranche(funder_reference=reference or "")
        if funder is not None:
            tranche.funder = funder
        for name in WRITTEN:
            if name in values:
                setattr(tranche, name, values[name])
        # Asked even when other cells of the row are refused: one answer names every error.
        if funder is not None:
            action = access.CHANGE if existing is not None else access.ADD
            if not access.may(user, action, tranche):
                row.refuse("funder", access.reason(user, action, tranche))
        _model_rules(row, tranche)
        if not row.errors:
            planned.append((row, tranche, existing is None))
    return planned


def _model_rules(row, tranche):
    """The model's own rules, once; a cell already refused is not judged again."""
    failed = set(row.errors)
    exclude = {"project", "funder"} | {name for name in failed if name in WRITTEN}
    try:
        tranche.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        for name, messages in error.message_dict.items():
            if name in failed:
                continue
            for message in messages:
                if name in FIELDS:
                    row.refuse(name, message)
                else:
                    label = "" if name == NON_FIELD_ERRORS else f"{name}: "
                    row.refuse(NON_FIELD_ERRORS, f"{label}{message}")


# --- The import ---------------------------------------------------------------------------


def import_tranches(fileobj, user) -> ImportResult:
    """Check every row of the upload, then save all of them in one transaction, or none."""
    if not access.may(user, access.ADD, Tranche):
        raise PermissionDenied(access.reason(user, access.ADD, Tranche))
    result = ImportResult()
    try:
        rows = read_rows(fileobj, result)
    except Refused as refusal:
        result.errors.append(CellError("", None, "", str(refusal)))
        return result
    if result.errors and not rows:
        return result
    if len(rows) > MAX_ROWS:
        result.errors.append(
            CellError(
                "",
                None,
                "",
                _("At most %(limit)s tranches can be imported at once.")
                % {"limit": f"{MAX_ROWS:,}"},
            )
        )
        return result
    lookups = Lookups.load(rows)
    for row in rows:
        lookups.resolve(row)
    funders = {row.values["funder_object"] for row in rows if "funder_object" in row.values}
    # A parallel upload naming the same new tranches commits first only if it took the lock
    # first; should anything else insert one meanwhile, the check runs once more.
    for attempt in (1, 2):
        try:
            _check_and_save(rows, funders, user, result)
            break
        except IntegrityError as error:
            result.created = result.updated = result.unchanged = 0
            if attempt == 2:
                # In the users' words (errors.py), never the database's own message.
                reason = "; ".join(errors.from_integrity_error(error).messages)
                result.errors.append(
                    CellError(SHEET, None, "", _("Not saved: %(reason)s") % {"reason": reason})
                )
    return result


def _check_and_save(rows, funders, user, result):
    with transaction.atomic():
        _lock_funders(f.pk for f in funders)
        planned = check(rows, _stored(rows, funders), user, result)
        _collect_errors(rows, result)
        if result.errors:
            result.unchanged = 0
            return
        save(planned, user, result)


def _collect_errors(rows, result):
    for row in rows:
        for name, reasons in row.errors.items():
            header = FIELD_HEADERS.get(name, "")
            letter = row.letters.get(name, "")
            for reason in reasons:
                result.errors.append(CellError(SHEET, row.number, letter, reason, header))
    result.errors.sort(key=lambda e: (e.row or 0, e.column))


# --- Saving -------------------------------------------------------------------------------


def save(planned, user, result):
    """Save every planned tranche through `services.save_tranches`; the caller's transaction
    keeps all or none of them."""
    try:
        # One rescan of the touched projects, inside the transaction, once every row is
        # saved: the flags are current when the import commits.
        with rescans_batched():
            created, updated = services.save_tranches(
                [tranche for _row, tranche, _new in planned], user
            )
            for project_id in {tranche.project_id for _row, tranche, _new in planned}:
                rescan(project_id)
    except (ValidationError, PermissionDenied) as error:
        reason = "; ".join(getattr(error, "messages", None) or [str(error)])
        result.errors.append(
            CellError(SHEET, None, "", _("Not saved: %(reason)s") % {"reason": reason})
        )
        transaction.set_rollback(True)
        return
    result.created, result.updated = created, updated

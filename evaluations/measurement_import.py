"""Measurements from a workbook: every row is checked and reported through the same service as
the pages and the API, and either all rows are saved (as reported, awaiting review) or none.

The sheet "Measurements" has a header row naming its columns (any order): Project, Indicator,
Period start, Period end, Group, Value, Numerator, Denominator, Source, Comment. A group is
written as the API writes it: blank for the total, ``sex:female``, ``location:rural+sex:female``
with the portfolio's own dimensions and values. A formula is refused, as in every import
(`Cell.typed_value`). Every refusal is listed by sheet, row and column.
`measurement_template` writes the workbook to fill in.
"""

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from openpyxl.utils import get_column_letter

from portfolio import access
from portfolio.sheet_import import CellError, ImportResult, header_columns
from portfolio.xlsx import DATE, Book, Column, Sheet, key
from portfolio.xlsx_upload import BLANK, Refused, distrusted_sheet

from . import services
from .models import Indicator, Measurement

SHEET = "Measurements"
MAX_ROWS = 20_000
MAX_COLUMNS = 30
HEADERS = {
    "Project": "project",
    "Indicator": "indicator",
    "Period start": "period_start",
    "Period end": "period_end",
    "Group": "disaggregation",
    "Value": "value",
    "Numerator": "numerator",
    "Denominator": "denominator",
    "Source": "source",
    "Comment": "comment",
}
REQUIRED = ("Project", "Indicator", "Period start", "Period end", "Source")
DATES = ("period_start", "period_end")
NUMBERS = ("value", "numerator", "denominator")
WIDTHS = {"Group": 28, "Source": 24, "Comment": 30}
# The template's Measurements sheet: the import's columns, in their order, and nothing else.
TEMPLATE_COLUMNS = [
    Column(
        title,
        key(name),
        DATE if name in DATES else "General" if name in NUMBERS else "",
        width=WIDTHS.get(title, 13),
    )
    for title, name in HEADERS.items()
]
INDICATOR_COLUMNS = [
    Column("Project", key("project"), width=14),
    Column("Indicator", key("indicator"), width=13),
    Column("Name", key("name"), width=40),
    Column("Unit", key("unit"), width=12),
    Column("Measure", key("measure"), width=22),
    Column("Disaggregated by", key("dimensions"), width=24),
]


@dataclass
class Row:
    number: int
    values: dict
    errors: dict = field(default_factory=dict)  # field -> reasons


def import_measurements(fileobj, user) -> ImportResult:
    """Check every row, then keep all of them reported by ``user``, or none."""
    access.check(user, access.ADD, Measurement)
    result = ImportResult()
    try:
        columns, rows = _read(fileobj, result)
    except Refused as refusal:
        result.errors.append(CellError("", None, "", str(refusal)))
        return result
    if result.errors:
        return result
    if len(rows) > MAX_ROWS:
        result.errors.append(
            CellError(
                "",
                None,
                "",
                _("At most %(count)s measurements can be imported at once.")
                % {"count": f"{MAX_ROWS:,}"},
            )
        )
        return result
    letters = {name: get_column_letter(column) for name, column in columns.items()}
    headers = {name: title for title, name in HEADERS.items()}
    indicators = _indicators(rows)
    with transaction.atomic():
        for row in rows:
            _report(row, indicators, user)
            for name, reasons in row.errors.items():
                for reason in reasons:
                    result.errors.append(
                        CellError(
                            SHEET,
                            row.number,
                            letters.get(name, ""),
                            reason,
                            headers.get(name, ""),
                        )
                    )
        if result.errors:
            transaction.set_rollback(True)
        else:
            result.created = len(rows)
    return result


def _read(fileobj, result):
    with distrusted_sheet(fileobj, SHEET, MAX_ROWS + 1, MAX_COLUMNS) as lines:
        number, header = next(lines, (1, {}))
        columns, errors = header_columns(
            header,
            HEADERS,
            sheet=SHEET,
            row=number,
            required=REQUIRED,
            unknown=_("%(title)r is not a column of the measurement sheet."),
        )
        result.errors += errors
        rows = []
        for number, cells in lines:
            read = {name: cells.get(column, BLANK) for name, column in columns.items()}
            if all(cell.is_blank for cell in read.values()):
                continue
            row = Row(number, {})
            for name, cell in read.items():
                try:
                    row.values[name] = cell.typed_value()
                except ValidationError as error:
                    row.values[name] = None
                    row.errors[name] = error.messages
            rows.append(row)
    return columns, rows


def _indicators(rows):
    """(project code, indicator code) -> Indicator, in one query."""
    codes = {str(row.values.get("indicator") or "") for row in rows}
    found = Indicator.objects.filter(code__in=codes).select_related("project", "standard")
    return {(each.project.code, each.code): each for each in found}


def _report(row, indicators, user):
    values = row.values
    key = (str(values.get("project") or ""), str(values.get("indicator") or ""))
    indicator = indicators.get(key)
    if indicator is None:
        if not {"project", "indicator"} & row.errors.keys():  # a formula there is refused
            row.errors["indicator"] = [
                _("Project %(project)s has no indicator %(indicator)s.")
                % {"project": key[0], "indicator": key[1]}
            ]
        return
    fields = {}
    for name in DATES:
        fields[name] = _date(values.get(name), name, row)
    for name in NUMBERS:
        fields[name] = _number(values.get(name), name, row)
    if row.errors:
        return
    measurement = Measurement(
        indicator=indicator,
        disaggregation=str(values.get("disaggregation") or ""),
        source=str(values.get("source") or ""),
        comment=str(values.get("comment") or ""),
        **fields,
    )
    try:
        with transaction.atomic():
            services.report_measurement(measurement, user)
    except ValidationError as error:
        for name, reasons in error.message_dict.items():
            row.errors[name if name != NON_FIELD_ERRORS else ""] = reasons
    except PermissionDenied as error:
        row.errors[""] = [str(error)]


def _date(value, name, row):
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        row.errors[name] = ["Write a date, such as 2025-03-31."]
        return None


def _number(value, name, row):
    if value in (None, ""):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        row.errors[name] = ["Write a number, such as 1250 or 12.5."]
        return None
    if not number.is_finite():
        row.errors[name] = ["Write a number, such as 1250 or 12.5."]
        return None
    return number


def measurement_template(out, indicators, dimensions):
    """The workbook an evaluator or implementer fills in: an empty Measurements sheet (so the
    template uploaded as it is reports nothing), how to fill each column with the groups of
    ``dimensions``, and the ``indicators`` the person may report on."""
    book = Book(out, "", footer="Measurement import template")
    Sheet(book, SHEET, TEMPLATE_COLUMNS).close()
    book.notes_sheet("How to fill", _how_to_fill(dimensions))
    sheet = Sheet(book, "Indicators", INDICATOR_COLUMNS)
    for indicator in indicators:
        sheet.append(
            {
                "project": indicator.project.code,
                "indicator": indicator.code,
                "name": indicator.name,
                "unit": indicator.unit,
                "measure": indicator.get_measure_display(),
                "dimensions": ", ".join(indicator.disaggregations or []),
            }
        )
    sheet.close()
    book.save()


def _how_to_fill(dimensions):
    lines = [
        "Fill in one row per measurement on the Measurements sheet; keep the header row as it "
        "is. Every row is checked first: if any cell is wrong, nothing is saved and each bad "
        "cell is listed. Saved rows go to review; they count once an independent verifier "
        "verifies them.",
        "Project: the project code. Indicator: the indicator code. The Indicators sheet lists "
        "the indicators you may report on.",
        "Period start and Period end: the first and last day the measurement covers, as dates "
        "(type 2025-01-01 or use an Excel date). The period must have ended.",
        "Group: leave it blank for the total. For one group write dimension:value, such as "
        "sex:female; for a combination join them with +, such as location:rural+sex:female. "
        "Use only the dimensions the indicator is disaggregated by (the Indicators sheet says "
        "which), with the values of its portfolio, listed below.",
        "Value: the observed number or score. For a percentage indicator leave Value blank and "
        "give Numerator and Denominator instead (women with an ID, and all women asked); the "
        "percentage is worked out from them.",
        "Source: where the figure comes from, such as a survey or a registry (required). "
        "Comment: anything a reviewer should know (optional).",
        "Type values, not formulas.",
        "",
        "Groups you may use, by portfolio:",
    ]
    portfolio = None
    for dimension in dimensions:
        if dimension.portfolio != portfolio:
            portfolio = dimension.portfolio
            lines.append(f"{portfolio.name}:")
        values = [
            f"{dimension.code}:{value.code} ({value.name})" for value in dimension.values.all()
        ]
        lines.append(
            f"    {dimension.name}: "
            + (
                ", ".join(values)
                if values
                else f"no values yet for {dimension.code} (a portfolio manager adds them)"
            )
            + "."
        )
    if portfolio is None:
        lines.append("None yet: report totals only.")
    return lines

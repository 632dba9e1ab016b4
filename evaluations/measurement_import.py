"""Measurements from a workbook: every row is checked and reported through the same service as
the pages and the API, and either all rows are saved (as reported, awaiting review) or none.

The sheet "Measurements" has a header row naming its columns (any order): Project, Indicator,
Period start, Period end, Group, Value, Numerator, Denominator, Source, Comment. A group is
written as the API writes it: blank for the total, ``sex:female``, ``location:rural+sex:female``
with the portfolio's own dimensions and values. Every refusal is listed by sheet, row and column.
"""

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import transaction
from openpyxl.utils import get_column_letter

from funding.tranche_import import CellError, ImportResult
from portfolio import access
from portfolio.xlsx_upload import Refused, distrusted_sheet

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
            CellError("", None, "", f"At most {MAX_ROWS:,} measurements can be imported at once.")
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
        columns = {}
        for column, cell in sorted(header.items()):
            title = str(cell.value or "").strip()
            if title in HEADERS:
                columns[HEADERS[title]] = column
            elif title:
                result.errors.append(
                    CellError(
                        SHEET,
                        number,
                        get_column_letter(column),
                        f"{title!r} is not a column of the measurement sheet.",
                        title,
                    )
                )
        for title in REQUIRED:
            if HEADERS[title] not in columns:
                result.errors.append(
                    CellError(SHEET, 1, "", f"The column {title!r} is missing.", title)
                )
        rows = []
        for number, cells in lines:
            values = {}
            for name, column in columns.items():
                cell = cells.get(column)
                value = None if cell is None else cell.value
                values[name] = value.strip() if isinstance(value, str) else value
            if any(value not in (None, "") for value in values.values()):
                rows.append(Row(number, values))
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
        row.errors["indicator"] = [f"Project {key[0]} has no indicator {key[1]}."]
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

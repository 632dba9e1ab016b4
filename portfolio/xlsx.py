"""A streaming xlsx writer for list sheets: columns declared once, text kept safe as text.

Generic: it knows cells, styles, totals and Excel's limits, not the portfolio. The reporting
workbook and the tranche import template are both written with it.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from operator import itemgetter
from typing import Any

from django.utils.functional import Promise
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"  # content type
EXCEL_MAX_ROWS = 1_048_576
# A longer sheet goes on in a continuation sheet; two rows stay free for header and totals.
MAX_DATA_ROWS = EXCEL_MAX_ROWS - 2
MAX_TEXT = 32_767  # Excel's limit for one cell
# Text starting with one of these is what Excel (or a later edit of the cell) takes for a formula.
FORMULA_TRIGGERS = frozenset("=+-@\t\r")

DATE = "d mmm yyyy"
DATETIME = "d mmm yyyy hh:mm"
MONTH = "mmm yyyy"
MONEY_FORMAT = "#,##0.00"
MONEY = MONEY_FORMAT  # the old name, until reporting/workbook.py imports MONEY_FORMAT
REPORTING = "[${currency}] #,##0.00"  # the reporting currency's code is filled in per workbook
RATE = "0.000000"
COUNT = "#,##0"
PERCENT = "0%"
RATIO = '0.00"x"'

HEADER_FILL = "1F3864"


@dataclass(frozen=True)
class Column:
    """One column of a list sheet, declared once: a new column is one line."""

    header: Any
    value: Callable[[Any], Any]
    number_format: str = ""
    width: float = 12
    total: bool = False  # a SUBTOTAL(109) under the rows, so it follows the autofilter
    field: str = ""  # the Tranche field a tranche import reads from it; blank: export only


key = itemgetter


class Book:
    """A write-only workbook and the cells that go into it, safe and styled."""

    def __init__(self, currency):
        self.currency = currency
        self.wb = Workbook(write_only=True)
        self.wb.properties.creator = "Blended-finance portfolio tracker"
        self._styles = {}

    def style(self, ws, number_format="", *, bold=False, fill="", header=False, quote=False):
        """A style array for cells of this look, built once per workbook.

        Setting a style on each cell registers it with the workbook every time, which costs
        more than writing the cell; a cell created from a ready style array does not.
        """
        number_format = number_format.format(currency=self.currency)
        look = (number_format, bold, fill, header, quote)
        if look not in self._styles:
            template = Cell(ws, 1, 1)
            if number_format:
                template.number_format = number_format
            if header:
                template.font = Font(bold=True, color="FFFFFF")
                template.fill = PatternFill("solid", fgColor=HEADER_FILL)
                template.alignment = Alignment(wrap_text=True, vertical="center")
            elif bold:
                template.font = Font(bold=True)
            if fill:
                template.fill = PatternFill("solid", fgColor=fill)
            if quote:
                template.quotePrefix = True
            self._styles[look] = template._style
        return self._styles[look]

    def cell(self, ws, value, style=None):
        if value is None:
            return None
        if type(value) is str or isinstance(value, Promise):
            return self.text(ws, value, style)
        if style is None:
            return value
        return Cell(ws, 1, 1, value=value, style_array=style)

    def text(self, ws, value, style=None):
        """Text is always written as text: never as a formula, never with characters XML forbids."""
        value = str(value)  # a lazy choice label, in the language active while writing
        if ILLEGAL_CHARACTERS_RE.search(value):
            value = ILLEGAL_CHARACTERS_RE.sub("", value)
        value = value[:MAX_TEXT]
        if value[:1] in FORMULA_TRIGGERS:
            # Typed as a string, and quote-prefixed so that editing the cell in Excel keeps it text.
            cell = Cell(ws, 1, 1, style_array=self.style(ws, quote=True))
            cell._value = value
            cell.data_type = "s"
            return cell
        if style is None:
            return value
        return Cell(ws, 1, 1, value=value, style_array=style)

    def formula(self, ws, formula, style=None):
        return Cell(ws, 1, 1, value=formula, style_array=style)

    def save(self, out):
        self.wb.save(out)


class Sheet:
    """A list sheet: a frozen, filterable header, fitted widths, formats, and totals that
    stay right when the rows are filtered. Past Excel's row limit it goes on in a new sheet."""

    def __init__(self, book: Book, title: str, columns: list[Column]):
        self.book = book
        self.title = title
        self.columns = columns
        self.rows = 0
        self.parts = 0
        self._open()

    def _open(self):
        self.parts += 1
        title = self.title if self.parts == 1 else f"{self.title} ({self.parts})"
        index = None
        if self.parts > 1:  # right after the part it continues
            index = self.book.wb.worksheets.index(self.ws) + 1
        ws = self.book.wb.create_sheet(title, index)
        for number, column in enumerate(self.columns, 1):
            ws.column_dimensions[get_column_letter(number)].width = column.width
        ws.freeze_panes = "A2"
        ws.print_title_rows = "1:1"
        ws.page_setup.orientation = "landscape"
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
        header = self.book.style(ws, MONTH if self._dated_header() else "", header=True)
        ws.append([self.book.cell(ws, column.header, header) for column in self.columns])
        self.ws = ws
        self.part_rows = 0
        self.styles = [
            self.book.style(ws, column.number_format) if column.number_format else None
            for column in self.columns
        ]
        self.getters = [column.value for column in self.columns]

    def _dated_header(self):
        return any(isinstance(column.header, date) for column in self.columns)

    def append(self, item):
        if self.part_rows == MAX_DATA_ROWS:
            self._finish_part()
            self._open()
        ws, cell = self.ws, self.book.cell
        ws.append(
            [
                cell(ws, get(item), style)
                for get, style in zip(self.getters, self.styles, strict=True)
            ]
        )
        self.part_rows += 1
        self.rows += 1

    def _finish_part(self):
        ws = self.ws
        last_column = get_column_letter(len(self.columns))
        last_row = self.part_rows + 1
        totals = [n for n, column in enumerate(self.columns) if column.total]
        if totals and self.part_rows:
            row = [None] * len(self.columns)
            label = self.book.style(ws, bold=True)
            if totals[0] > 0:
                row[totals[0] - 1] = self.book.text(ws, "Total", label)
            for n in totals:
                letter = get_column_letter(n + 1)
                style = self.book.style(ws, self.columns[n].number_format, bold=True)
                row[n] = self.book.formula(
                    ws, f"=SUBTOTAL(109,{letter}2:{letter}{last_row})", style
                )
            ws.append(row)
        # The totals row stays outside the filter range, so filtering never hides it.
        ws.auto_filter.ref = f"A1:{last_column}{last_row}"

    def close(self):
        self._finish_part()

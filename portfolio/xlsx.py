"""A streaming xlsx writer for list sheets (XlsxWriter in constant-memory mode).

Generic: it knows cells, formats, totals, printing and Excel's limits, not the portfolio. The
reporting workbook and the tranche import template are both written with it.

- Columns are declared once; each holds one type (text, number or date) and gets its format
  once, not once per cell.
- Text is always written as text: never as a formula, never as markup, never with characters
  XML forbids.
- Every formula is written with its computed value, so a reader that does not recalculate
  (pandas, calamine, openpyxl with data_only, a file previewer) sees the number.
- Every sheet prints: landscape where wide, one page wide, header rows repeated, a footer with
  what the workbook is, the as-of date and page x of y.
"""

import math
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from operator import itemgetter
from typing import Any

from django.utils.functional import Promise
from xlsxwriter import Workbook
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import Worksheet

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"  # content type
EXCEL_MAX_ROWS = 1_048_576
# A longer sheet goes on in a continuation sheet; rows stay free for the header and totals.
TOTAL_ROWS_RESERVED = 40
MAX_DATA_ROWS = EXCEL_MAX_ROWS - 1 - TOTAL_ROWS_RESERVED
MAX_TEXT = 32_767  # Excel's limit for one cell
# Text starting with one of these is what Excel (or a later edit of the cell) takes for a formula.
FORMULA_TRIGGERS = frozenset("=+-@\t\r")
# Characters XML 1.0 forbids (tab, newline and carriage return are allowed).
ILLEGAL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")

DATE = "d mmm yyyy"
DATETIME = "d mmm yyyy hh:mm"
MONTH = "mmm yyyy"
MONEY_FORMAT = "#,##0.00"

REPORTING = "[${currency}] #,##0.00"  # the reporting currency's code is filled in per workbook
RATE = "0.000000"
COUNT = "#,##0"
CODE = "0"  # a numeric code (a DAC sector), shown without separators
PERCENT = "0%"
RATIO = '0.00"x"'
DATE_FORMATS = frozenset({DATE, DATETIME, MONTH})

# One theme for the whole workbook: every format names its font and size.
FONT_NAME = "Arial"
FONT_SIZE = 10
LINE_HEIGHT = 13  # points for one line of text at FONT_SIZE
HEADER_FILL = "#1F3864"
A4 = 9


@dataclass(frozen=True)
class Column:
    """One column of a list sheet, declared once: a new column is one line.

    Its kind follows from its number format: a date format makes a date column, any other
    format a number column, none a text column; a cell of another type is refused, so a
    column never mixes types.
    """

    header: Any
    value: Callable[[Any], Any]
    number_format: str = ""
    width: float = 12
    total: bool = False  # a SUBTOTAL(109) under the rows, so it follows the autofilter
    per_currency: bool = False  # one total per currency, in rows under the data
    field: str = ""  # the Tranche field a tranche import reads from it; blank: export only
    fills: dict | None = None  # text value -> cell colour (a coloured word, or an empty cell)

    @property
    def kind(self) -> str:
        if not self.number_format:
            return "text"
        return "date" if self.number_format in DATE_FORMATS else "number"


key = itemgetter


def clean_text(value: str) -> str:
    if ILLEGAL_CHARACTERS.search(value):
        value = ILLEGAL_CHARACTERS.sub("", value)
    return value[:MAX_TEXT]


def lines_needed(text: str, width: float, factor: float = 1.0) -> int:
    """How many lines `text` wraps to in a column `width` characters wide (by words)."""
    room = max(width - 1, 1) / factor
    lines = 0
    for paragraph in str(text).split("\n"):
        used, lines = 0, lines + 1
        for word in paragraph.split():
            size = len(word)
            if used and used + 1 + size > room:
                lines += 1
                used = 0
            if size > room:  # a word longer than the column breaks across lines
                lines += math.ceil(size / room) - 1
                used = size % room
            else:
                used += size + (1 if used else 0)
    return max(lines, 1)


def row_height(lines: int) -> float:
    return lines * LINE_HEIGHT + 3


def footer_text(text: str) -> str:
    """Header and footer codes start with &: a literal one is doubled."""
    return text.replace("&", "&&")


class SafeWorksheet(Worksheet):
    """A constant-memory worksheet that never writes text as markup, with a fast way to
    append whole rows of a list sheet.

    In constant-memory mode XlsxWriter writes a string that starts with "<r>" and ends with
    "</r>" as raw rich-text XML. This workbook writes no rich text, so such a string is
    escaped like any other.
    """

    def _xml_rich_inline_string(self, string, attributes=()):
        preserve = string[:1].isspace() or string[-1:].isspace()
        self._xml_inline_string(string, preserve, list(attributes))

    def append_row_xml(self, row: int, last_col: int, cells: str):
        """Append a row whose cells are already XML (see `CellEncoder`).

        XlsxWriter keeps each cell as an object and writes it through several calls, which
        costs more than the rest of the export; a list sheet's rows all look alike, so their
        XML is built in one pass. Rows only go down, as constant-memory mode requires; a row
        written through the ordinary methods before is flushed first.
        """
        if row <= self.previous_row and row:
            raise ValueError(f"row {row} comes after row {self.previous_row}")
        if self.table:
            self._write_single_row(row)
        self.previous_row = row
        if self.dim_colmin != 0:
            self._check_dimensions(row, 0)
        self._check_dimensions(row, last_col)
        self.fh.write(f'<row r="{row + 1}">{cells}</row>')


EXCEL_EPOCH_ORDINAL = date(1899, 12, 30).toordinal()
TEXTS_REMEMBERED = 2048  # per column
XML_SPECIAL = re.compile("[&<>]")
ESCAPED_LOOKALIKE = re.compile("(_x[0-9a-fA-F]{4}_)")  # what a reader would decode


def xml_text(value: str) -> str:
    if "&" in value or "<" in value or ">" in value:
        value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if "_x" in value:  # literal "_x0041_" would read back as "A": escape its underscore
        value = ESCAPED_LOOKALIKE.sub(r"_x005F\1", value)
    return value


class CellEncoder:
    """How one column's values become cell XML: its type checked, its format's index fixed."""

    def __init__(self, book, sheet_title, column):
        self.header = column.header
        self.title = sheet_title
        self.kind = column.kind
        fmt = book.format(column.number_format) if column.number_format else None
        self.style = f' s="{fmt._get_xf_index()}"' if fmt is not None else ""
        self.quoted = f' s="{book.quoted(fmt)._get_xf_index()}"'
        self.fills = (
            {
                state: f' s="{book.format(column.number_format, fill=colour)._get_xf_index()}"'
                for state, colour in column.fills.items()
            }
            if column.fills
            else None
        )
        # Each way of encoding takes None (an empty cell) itself: a call less per cell.
        self.encode = {"text": self.text, "date": self.date, "number": self.number}[self.kind]
        self.cell = self.filled if self.fills else self.encode
        self.seen = {}  # text -> its cell XML after the reference

    def filled(self, value, ref) -> str:
        style = self.fills.get(value)
        if style is None:
            return self.encode(value, ref)
        if not value:  # a coloured empty cell still shows its colour
            return f'<c r="{ref}"{style}/>'
        return f'<c r="{ref}"{style} t="inlineStr"><is><t>{xml_text(value)}</t></is></c>'

    def text(self, value, ref) -> str:
        if value is None:
            return ""
        if not isinstance(value, str):
            value = str(value)
        # Names, codes and labels repeat down a column: each is encoded once.
        tail = self.seen.get(value)
        if tail is None:
            if not value:
                return ""
            clean = clean_text(value)
            style = self.quoted if clean[0] in FORMULA_TRIGGERS else self.style
            space = ' xml:space="preserve"' if clean[0].isspace() or clean[-1].isspace() else ""
            tail = f'{style} t="inlineStr"><is><t{space}>{xml_text(clean)}</t></is></c>'
            if len(self.seen) < TEXTS_REMEMBERED:
                self.seen[value] = tail
        return f'<c r="{ref}"{tail}'

    def number(self, value, ref) -> str:
        if value is None:
            return ""
        if value.__class__ is Decimal:  # most numbers: no other check needed
            return f'<c r="{ref}"{self.style}><v>{value}</v></c>'
        if isinstance(value, (str, bool, date)):
            raise TypeError(f"{self.title}: {self.header!r} holds numbers, not {value!r}")
        if isinstance(value, float) and not math.isfinite(value):
            return ""
        return f'<c r="{ref}"{self.style}><v>{value}</v></c>'

    def date(self, value, ref) -> str:
        if value is None:
            return ""
        if isinstance(value, datetime):
            serial = value.toordinal() - EXCEL_EPOCH_ORDINAL
            seconds = value.hour * 3600 + value.minute * 60 + value.second
            return f'<c r="{ref}"{self.style}><v>{serial + seconds / 86400:.10g}</v></c>'
        if isinstance(value, date):
            return f'<c r="{ref}"{self.style}><v>{value.toordinal() - EXCEL_EPOCH_ORDINAL}</v></c>'
        raise TypeError(f"{self.title}: {self.header!r} holds dates, not {value!r}")


class Book:
    """A constant-memory workbook and the formats and cells that go into it, safe and styled.

    `footer` is the left part of every sheet's footer (what the workbook is); `footer_date`
    its centre (the as-of date). Sheets are written in any order and arranged in the order
    they were added when the book is saved; a continuation sheet follows the sheet it
    continues.
    """

    def __init__(self, out, currency, *, footer="", footer_date=""):
        self.currency = currency
        self.footer = footer
        self.footer_date = footer_date
        self.wb = Workbook(
            out,
            {
                "constant_memory": True,
                "default_format_properties": {"font_name": FONT_NAME, "font_size": FONT_SIZE},
                "strings_to_numbers": False,
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "remove_timezone": True,
            },
        )
        self.wb.worksheet_class = SafeWorksheet
        self.wb.set_properties({"author": "Blended-finance portfolio tracker"})
        self._formats = {}
        self._looks = {}  # id of a format -> the look it was built for
        self._order = {}  # worksheet name -> where it goes

    # --- formats ------------------------------------------------------------------------

    def format(
        self,
        number_format="",
        *,
        bold=False,
        header=False,
        fill="",
        quote=False,
        wrap=False,
        size=None,
        italic=False,
        align="",
        top_border=False,
    ):
        """A format of this look, built once per workbook."""
        number_format = number_format.replace("{currency}", self.currency)
        look = (number_format, bold, header, fill, quote, wrap, size, italic, align, top_border)
        found = self._formats.get(look)
        if found is None:
            properties = {"font_name": FONT_NAME, "font_size": size or FONT_SIZE}
            if number_format:
                properties["num_format"] = number_format
            if header:
                properties.update(
                    bold=True,
                    font_color="#FFFFFF",
                    bg_color=HEADER_FILL,
                    pattern=1,
                    text_wrap=True,
                    valign="top",
                )
            if bold:
                properties["bold"] = True
            if italic:
                properties["italic"] = True
            if fill:
                properties.update(bg_color=fill, pattern=1)
            if quote:
                properties["quote_prefix"] = True
            if wrap:
                properties.update(text_wrap=True, valign="top")
            if align:
                properties["align"] = align
            if top_border:
                properties["top"] = 1
            found = self._formats[look] = self.wb.add_format(properties)
            self._looks[id(found)] = look
        return found

    # --- cells --------------------------------------------------------------------------

    def write(self, ws, row, col, value, fmt=None, text_fmt=None):
        """Any value, by its type; text through `text` so it stays text."""
        if value is None:
            if fmt is not None:
                ws.write_blank(row, col, None, fmt)
            return
        if isinstance(value, str | Promise):  # a lazy choice label, in the active language
            self.text(ws, row, col, str(value), text_fmt or fmt)
        elif isinstance(value, (date, datetime)):
            ws.write_datetime(row, col, value, fmt or self.format(DATE))
        elif isinstance(value, bool):
            ws.write_boolean(row, col, value, fmt)
        else:
            ws.write_number(row, col, value, fmt)

    def text(self, ws, row, col, value, fmt=None):
        """Text is always written as text: never as a formula, never with characters XML
        forbids; text that a later edit would take for a formula is quote-prefixed."""
        value = clean_text(str(value))  # a lazy choice label, in the active language
        if value[:1] in FORMULA_TRIGGERS:
            fmt = self.quoted(fmt)
        ws.write_string(row, col, value, fmt)

    def quoted(self, fmt):
        """The same look as `fmt`, quote-prefixed."""
        look = self._looks.get(id(fmt), ("",) + (False,) * 5 + (None, False, "", False))
        number_format, bold, header, fill, _, wrap, size, italic, align, top_border = look
        return self.format(
            number_format,
            bold=bold,
            header=header,
            fill=fill,
            quote=True,
            wrap=wrap,
            size=size,
            italic=italic,
            align=align,
            top_border=top_border,
        )

    def formula(self, ws, row, col, formula, value, fmt=None):
        """A formula and the value it computes, so readers that do not recalculate see it."""
        if isinstance(value, Decimal):
            value = float(value)
        ws.write_formula(row, col, formula, fmt, 0 if value is None else value)

    # --- sheets -------------------------------------------------------------------------

    def add_sheet(self, title, *, after=None):
        """A new worksheet: after the others, or right after `after` (and its continuations)."""
        ws = self.wb.add_worksheet(title)
        if after is None:
            self._order[title] = (len(self._order), 0)
        else:
            place, part = self._order[after.name]
            self._order[title] = (place, part + 1)
        return ws

    def print_setup(self, ws, *, landscape=True, repeat_rows=None, pages_tall=0):
        """A4, one page wide, header rows repeated, the workbook's footer."""
        ws.set_paper(A4)
        if landscape:
            ws.set_landscape()
        else:
            ws.set_portrait()
        ws.fit_to_pages(1, pages_tall)
        ws.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.7)
        if repeat_rows is not None:
            ws.repeat_rows(*repeat_rows)
        parts = [f"&L&8{footer_text(self.footer)} – &A"]
        if self.footer_date:
            parts.append(f"&C&8{footer_text(self.footer_date)}")
        parts.append("&R&8Page &P of &N")
        ws.set_footer("".join(parts))

    def notes_sheet(self, title, lines, width=110):
        """A sheet of wrapped lines of text, one a row (instructions, notes)."""
        ws = self.add_sheet(title)
        ws.set_column(0, 0, width)
        wrap = self.format(wrap=True)
        for row, line in enumerate(lines):
            ws.set_row(row, row_height(lines_needed(line, width)))
            self.text(ws, row, 0, line, wrap)
        self.print_setup(ws, landscape=False)
        return ws

    def save(self):
        # Sheets in the order they were meant to come, whatever order they were added in.
        sheets = sorted(self.wb.worksheets_objs, key=lambda ws: self._order[ws.name])
        self.wb.worksheets_objs[:] = sheets
        for index, ws in enumerate(sheets):
            ws.index = index
        self.wb.close()


class Sheet:
    """A list sheet: a frozen, filterable header that fits its wrapped titles, one format per
    column, totals that carry their value and stay right when the rows are filtered, and a
    print setup. Past Excel's row limit it goes on in a continuation sheet.

    Totals: a column with `total` gets a SUBTOTAL(109) in a "Total" row; columns with
    `per_currency` get one "Total <currency>" row per currency, summing the rows of that
    currency (`currency_column` names the column that holds it). The labels go in
    `label_column` (by default the nearest text column left of the first total), which must be
    a text column: a number or date column holds numbers or dates only.
    """

    def __init__(
        self,
        book: Book,
        title: str,
        columns: list[Column],
        *,
        currency_column: str = "",
        label_column: str = "",
        landscape: bool | None = None,
    ):
        self.book = book
        self.title = title
        self.columns = columns
        self.rows = 0
        self.parts = 0
        self.landscape = sum(c.width for c in columns) > 100 if landscape is None else landscape
        self.subtotals = [n for n, c in enumerate(columns) if c.total]
        self.currency_totals = [n for n, c in enumerate(columns) if c.per_currency]
        self.currency_index = next(
            (n for n, c in enumerate(columns) if c.header == currency_column), None
        )
        if self.currency_totals and self.currency_index is None:
            raise ValueError(f"{title}: per-currency totals need a currency column.")
        self.label_index = self._label_index(label_column)
        # Per column: how to read its value, how to encode it, its letter.
        self.cells = [
            (column.value, CellEncoder(book, title, column).cell, xl_col_to_name(n))
            for n, column in enumerate(columns)
        ]
        self.totalled = [(n, columns[n].value) for n in self.subtotals]
        self.currency_totalled = [(n, columns[n].value) for n in self.currency_totals]
        self._open()

    def _label_index(self, label_column):
        totals = self.subtotals + self.currency_totals
        if not totals:
            return None
        if label_column:
            index = next(n for n, c in enumerate(self.columns) if c.header == label_column)
        else:
            index = next(
                (n for n in range(min(totals) - 1, -1, -1) if self.columns[n].kind == "text"),
                None,
            )
        if index is None or self.columns[index].kind != "text" or index in totals:
            raise ValueError(f"{self.title}: total labels need a text column of their own.")
        return index

    def _open(self):
        self.parts += 1
        title = self.title if self.parts == 1 else f"{self.title} ({self.parts})"
        ws = self.book.add_sheet(title, after=self.ws if self.parts > 1 else None)
        header = self.book.format(header=True)
        dated = self.book.format(MONTH, header=True)
        lines = 1
        for n, column in enumerate(self.columns):
            ws.set_column(n, n, column.width)
            if isinstance(column.header, date):
                lines = max(lines, 1)
            else:
                lines = max(lines, lines_needed(column.header, column.width, factor=1.0))
        ws.set_row(0, row_height(lines))
        for n, column in enumerate(self.columns):
            if isinstance(column.header, date):
                ws.write_datetime(0, n, column.header, dated)
            else:
                self.book.text(ws, 0, n, str(column.header), header)
        ws.freeze_panes(1, 0)
        self.book.print_setup(ws, landscape=self.landscape, repeat_rows=(0, 0))
        self.ws = ws
        self.part_rows = 0
        self.sums = [Decimal(0)] * len(self.columns)
        self.by_currency = defaultdict(lambda: defaultdict(Decimal))

    def append(self, item):
        if self.part_rows == MAX_DATA_ROWS:
            self._finish_part()
            self._open()
        self.part_rows += 1
        self.rows += 1
        row = self.part_rows
        number = str(row + 1)
        cells = "".join([encode(get(item), letter + number) for get, encode, letter in self.cells])
        self.ws.append_row_xml(row, len(self.cells) - 1, cells)
        sums = self.sums
        for n, get in self.totalled:
            value = get(item)
            if value is not None:
                sums[n] += value
        if self.currency_totalled:
            sums = self.by_currency[self.columns[self.currency_index].value(item)]
            for n, get in self.currency_totalled:
                value = get(item)
                if value is not None:
                    sums[n] += value

    def _finish_part(self):
        ws, book = self.ws, self.book
        last_row = self.part_rows  # zero-based index of the last data row
        last_column = len(self.columns) - 1
        ws.autofilter(0, 0, max(last_row, 0), last_column)
        if not self.part_rows:
            return
        row = last_row + 1
        label = book.format(bold=True, top_border=True)
        if self.subtotals:
            book.text(ws, row, self.label_index, "Total", label)
            for n in self.subtotals:
                letter = xl_col_to_name(n)
                book.formula(
                    ws,
                    row,
                    n,
                    f"=SUBTOTAL(109,{letter}2:{letter}{last_row + 1})",
                    self.sums[n],
                    self.total_format(n),
                )
            row += 1
        if self.currency_totals:
            currency_letter = xl_col_to_name(self.currency_index)
            for currency in sorted(self.by_currency, key=str):
                sums = self.by_currency[currency]
                book.text(ws, row, self.label_index, f"Total {currency}", label)
                for n in self.currency_totals:
                    letter = xl_col_to_name(n)
                    book.formula(
                        ws,
                        row,
                        n,
                        f'=SUMIF({currency_letter}2:{currency_letter}{last_row + 1},"{currency}",'
                        f"{letter}2:{letter}{last_row + 1})",
                        sums[n],
                        self.total_format(n),
                    )
                row += 1

    def total_format(self, n):
        return self.book.format(self.columns[n].number_format, bold=True, top_border=True)

    def choices(self, header, values, last_row, message):
        """A drop-down list of `values` for the rows under `header` (the import template)."""
        n = next(i for i, c in enumerate(self.columns) if c.header == header)
        self.ws.data_validation(
            1,
            n,
            last_row,
            n,
            {
                "validate": "list",
                "source": list(values),
                "ignore_blank": True,
                "error_message": message,
            },
        )

    def close(self):
        self._finish_part()

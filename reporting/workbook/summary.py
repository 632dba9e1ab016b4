"""The Summary (small tables, their totals and charts) and the Cover of the workbook.

Printed, the Summary takes two portrait pages: the tables on the first, the charts on the
second, none cut across a page; the Cover takes one. Every total carries its value, and adds
like with like: each money column is one status converted one way, as its header says.
"""

from decimal import Decimal

from django.conf import settings
from django.utils import timezone
from xlsxwriter.utility import xl_rowcol_to_cell

from funding import figures
from funding.models import FlagKind, Instrument, Purpose
from portfolio.rates import NoRateError
from portfolio.xlsx import (
    COUNT,
    DATE,
    DATETIME,
    FONT_NAME,
    LINE_HEIGHT,
    RATIO,
    REPORTING,
    lines_needed,
    row_height,
)
from projects.models import Status as ProjectStatus

from . import selectors
from .sheets import SCHEDULES_SHEET, SHEETS, long_date

# Summary columns: a label, then five money columns.
LABEL_WIDTH = 30
MONEY_WIDTH = 16
MONEY_HEADERS = [
    "Committed (commitment-date rates)",
    "Disbursed (payment-date rates)",
    "Undisbursed (as-of rate)",
    "Planned (as-of rate)",
    "FX revaluation of disbursed",
]
PURPOSE_SHORT = {
    Purpose.LAUNCH: "Launch",
    Purpose.MAINTENANCE: "Maintenance",
    Purpose.CAPACITY: "Capacity",
    Purpose.OTHER: "Other",
}
CHART_WIDTH = 760  # pixels: the width of the tables above, so printing never shrinks them
CHART_HEIGHT = 300
CHART_FONT = {"name": FONT_NAME, "size": 9}
CHART_DATA_COLUMN = 7  # H: hidden, outside the print area
SMALL_SLICE = Decimal("0.03")  # a pie slice under 3% goes into "Smaller"
TITLE_FONT = {"name": FONT_NAME, "size": 11, "bold": True}
CONVERSION = (
    "Committed money is converted at the rate of its commitment date (or the rate agreed in "
    "the tranche), disbursed money at the rate of each payment date, undisbursed and planned "
    "money at the as-of rate. The FX revaluation is what the disbursed money gains (or loses) "
    "at the as-of rate; it is shown apart and is in no other figure."
)


class Writer:
    """Rows written top to bottom (as constant-memory mode requires), with their formats."""

    def __init__(self, book, ws):
        self.book, self.ws, self.row = book, ws, 0
        self.title = book.format(bold=True, size=14)
        self.bold = book.format(bold=True)
        self.header = book.format(header=True)
        self.money = book.format(REPORTING)
        self.total_money = book.format(REPORTING, bold=True, top_border=True)
        self.count = book.format(COUNT)
        self.total_count = book.format(COUNT, bold=True, top_border=True)
        self.total_label = book.format(bold=True, top_border=True)
        self.ratio = book.format(RATIO)
        self.note = book.format(wrap=True, italic=True)

    def skip(self, rows=1):
        self.row += rows

    def text(self, col, value, fmt=None):
        self.book.text(self.ws, self.row, col, value, fmt)

    def headers(self, first, others, widths):
        """A header row, as tall as its longest wrapped title."""
        lines = max(
            lines_needed(h, w, factor=1.0) for h, w in zip([first, *others], widths, strict=True)
        )
        self.ws.set_row(self.row, row_height(lines))
        self.text(0, first, self.header)
        for n, heading in enumerate(others, 1):
            self.text(n, heading, self.header)
        self.row += 1

    def note_row(self, text, last_col, width):
        self.ws.set_row(self.row, row_height(lines_needed(text, width)))
        self.ws.merge_range(self.row, 0, self.row, last_col, text, self.note)
        self.row += 1

    def table(self, heading, headers, lines, fmt, total_fmt):
        """A small table with a SUBTOTAL row carrying its value; returns (header row, last row)."""
        widths = [LABEL_WIDTH] + [MONEY_WIDTH] * len(headers)
        top = self.row
        self.headers(heading, headers, widths)
        for label, *values in lines:
            self.text(0, label)
            for n, value in enumerate(values, 1):
                self.ws.write_number(self.row, n, value, fmt)
            self.row += 1
        last = self.row - 1
        self.text(0, "Total", self.total_label)
        for n in range(1, len(headers) + 1):
            first_cell = xl_rowcol_to_cell(top + 1, n)
            last_cell = xl_rowcol_to_cell(last, n)
            value = sum((line[n] for line in lines), Decimal(0))
            self.book.formula(
                self.ws, self.row, n, f"=SUBTOTAL(109,{first_cell}:{last_cell})", value, total_fmt
            )
        self.row += 2
        return top, last


def write_summary(export, ws):
    book = export.book
    w = Writer(book, ws)
    ws.set_column(0, 0, LABEL_WIDTH)
    ws.set_column(1, 5, MONEY_WIDTH)
    ws.hide_gridlines(2)
    total_width = LABEL_WIDTH + 5 * MONEY_WIDTH

    ws.set_row(0, row_height(1) + 6)
    w.text(0, "Portfolio summary", w.title)
    w.skip()
    w.text(
        0,
        f"{export.filters.portfolio_name()} · {export.filters.funder_name()} · as of "
        f"{long_date(export.as_of)} · amounts in {export.currency}",
        w.bold,
    )
    w.skip()
    w.note_row(CONVERSION, 5, total_width)
    w.skip()

    def money_lines(totals, choices):
        return [(label, *totals[value].row()) for value, label in choices]

    instruments = w.table(
        "By instrument",
        MONEY_HEADERS,
        money_lines(export.by_instrument, Instrument.choices),
        w.money,
        w.total_money,
    )
    w.table(
        "By purpose",
        MONEY_HEADERS,
        money_lines(export.by_purpose, list(PURPOSE_SHORT.items())),
        w.money,
        w.total_money,
    )
    statuses = w.table(
        "Projects by status",
        ["Projects"],
        [(label, export.by_status.get(value, 0)) for value, label in ProjectStatus.choices],
        w.count,
        w.total_count,
    )
    w.table(
        f"Open flags on {long_date(export.as_of)}",
        ["Flags"],
        [(label, export.open_flags.get(value, 0)) for value, label in FlagKind.choices],
        w.count,
        w.total_count,
    )

    committed, eligible, paid = export.results_based
    w.headers(
        "Results-based payouts (committed tranches)",
        [
            "Committed (commitment-date rates)",
            "Earned (eligible, as-of rate)",
            "Paid (payment-date rates)",
        ],
        [LABEL_WIDTH] + [MONEY_WIDTH] * 3,
    )
    w.text(0, "Committed results-based tranches")
    for n, value in enumerate((committed, eligible, paid), 1):
        ws.write_number(w.row, n, value, w.money)
    w.skip(2)

    # One definition of leverage for every door (funding.figures.leverage).
    w.headers("Leverage (per unit of grant committed)", ["Ratio"], [LABEL_WIDTH, MONEY_WIDTH])
    w.text(0, "Loan and results-based money")
    ratio = figures.leverage(
        {value: export.by_instrument[value].committed for value in Instrument.values}
    )
    if ratio is not None:
        ws.write_number(w.row, 1, ratio, w.ratio)
    w.skip(2)

    # The charts go on a page of their own, so none is cut across a page.
    w.skip()
    ws.set_h_pagebreaks([w.row])
    first_chart = w.row
    slices = pie_slices(export.by_purpose)
    charts = [
        instrument_chart(book, ws, export.currency, instruments),
        purpose_chart(book, ws, first_chart, len(slices)),
        status_chart(book, ws, statuses),
    ]
    rows_per_chart = -(-CHART_HEIGHT // 20) + 1  # default rows are 20 pixels high
    for n, chart in enumerate(charts):
        ws.insert_chart(first_chart + n * rows_per_chart, 0, chart, {"x_offset": 2, "y_offset": 4})
    # The pie's own data (small slices grouped), in hidden columns beside the charts.
    ws.set_column(CHART_DATA_COLUMN, CHART_DATA_COLUMN + 1, 24, None, {"hidden": True})
    for n, (label, value) in enumerate(slices):
        w.book.text(ws, first_chart + n, CHART_DATA_COLUMN, label)
        ws.write_number(first_chart + n, CHART_DATA_COLUMN + 1, value, w.money)
    # The print area ends under the last chart, so the page count is what is drawn.
    ws.print_area(0, 0, first_chart + len(charts) * rows_per_chart, 5)
    book.print_setup(ws, landscape=False)


def _axis(name, **extra):
    return {
        "name": name,
        "name_font": {**CHART_FONT, "bold": False},
        "num_font": CHART_FONT,
        **extra,
    }


def _chart(book, kind, title, subtype=None):
    options = {"type": kind}
    if subtype:
        options["subtype"] = subtype
    chart = book.wb.add_chart(options)
    chart.set_title({"name": title, "name_font": TITLE_FONT})
    chart.set_size({"width": CHART_WIDTH, "height": CHART_HEIGHT})
    chart.set_legend({"position": "bottom", "font": CHART_FONT})
    chart.set_chartarea({"border": {"none": True}})
    return chart


def instrument_chart(book, ws, currency, table):
    top, last = table
    chart = _chart(book, "column", f"Committed and disbursed by instrument ({currency})")
    for col, colour in ((1, "#1F3864"), (2, "#8EA9DB")):
        chart.add_series(
            {
                "name": [ws.name, top, col],
                "categories": [ws.name, top + 1, 0, last, 0],
                "values": [ws.name, top + 1, col, last, col],
                "fill": {"color": colour},
            }
        )
    chart.set_x_axis(_axis("Instrument"))
    chart.set_y_axis(_axis(currency, num_format="#,##0", major_gridlines={"visible": True}))
    return chart


def pie_slices(by_purpose) -> list[tuple[str, Decimal]]:
    """Committed money by purpose, without empty slices, and slices under SMALL_SLICE of the
    whole grouped into one, so every slice is big enough to carry a readable label."""
    values = [(label, by_purpose[purpose].committed) for purpose, label in PURPOSE_SHORT.items()]
    values = [(label, value) for label, value in values if value] or values  # no empty slices
    whole = sum((value for _, value in values), Decimal(0))
    if not whole:
        return values
    small = [(label, value) for label, value in values if value / whole < SMALL_SLICE]
    if len(small) < 2:
        return values
    big = [(label, value) for label, value in values if value / whole >= SMALL_SLICE]
    grouped = "Smaller: " + ", ".join(label for label, value in small)
    return [*big, (grouped, sum((value for _, value in small), Decimal(0)))]


def purpose_chart(book, ws, first_row, count):
    chart = _chart(book, "pie", "Committed by purpose (share of committed money)")
    last = first_row + count - 1
    chart.add_series(
        {
            "name": "Committed",
            "categories": [ws.name, first_row, CHART_DATA_COLUMN, last, CHART_DATA_COLUMN],
            "values": [ws.name, first_row, CHART_DATA_COLUMN + 1, last, CHART_DATA_COLUMN + 1],
            # Every slice labelled, outside with a leader line.
            "data_labels": {
                "percentage": True,
                "category": True,
                "separator": "\n",
                "position": "outside_end",
                "leader_lines": True,
                "num_format": "0.0%",
                "font": CHART_FONT,
            },
            "points": [
                {"fill": {"color": colour}}
                for colour in ("#1F3864", "#2E75B6", "#9DC3E6", "#A5A5A5")
            ],
        }
    )
    chart.set_legend({"position": "right", "font": CHART_FONT})
    chart.show_hidden_data()
    return chart


def status_chart(book, ws, table):
    top, last = table
    chart = _chart(book, "bar", "Projects by status")
    chart.add_series(
        {
            "name": [ws.name, top, 1],
            "categories": [ws.name, top + 1, 0, last, 0],
            "values": [ws.name, top + 1, 1, last, 1],
            "fill": {"color": "#2E75B6"},
            "data_labels": {"value": True, "font": CHART_FONT},
        }
    )
    # A bar chart draws its first category at the bottom; reversed, the bars run in the
    # order of the table beside them.
    chart.set_y_axis(_axis("Status", reverse=True, crossing="max"))
    chart.set_x_axis(_axis("Projects", num_format="0", major_gridlines={"visible": True}))
    chart.set_legend({"none": True})
    return chart


# --- Cover --------------------------------------------------------------------------------


def write_cover(export, ws):
    book, filters = export.book, export.filters
    label_width, text_width = 26, 84
    ws.set_column(0, 0, label_width)
    ws.set_column(1, 1, text_width)
    ws.hide_gridlines(2)
    bold = book.format(bold=True, wrap=True)
    wrap = book.format(wrap=True)
    dated = book.format(DATE, align="left", wrap=True)
    stamped = book.format(DATETIME, align="left", wrap=True)
    count = book.format(COUNT, align="left", wrap=True)
    generated = timezone.localtime().replace(tzinfo=None, microsecond=0)
    row = 0

    def line(label, value, fmt=wrap):
        nonlocal row
        if isinstance(value, str):
            lines = max(lines_needed(value, text_width), lines_needed(label, label_width))
            ws.set_row(row, row_height(lines))
        book.text(ws, row, 0, label, bold)
        book.write(ws, row, 1, value, fmt)
        row += 1

    ws.set_row(0, LINE_HEIGHT * 2)
    book.text(ws, 0, 0, "Portfolio summary workbook", book.format(bold=True, size=14))
    row = 2
    for label, value in filters.described():
        line(label, value)
    line("As-of date", export.as_of, dated)
    line(
        "As of means",
        "A snapshot: tranches committed after this date, disbursements after it and exchange "
        "rates after it are not in this workbook.",
    )
    line("Reporting currency", export.currency)
    line("Conversion", CONVERSION)
    line("As-of exchange rates", rate_source(export))
    line(f"Generated ({settings.TIME_ZONE})", generated, stamped)
    line("Rows", sum(sheet.rows for sheet in export.sheets.values()), count)
    row += 1
    sheets = SHEETS[1:] + ([SCHEDULES_SHEET] if filters.with_schedules else [])
    line("Sheets", ", ".join(sheets))
    line(
        "Totals",
        "Each total adds one kind of money: a converted column adds one status, converted one "
        "way; money in a tranche's own currency is totalled per currency. Totals under a list "
        "follow its filter.",
    )
    line(
        "Maintenance coverage",
        "Launched projects only. Months: Secured (green), Pipeline – planned money only "
        "(amber), Gap – not covered (red), grey outside the obligation window.",
    )
    line(
        "Standard indicators",
        "Per standard indicator and group: each adopting project's verified value (its latest, "
        "or the sum of its periods when cumulative) and the portfolio total where adding up is "
        "meaningful: counts add, percentages come from numerators and denominators, medians "
        "and scores are not added.",
    )
    line(
        "Loans",
        "One row per committed (signed) loan with loan terms: its terms, where its "
        "repayment schedule stands on the as-of date, and its status: principal disbursed, "
        "repaid and outstanding, interest received, arrears and days overdue."
        + (
            " Loan schedules: every instalment, paid, due, overdue or upcoming."
            if filters.with_schedules
            else " Every instalment comes when the export is asked with schedules."
        ),
    )
    line(
        "Funder and instrument filters",
        "Select the tranches shown and the projects that have one; coverage is always the "
        "whole project's.",
    )
    for warning in warnings(export):
        line("Warning", warning)
    book.print_setup(ws, landscape=False, pages_tall=1)


def rate_source(export) -> str:
    currencies = sorted(export.as_of_currencies)
    if not currencies:
        return f"No conversion needed: every amount is in {export.currency}."
    used = {}
    for currency in currencies:
        try:
            conversion = export.rates.convert(Decimal(1), currency, export.as_of)
        except NoRateError:  # reported among the warnings
            continue
        used[currency] = (conversion.rate, conversion.rate_date)
    sources = selectors.rate_sources(
        export.currency, [(c, rate_date) for c, (_, rate_date) in used.items()]
    )
    parts = [
        f"1 {currency} = {rate.normalize():f} {export.currency} on {rate_date} "
        f"({sources.get((currency, rate_date)) or 'source not recorded'})"
        for currency, (rate, rate_date) in used.items()
    ]
    return (
        "Latest rate on or before the as-of date (undisbursed and planned money, revaluation): "
        + "; ".join(parts)
        if parts
        else "No rate on or before the as-of date."
    )


def warnings(export):
    for currency, count in sorted(export.unconverted.items()):
        yield (
            f"{count:,} tranches in {currency} lack a {currency} to {export.currency} rate on or "
            f"before a date they need (commitment, payment or as-of date); they are left out "
            f"of the converted totals."
        )
    if export.bad_schedules:
        yield f"{export.bad_schedules:,} loan tranches have terms that give no repayment schedule."

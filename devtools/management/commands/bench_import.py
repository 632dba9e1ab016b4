"""manage.py bench_import: time the tranche import of workbooks of 2,000 and 20,000 rows.

Budget (DESIGN.md, issue 22): 20,000 rows in under 20 s on 2 cores. Each size is timed
three ways: a first upload that creates every tranche, the same file again (nothing
changes), and a file in which every row changed (every tranche updated). Figures are printed
as soon as each is measured.
"""

import os
import time
import zipfile
from datetime import date, timedelta
from decimal import Decimal
from io import BytesIO

import xlsxwriter
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from openpyxl.utils import get_column_letter

from devtools import synthetic
from funding.models import Tranche
from funding.tranche_import import IMPORT_COLUMNS, import_tranches

BUDGET_SECONDS = {20_000: 20.0}
PROJECTS = 200
REFERENCE_PREFIX = "BENCH-IMPORT-"


class QueryCounter:
    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def workbook(rows, funders, amount_step=Decimal("0.00")) -> SimpleUploadedFile:
    """A Tranches sheet of `rows` valid rows over the synthetic projects and funders, written
    as Excel writes it (strings shared, dates as styled serial numbers)."""
    out = BytesIO()
    book = xlsxwriter.Workbook(out, {"default_date_format": "yyyy-mm-dd"})
    ws = book.add_worksheet("Tranches")
    ws.write_row(0, 0, [column.header for column in IMPORT_COLUMNS])
    for n in range(rows):
        maintenance = n % 3 == 0
        start = date(2025, 1, 1) + timedelta(days=n % 700)
        values = [
            synthetic.PORTFOLIO_NAME,
            f"SYN-{n % PROJECTS:06d}",
            funders[n % len(funders)],
            f"{REFERENCE_PREFIX}{n:06d}",
            ("grant", "loan", "grant", "results_based")[n % 4],
            "maintenance" if maintenance else ("launch", "capacity", "other")[n % 3],
            ("committed", "planned")[n % 2],
            float(Decimal(10_000 + n) + amount_step),
            ("USD", "EUR", "KES")[n % 3],
            date(2024, 12, 1),
            start,
            start if maintenance else None,
            start + timedelta(days=364) if maintenance else None,
            f"Benchmark row {n}",
        ]
        for column, value in enumerate(values):
            if value is not None:
                ws.write(n + 1, column, value)
    book.close()
    return SimpleUploadedFile("bench.xlsx", out.getvalue())


def hostile_files():
    """The issue's three shapes that once held a web worker for seconds or killed it."""
    header = "".join(
        f'<c r="{get_column_letter(n)}1" t="inlineStr"><is><t>{column.header}</t></is></c>'
        for n, column in enumerate(IMPORT_COLUMNS, 1)
    )

    def sheet(dimension, rows):
        return (
            (
                '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                f'<dimension ref="{dimension}"/><sheetData><row r="1">{header}</row>'
            ).encode()
            + rows
            + b"</sheetData></worksheet>"
        )

    shapes = {
        "one row at r=1048576": sheet(
            "A1:N1048576", b'<row r="1048576"><c r="A1048576"><v>1</v></c></row>'
        ),
        "200k rows, unheaded column, A1:XFD1048576": sheet(
            "A1:XFD1048576",
            b"".join(
                b'<row r="%d"><c r="T%d"><v>%d</v></c></row>' % (n, n, n * 7919)
                for n in range(2, 200_002)
            ),
        ),
        "a cell in XFD on each of 1M rows": sheet(
            "A1:XFD1048576",
            b"".join(
                b'<row r="%d"><c r="XFD%d"><v>%d</v></c></row>' % (n, n, n * 7919)
                for n in range(2, 1_000_002)
            ),
        ),
    }
    template = BytesIO()
    book = xlsxwriter.Workbook(template)
    book.add_worksheet("Tranches")
    book.close()
    for label, xml in shapes.items():
        source = zipfile.ZipFile(BytesIO(template.getvalue()))
        out = BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
            for item in source.infolist():
                data = xml if item.filename == "xl/worksheets/sheet1.xml" else source.read(item)
                target.writestr(item.filename, data)
        yield label, SimpleUploadedFile("hostile.xlsx", out.getvalue())


class Command(BaseCommand):
    help = "Benchmark the tranche import: rows per second at 2,000 and 20,000 rows."

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, nargs="+", default=[2_000, 20_000])

    def handle(self, *args, rows, **options):
        if synthetic.real_projects_exist():
            raise CommandError(
                "Run the benchmark against a throwaway database: this one holds real projects."
            )
        self.stdout.write(
            f"Database: {connection.vendor}; {os.cpu_count()} cores, load average "
            f"{os.getloadavg()[0]:.1f} (wall time stretches with it; CPU time is this process's); "
            f"{PROJECTS} synthetic projects, 5 funders"
        )
        synthetic.build(PROJECTS, tranches_per_project=0, with_results=False)
        funders = sorted(
            synthetic.Organisation.objects.filter(
                name__startswith=synthetic.ORGANISATION_PREFIX, is_funder=True
            ).values_list("name", flat=True)
        )
        manager, _ = get_user_model().objects.get_or_create(
            username=f"{synthetic.USER_PREFIX}importer", defaults={"is_superuser": True}
        )
        self.stdout.write(
            f"{'rows':>7} {'upload':<8} {'wall s':>7} {'CPU s':>6} {'rows/s':>7} {'queries':>7}  result"
        )
        try:
            for size in rows:
                self._erase()
                first = workbook(size, funders)
                changed = workbook(size, funders, amount_step=Decimal("1.00"))
                for label, upload in (("new", first), ("same", first), ("changed", changed)):
                    upload.seek(0)
                    counter = QueryCounter()
                    started, cpu = time.perf_counter(), time.process_time()
                    with connection.execute_wrapper(counter):
                        result = import_tranches(upload, manager)
                    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
                    if result.errors:
                        raise CommandError(f"The import refused the file: {result.errors[:3]}")
                    budget = BUDGET_SECONDS.get(size)
                    verdict = ""
                    if budget is not None:
                        verdict = (
                            "  within budget" if elapsed < budget else f"  OVER {budget:.0f} s"
                        )
                    self.stdout.write(
                        f"{size:>7,} {label:<8} {elapsed:>7.2f} {cpu:>6.2f} {size / elapsed:>7,.0f} "
                        f"{counter.count:>7,}  created {result.created:,}, updated "
                        f"{result.updated:,}, unchanged {result.unchanged:,}{verdict}"
                    )
                    self.stdout.flush()
            self.stdout.write("Hostile files (refused before any row is checked):")
            for label, upload in hostile_files():
                started = time.perf_counter()
                result = import_tranches(upload, manager)
                elapsed = time.perf_counter() - started
                reason = result.errors[0].reason if result.errors else "NOT REFUSED"
                self.stdout.write(
                    f"  {label:<44} {upload.size / 1024:>7,.0f} KB  {elapsed:>6.3f} s  {reason}"
                )
                self.stdout.flush()
        finally:
            self._erase()
            manager.delete()
            synthetic.clean()

    def _erase(self):
        imported = Tranche.objects.filter(funder_reference__startswith=REFERENCE_PREFIX)
        Tranche.history.filter(funder_reference__startswith=REFERENCE_PREFIX)._raw_delete(
            connection.alias
        )
        imported._raw_delete(connection.alias)

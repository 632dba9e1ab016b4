"""manage.py bench_export: time the workbook export against openpyxl writing the same cells."""

import gc
import os
import resource
import tempfile
import time
import tracemalloc
from copy import copy
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import Cell
from openpyxl.cell.read_only import EmptyCell
from openpyxl.utils import get_column_letter

from devtools import synthetic
from funding import scan
from projects.models import Project
from reporting.workbook import ExportFilters, write_workbook

TIME_BUDGET = 1.5  # times the openpyxl floor
MEMORY_BUDGET_MB = 300
GROWTH_BUDGET = 1.25  # peak at the full size over peak at a fifth of it
QUARTERS = [
    (date(2025, 1, 1), date(2025, 3, 31)),
    (date(2025, 4, 1), date(2025, 6, 30)),
    (date(2025, 7, 1), date(2025, 9, 30)),
    (date(2025, 10, 1), date(2025, 12, 31)),
]


def mb(size):
    return size / 1024 / 1024


class Command(BaseCommand):
    help = (
        "Benchmark the Excel export on a synthetic portfolio: export time beside the time "
        "openpyxl alone takes to write the same cells, and peak memory at two sizes."
    )

    def add_arguments(self, parser):
        parser.add_argument("--projects", type=int, default=10_000)
        parser.add_argument("--tranches", type=int, default=100_000)
        parser.add_argument("--indicators", type=int, default=20_000)
        parser.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 3, 1))
        parser.add_argument("--keep", action="store_true", help="Keep the synthetic data.")
        parser.add_argument(
            "--reuse", action="store_true", help="Use the synthetic data already there."
        )

    def handle(self, *args, projects, tranches, indicators, as_of, keep, reuse, **options):
        if synthetic.real_projects_exist():
            raise CommandError(
                "Run the benchmark against a throwaway database: this one holds real projects."
            )
        out = self.stdout.write
        out(f"Database: {connection.vendor}")
        if not reuse:
            started = time.perf_counter()
            built = synthetic.build(projects, tranches_per_project=max(tranches // projects, 1))
            extra = synthetic.add_indicators(indicators - built.indicators)
            scan.scan_lapses(as_of)  # so the flag columns have something to show
            out(
                f"Built {built} (+{extra:,} indicators) and scanned in "
                f"{time.perf_counter() - started:.1f} s"
            )
        filters = ExportFilters(as_of=as_of)
        folder = tempfile.mkdtemp(prefix="bench-export-")
        path = os.path.join(folder, "export.xlsx")
        try:
            exported, rows = self.timed_export(path, filters)
            size = os.path.getsize(path)
            out(
                f"Export: {exported:.1f} s, {rows:,} rows, {mb(size):.1f} MB file; "
                f"process peak RSS so far {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
            )
            sheets, cells = self.read_back(path)
            floor = self.openpyxl_floor(sheets, os.path.join(folder, "floor.xlsx"))
            del sheets
            gc.collect()
            ratio = exported / floor
            out(
                f"openpyxl alone writing the same {cells:,} cells (values and styles, no "
                f"charts): {floor:.1f} s -> export takes {ratio:.2f}x the floor "
                f"(budget {TIME_BUDGET}x): {'OK' if ratio <= TIME_BUDGET else 'OVER'}"
            )
            country = Project.objects.values_list("country", flat=True).first()
            small = ExportFilters(country=country, as_of=as_of)
            small_peak, small_rows = self.traced_export(os.path.join(folder, "small.xlsx"), small)
            full_peak, full_rows = self.traced_export(path, filters)
            growth = full_peak / small_peak
            out(
                f"Peak Python memory (tracemalloc) during the export: {mb(small_peak):.1f} MB for "
                f"{small_rows:,} rows (country {country}), {mb(full_peak):.1f} MB for "
                f"{full_rows:,} rows -> {growth:.2f}x for {full_rows / small_rows:.1f}x the rows"
            )
            out(
                f"Memory budget: peak under {MEMORY_BUDGET_MB} MB: "
                f"{'OK' if mb(full_peak) < MEMORY_BUDGET_MB else 'OVER'}; does not grow with "
                f"the rows (under {GROWTH_BUDGET}x): {'OK' if growth < GROWTH_BUDGET else 'OVER'}"
            )
        finally:
            for name in os.listdir(folder):
                os.remove(os.path.join(folder, name))
            os.rmdir(folder)
            if not keep:
                synthetic.clean()

    def timed_export(self, path, filters):
        gc.collect()
        started = time.perf_counter()
        rows = write_workbook(path, filters)
        return time.perf_counter() - started, rows

    def traced_export(self, path, filters):
        gc.collect()
        tracemalloc.start()
        try:
            rows = write_workbook(path, filters)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        return peak, rows

    def read_back(self, path):
        """Every cell of the export, its value and look, held in memory for the floor."""
        wb = load_workbook(path, read_only=True)
        looks = {}
        sheets, cells = [], 0
        for ws in wb.worksheets:
            rows = []
            for row in ws.iter_rows():
                line = []
                for cell in row:
                    if isinstance(cell, EmptyCell) or (cell.value is None and not cell.has_style):
                        continue
                    look = None
                    if cell.has_style:
                        look = looks.setdefault(
                            cell.style_array,
                            (cell.number_format, cell.font, cell.fill, cell.alignment),
                        )
                    line.append((cell.column, cell.value, look, cell.data_type == "s"))
                rows.append(line)
                cells += len(line)
            width = max((c for line in rows for c, *_ in line[-1:]), default=1)
            sheets.append((ws.title, width, rows))
        wb.close()
        return sheets, cells

    def openpyxl_floor(self, sheets, path):
        """Write the same cells with openpyxl's write-only mode, as fast as it goes: the floor."""
        gc.collect()
        started = time.perf_counter()
        wb = Workbook(write_only=True)
        styles = {}
        for title, width, rows in sheets:
            ws = wb.create_sheet(title)
            for n in range(1, width + 1):
                ws.column_dimensions[get_column_letter(n)].width = 14
            ws.freeze_panes = "A2"
            for line in rows:
                values = [None] * width
                for column, value, look, text in line:
                    if look is None and not (text and value[:1] == "="):
                        values[column - 1] = value
                        continue
                    if look not in styles:
                        template = Cell(ws, 1, 1)
                        if look is not None:
                            number_format, font, fill, alignment = look
                            template.number_format = number_format
                            template.font, template.fill = copy(font), copy(fill)
                            template.alignment = copy(alignment)
                        styles[look] = template._style
                    cell = Cell(ws, 1, 1, value=value, style_array=styles[look])
                    if text:
                        cell.data_type = "s"
                    values[column - 1] = cell
                ws.append(values)
            ws.auto_filter.ref = f"A1:{get_column_letter(width)}{len(rows)}"
        wb.save(path)
        return time.perf_counter() - started

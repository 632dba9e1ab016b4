"""manage.py bench_export: time the workbook export beside a raw floor, and its peak memory.

Budgets (DESIGN.md, issue 23): the default export of 10,000 projects and 100,000 tranches in
under 60 s on 2 cores, peak RSS under 250 MB whatever the size; long term, within 3x of the
raw floor (the same cell values written as sheet XML straight into a zip, no styles).

Before (openpyxl, schedules in the default workbook): 4 min 16 s, 128 MB peak RSS at that size.

Each line is printed as soon as its figure is known, so a stopped run keeps what it measured.
The export runs as `manage.py export_portfolio` in a process of its own, which reports its own
peak resident memory (the benchmark's memory, holding synthetic data, is not in it).
"""

import os
import re
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import date, datetime
from xml.sax.saxutils import escape

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from python_calamine import CalamineWorkbook
from xlsxwriter.utility import xl_col_to_name

from devtools import synthetic
from funding import scan
from projects.models import Project

TIME_BUDGET_S = 60
MEMORY_BUDGET_MB = 250
FLOOR_GOAL = 3  # times the raw floor, long term
EXCEL_EPOCH = datetime(1899, 12, 30)


def mb(size):
    return size / 1024 / 1024


def machine() -> str:
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as info:
            model = next(
                (line.split(":", 1)[1].strip() for line in info if line.startswith("model name")),
                model,
            )
    except OSError:
        pass
    load = ", ".join(f"{n:.1f}" for n in os.getloadavg())
    return f"{os.cpu_count()} cores, {model}; load average {load}"


class Command(BaseCommand):
    help = (
        "Benchmark the Excel export on a synthetic portfolio: export time and peak RSS beside "
        "a raw floor (the same cell values as sheet XML in a zip, no styles)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--projects", type=int, default=10_000)
        parser.add_argument("--tranches", type=int, default=100_000)
        parser.add_argument("--indicators", type=int, default=20_000)
        parser.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 3, 1))
        parser.add_argument(
            "--quick", action="store_true", help="A tenth of the sizes (a smoke test)."
        )
        parser.add_argument(
            "--with-schedules",
            action="store_true",
            help="Also time the export with every loan instalment (long).",
        )
        parser.add_argument("--keep", action="store_true", help="Keep the synthetic data.")
        parser.add_argument(
            "--reuse", action="store_true", help="Use the synthetic data already there."
        )

    def say(self, line):
        self.stdout.write(line)
        self.stdout.flush()

    def handle(self, *args, projects, tranches, indicators, as_of, quick, keep, reuse, **options):
        if quick:
            projects, tranches, indicators = projects // 10, tranches // 10, indicators // 10
        if synthetic.real_projects_exist():
            raise CommandError(
                "Run the benchmark against a throwaway database: this one holds real projects."
            )
        self.say(f"Machine: {machine()}; database: {connection.vendor}")
        if not reuse:
            started = time.perf_counter()
            built = synthetic.build(projects, tranches_per_project=max(tranches // projects, 1))
            extra = synthetic.add_indicators(indicators - built.indicators)
            scan.scan_lapses(as_of)  # so the flag columns have something to show
            # A database that has lived has statistics; one bulk-loaded a moment ago has none,
            # and the planner then takes a 100,000-row table for a few rows (a nested loop
            # of minutes per chunk where a hash join takes a tenth of a second).
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
            self.say(
                f"Built {built} (+{extra:,} indicators) and scanned in "
                f"{time.perf_counter() - started:.1f} s"
            )
        folder = tempfile.mkdtemp(prefix="bench-export-")
        try:
            self.measure(folder, as_of, options["with_schedules"])
        finally:
            for name in os.listdir(folder):
                os.remove(os.path.join(folder, name))
            os.rmdir(folder)
            if not keep:
                synthetic.clean()

    def measure(self, folder, as_of, with_schedules):
        path = os.path.join(folder, "export.xlsx")
        seconds, rows, peak = self.export(path, as_of)
        self.say(
            f"Export (default workbook): {seconds:.1f} s, {rows:,} rows, "
            f"{mb(os.path.getsize(path)):.1f} MB file, peak RSS {peak:.0f} MB "
            f"(budgets: under {TIME_BUDGET_S} s: {'OK' if seconds < TIME_BUDGET_S else 'OVER'}; "
            f"under {MEMORY_BUDGET_MB} MB: {'OK' if peak < MEMORY_BUDGET_MB else 'OVER'})"
        )
        country = Project.objects.values_list("country", flat=True).first()
        small_seconds, small_rows, small_peak = self.export(
            os.path.join(folder, "small.xlsx"), as_of, "--country", country
        )
        self.say(
            f"Export of one country ({country}): {small_seconds:.1f} s, {small_rows:,} rows, "
            f"peak RSS {small_peak:.0f} MB -> memory grows {peak / small_peak:.2f}x for "
            f"{rows / max(small_rows, 1):.1f}x the rows"
        )
        floor, floor_cpu, cells = raw_floor(path, os.path.join(folder, "floor.xlsx"))
        ratio, cpu_ratio = seconds / floor, self.export_cpu / floor_cpu
        self.say(
            f"Raw floor (the same {cells:,} cell values as sheet XML in a zip, no styles): "
            f"{floor:.1f} s ({floor_cpu:.1f} s of CPU) -> the export takes {ratio:.2f}x the "
            f"floor's wall time, {cpu_ratio:.2f}x its CPU time (goal within {FLOOR_GOAL}x: "
            f"{'OK' if cpu_ratio <= FLOOR_GOAL else 'not yet'})"
        )
        if with_schedules:
            seconds, rows, peak = self.export(
                os.path.join(folder, "schedules.xlsx"), as_of, "--with-schedules"
            )
            self.say(
                f"Export with full loan schedules: {seconds:.1f} s, {rows:,} rows, "
                f"peak RSS {peak:.0f} MB"
            )
        self.say(
            f"Summary: export {self.summary_seconds:.1f} s ({self.export_cpu:.1f} s of CPU; "
            f"budget {TIME_BUDGET_S} s), peak RSS {self.summary_peak:.0f} MB (budget "
            f"{MEMORY_BUDGET_MB} MB), {cpu_ratio:.2f}x the raw floor's CPU time"
        )

    def export(self, path, as_of, *extra):
        """Run export_portfolio in a process of its own: (seconds, rows, peak RSS in MB). Its
        CPU time is printed beside: on a busy machine it is the steadier figure."""
        command = [
            sys.executable,
            os.path.join(settings.BASE_DIR, "manage.py"),
            "export_portfolio",
            "--out",
            path,
            "--as-of",
            as_of.isoformat(),
            *extra,
        ]
        process = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
        output = process.stdout + process.stderr
        if process.returncode != 0:
            raise CommandError(f"export_portfolio failed:\n{output}")
        found = re.search(
            r"Wrote .*?: ([\d,]+) rows in ([\d.]+) s \(([\d.]+) s of CPU\); peak memory (\d+) MB",
            output,
        )
        # The command's own peak (VmHWM): the rusage of a child started by fork also counts
        # the benchmark's memory, copied before the command started.
        rows, seconds = int(found[1].replace(",", "")), float(found[2])
        cpu, peak = float(found[3]), int(found[4])
        self.say(
            f"  export_portfolio {' '.join(extra) or '(all)'}: {seconds:.1f} s of wall time, "
            f"{cpu:.1f} s of CPU in the exporting process (its database server works apart)"
        )
        if not extra:
            self.export_cpu = cpu
        if not extra:
            self.summary_seconds, self.summary_peak = seconds, peak
        return seconds, rows, peak


def raw_floor(path, out) -> tuple[float, float, int]:
    """Write the export's cell values (as a reader sees them) as bare sheet XML into a zip:
    inline strings, numbers and dates as serial numbers, no styles, no charts. Only the
    writing is timed; reading the values back is not."""
    book = CalamineWorkbook.from_path(path)
    seconds, cpu, cells = 0.0, 0.0, 0
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        names = book.sheet_names
        archive.writestr("[Content_Types].xml", content_types(len(names)))
        archive.writestr("_rels/.rels", ROOT_RELS)
        archive.writestr("xl/workbook.xml", workbook_xml(names))
        archive.writestr("xl/_rels/workbook.xml.rels", workbook_rels(len(names)))
        for number, name in enumerate(names, 1):
            rows = book.get_sheet_by_name(name).to_python()
            started, started_cpu = time.perf_counter(), time.process_time()
            with archive.open(f"xl/worksheets/sheet{number}.xml", "w", force_zip64=True) as sheet:
                sheet.write(SHEET_START)
                cells += write_rows(sheet, rows)
                sheet.write(SHEET_END)
            seconds += time.perf_counter() - started
            cpu += time.process_time() - started_cpu
            del rows
    return seconds, cpu, cells


def write_rows(sheet, rows) -> int:
    letters = [xl_col_to_name(n) for n in range(max((len(r) for r in rows), default=0))]
    cells = 0
    for r, row in enumerate(rows, 1):
        parts = [f'<row r="{r}">']
        for c, value in enumerate(row):
            if value == "" or value is None:
                continue
            ref = f"{letters[c]}{r}"
            if isinstance(value, str):
                parts.append(f'<c r="{ref}" t="inlineStr"><is><t>{escape(value)}</t></is></c>')
            elif isinstance(value, bool):
                parts.append(f'<c r="{ref}" t="b"><v>{int(value)}</v></c>')
            elif isinstance(value, datetime | date):
                moment = value if isinstance(value, datetime) else datetime(*value.timetuple()[:3])
                serial = (moment - EXCEL_EPOCH).total_seconds() / 86400
                parts.append(f'<c r="{ref}"><v>{serial:.10g}</v></c>')
            else:
                parts.append(f'<c r="{ref}"><v>{value!r}</v></c>')
            cells += 1
        parts.append("</row>")
        sheet.write("".join(parts).encode())
    return cells


SHEET_START = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
)
SHEET_END = b"</sheetData></worksheet>"
ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)


def content_types(count):
    sheets = "".join(
        f'<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        for n in range(1, count + 1)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
        f'officedocument.spreadsheetml.sheet.main+xml"/>{sheets}</Types>'
    )


def workbook_xml(names):
    sheets = "".join(
        f'<sheet name="{escape(name)}" sheetId="{n}" r:id="rId{n}"/>'
        for n, name in enumerate(names, 1)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        f"<sheets>{sheets}</sheets></workbook>"
    )


def workbook_rels(count):
    rels = "".join(
        f'<Relationship Id="rId{n}" Type="http://schemas.openxmlformats.org/officeDocument/'
        f'2006/relationships/worksheet" Target="worksheets/sheet{n}.xml"/>'
        for n in range(1, count + 1)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f"{rels}</Relationships>"
    )

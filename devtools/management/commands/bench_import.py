"""manage.py bench_import: time the tranche import of workbooks of 2,000 and 20,000 rows.

Budget (DESIGN.md, issue 22): 20,000 rows in under 20 s on 2 cores. Each size is timed
three ways: a first upload that creates every tranche, the same file again (nothing
changes), and a file in which every row changed (every tranche updated). Figures are printed
as soon as each is measured.
"""

import os
import time
from datetime import date, timedelta
from decimal import Decimal
from io import BytesIO

from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from openpyxl import Workbook

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
    """A Tranches sheet of `rows` valid rows, spread over the synthetic projects and funders."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Tranches")
    ws.append([column.header for column in IMPORT_COLUMNS])
    for n in range(rows):
        maintenance = n % 3 == 0
        start = date(2025, 1, 1) + timedelta(days=n % 700)
        ws.append(
            [
                synthetic.PORTFOLIO_NAME,
                f"SYN-{n % PROJECTS:06d}",
                funders[n % len(funders)],
                f"{REFERENCE_PREFIX}{n:06d}",
                ("grant", "loan", "grant", "results_based")[n % 4],
                "maintenance" if maintenance else ("launch", "capacity", "other")[n % 3],
                ("committed", "planned")[n % 2],
                Decimal(10_000 + n) + amount_step,
                ("USD", "EUR", "KES")[n % 3],
                date(2024, 12, 1),
                start,
                start if maintenance else None,
                start + timedelta(days=364) if maintenance else None,
                f"Benchmark row {n}",
            ]
        )
    out = BytesIO()
    wb.save(out)
    return SimpleUploadedFile("bench.xlsx", out.getvalue())


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
            f"Database: {connection.vendor}; {os.cpu_count()} cores; "
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
        self.stdout.write(f"{'rows':>7} {'upload':<10} {'seconds':>8} {'rows/s':>8} {'queries':>8}  result")
        try:
            for size in rows:
                self._erase()
                first = workbook(size, funders)
                changed = workbook(size, funders, amount_step=Decimal("1.00"))
                for label, upload in (("new", first), ("same", first), ("changed", changed)):
                    upload.seek(0)
                    counter = QueryCounter()
                    started = time.perf_counter()
                    with connection.execute_wrapper(counter):
                        result = import_tranches(upload, manager)
                    elapsed = time.perf_counter() - started
                    if result.errors:
                        raise CommandError(f"The import refused the file: {result.errors[:3]}")
                    budget = BUDGET_SECONDS.get(size)
                    verdict = "" if budget is None else ("  within budget" if elapsed < budget else f"  OVER the {budget:.0f} s budget")
                    self.stdout.write(
                        f"{size:>7,} {label:<10} {elapsed:>8.2f} {size / elapsed:>8,.0f} "
                        f"{counter.count:>8,}  created {result.created:,}, updated "
                        f"{result.updated:,}, unchanged {result.unchanged:,}{verdict}"
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

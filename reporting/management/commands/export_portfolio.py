"""manage.py export_portfolio: write the portfolio summary workbook to a file."""

import resource
import time
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from portfolio.models import Organisation, Portfolio
from reporting.workbook import ExportFilters, write_workbook

BAR_WIDTH = 30


def peak_memory_mb() -> float:
    """This process's peak resident memory since it started (Linux's VmHWM; elsewhere the
    peak rusage reports, which may include the parent's memory before the command started)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _find(model, value, **extra):
    """A row by id or by exact name."""
    queryset = model.objects.filter(**extra)
    found = queryset.filter(pk=int(value)) if value.isdigit() else queryset.filter(name=value)
    row = found.first()
    if row is None:
        raise CommandError(f"No {model._meta.verbose_name} {value!r}.")
    return row.pk


class Command(BaseCommand):
    help = "Write the portfolio summary workbook (.xlsx) for finance staff."

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True, help="Path of the .xlsx file to write.")
        parser.add_argument("--portfolio", help="Portfolio name or id (default: all).")
        parser.add_argument("--funder", help="Funder name or id: only its tranches.")
        parser.add_argument("--country", default="", help="ISO 3166 code, e.g. KE.")
        parser.add_argument("--instrument", default="", help="grant, loan or results_based.")
        parser.add_argument(
            "--as-of", type=date.fromisoformat, help="Date (YYYY-MM-DD); default today."
        )
        parser.add_argument(
            "--with-schedules",
            action="store_true",
            help="Add every instalment of every loan (by default: one row per loan).",
        )

    def handle(
        self, *args, out, portfolio, funder, country, instrument, as_of, with_schedules, **options
    ):
        try:
            filters = ExportFilters(
                portfolio=_find(Portfolio, portfolio) if portfolio else None,
                funder=_find(Organisation, funder, is_funder=True) if funder else None,
                country=country.upper(),
                instrument=instrument,
                as_of=as_of,
                with_schedules=with_schedules,
            )
        except ValueError as error:
            raise CommandError(str(error)) from error
        # A bar only on a terminal: redirected into a log, it would be noise.
        bar = self.bar if self.stdout.isatty() else None
        started, cpu = time.perf_counter(), time.process_time()
        rows = write_workbook(out, filters, progress=bar)
        if bar:
            self.stdout.write("")
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        self.stdout.write(
            f"Wrote {out}: {rows:,} rows in {seconds:.1f} s ({cpu:.1f} s of CPU); "
            f"peak memory {peak_memory_mb():.0f} MB."
        )

    def bar(self, percent):
        filled = BAR_WIDTH * percent // 100
        self.stdout.write(
            f"\r[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {percent:3d}%", ending=""
        )
        self.stdout.flush()

"""manage.py bench_loans: time the loan statuses (outstanding, arrears) of N synthetic loans."""

import json
import time
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from devtools import synthetic
from funding import selectors
from funding.models import Tranche

from .bench_lapse_scan import QueryCounter, peak_rss_mb


class Command(BaseCommand):
    help = (
        "Benchmark selectors.loan_statuses on N synthetic loans (five to a project), repaid "
        "instalment by instalment, a quarter of them in arrears."
    )

    def add_arguments(self, parser):
        parser.add_argument("--loans", type=int, default=10_000)
        parser.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 11, 28))
        parser.add_argument(
            "--keep", action="store_true", help="Keep the synthetic data afterwards."
        )
        parser.add_argument(
            "--json",
            action="store_true",
            dest="json_lines",
            help="Also print the figures as JSON lines (rows of manage.py bench's table).",
        )

    def say(self, line):
        self.stdout.write(line)
        self.stdout.flush()

    def handle(self, *args, loans, as_of, keep, json_lines, **options):
        if synthetic.real_projects_exist():
            raise CommandError(
                "Run the benchmark against a throwaway database: this one holds real projects."
            )
        self.say(f"Database: {connection.vendor}; building {loans:,} loans ...")
        started = time.perf_counter()
        counts = synthetic.build_loans(loans, as_of)
        self.say(f"  built in {time.perf_counter() - started:.1f} s: {counts}")
        synthetic_loans = Tranche.objects.filter(project__portfolio__name=synthetic.PORTFOLIO_NAME)
        part = f"loan statuses, {loans:,} loans"
        try:
            for label, measure in (
                ("loan statuses", lambda: _statuses(synthetic_loans, as_of)),
                ("overdue repayments (the scan's read)", lambda: _overdue(as_of)),
            ):
                counter = QueryCounter()
                started = time.perf_counter()
                with connection.execute_wrapper(counter):
                    found = measure()
                elapsed = time.perf_counter() - started
                self.say(
                    f"{label}: {elapsed:.2f} s, {counter.count} queries, peak RSS "
                    f"{peak_rss_mb():.0f} MB; {found}"
                )
                if json_lines:
                    for figure, value in (
                        ("time", f"{elapsed:.2f} s"),
                        ("queries", str(counter.count)),
                    ):
                        row = {"part": part, "figure": f"{label}: {figure}", "value": value}
                        self.say(json.dumps(row | {"budget": "fixed queries", "holds": None}))
        finally:
            if not keep:
                synthetic.clean()


def _overdue(as_of):
    statuses = selectors.overdue_repayments(as_of)
    return f"{len(statuses):,} projects with a loan in arrears"


def _statuses(tranches, as_of):
    statuses = selectors.loan_statuses(tranches, as_of)
    in_arrears = sum(1 for s in statuses.values() if s.in_arrears)
    return f"{len(statuses):,} loans, {in_arrears:,} in arrears"

"""manage.py bench_lapse_scan: time the lapse scan over synthetic launched projects."""

import json
import resource
import time
from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from devtools import synthetic
from funding import scan


class QueryCounter:
    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


BUDGET_SECONDS = 60  # DESIGN.md: "seconds, not minutes"


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Command(BaseCommand):
    help = "Benchmark the lapse scan on N synthetic launched projects with three maintenance tranches each."

    def add_arguments(self, parser):
        parser.add_argument("--projects", type=int, default=100_000)
        parser.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 3, 1))
        parser.add_argument(
            "--keep", action="store_true", help="Keep the synthetic data afterwards."
        )
        parser.add_argument(
            "--json",
            action="store_true",
            dest="json_lines",
            help="Also print each scan's figures as a JSON line.",
        )

    def say(self, line):
        self.stdout.write(line)
        self.stdout.flush()  # each figure the moment it is measured, even into a pipe

    def handle(self, *args, projects, as_of, keep, json_lines, **options):
        if synthetic.real_projects_exist():
            raise CommandError(
                "Run the benchmark against a throwaway database: this one holds real projects."
            )
        self.say(f"Database: {connection.vendor}; building {projects:,} launched projects ...")
        started = time.perf_counter()
        # Only what the scan reads: three years of maintenance per project (seed_scale builds
        # the full portfolio, with tranches of every kind and results); set-based where the
        # database can, as 100,000 projects one batch at a time take minutes.
        if connection.vendor == "postgresql":
            synthetic.build_launched(projects)
        else:
            synthetic.build(
                projects, tranches_per_project=3, with_results=False, launched_only=True
            )
        self.say(f"  built in {time.perf_counter() - started:.1f} s")
        part = f"lapse scan, {projects:,} projects"
        try:
            for label in (
                "first scan (raises every flag)",
                "second scan, same day (changes nothing)",
                "next day",
            ):
                day = as_of if "next" not in label else as_of + timedelta(days=1)
                counter = QueryCounter()
                rss_before = peak_rss_mb()
                started = time.perf_counter()
                with connection.execute_wrapper(counter):
                    result = scan.scan_lapses(day, dry_run=False)
                elapsed = time.perf_counter() - started
                self.say(
                    f"{label}: {elapsed:.2f} s, {counter.count} queries, peak RSS "
                    f"{peak_rss_mb():.0f} MB (was {rss_before:.0f} MB), {result.as_dict()}"
                )
                if json_lines:
                    # Rows of manage.py bench's table: {"part", "figure", "value", "budget", "holds"}
                    for figure, value, budget, holds in (
                        (
                            "time",
                            f"{elapsed:.1f} s",
                            f"< {BUDGET_SECONDS} s",
                            elapsed < BUDGET_SECONDS,
                        ),
                        ("queries", str(counter.count), "set-based", None),
                        ("peak RSS", f"{peak_rss_mb():.0f} MB", "", None),
                    ):
                        row = {"part": part, "figure": f"{label}: {figure}", "value": value}
                        self.say(json.dumps(row | {"budget": budget, "holds": holds}))
        finally:
            if not keep:
                synthetic.clean()

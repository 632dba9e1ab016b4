"""manage.py bench_lapse_scan: time the lapse scan over synthetic launched projects."""

import resource
import time
from datetime import date, timedelta
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from funding import services
from funding.models import LapseFlag, Tranche
from funding.signals import rescans_paused
from portfolio.models import Organisation, Portfolio
from projects.models import Project

BENCH_PORTFOLIO = "Benchmark (synthetic)"


class QueryCounter:
    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


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

    def handle(self, *args, projects, as_of, keep, **options):
        if Project.objects.exclude(portfolio__name=BENCH_PORTFOLIO).exists():
            raise CommandError(
                "Run the benchmark against a throwaway database: this one holds real projects."
            )
        self.stdout.write(
            f"Database: {connection.vendor}; building {projects:,} launched projects ..."
        )
        started = time.perf_counter()
        self.build(projects)
        self.stdout.write(f"  built in {time.perf_counter() - started:.1f} s")

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
                result = services.scan_lapses(day, dry_run=False)
            elapsed = time.perf_counter() - started
            self.stdout.write(
                f"{label}: {elapsed:.2f} s, {counter.count} queries, peak RSS {peak_rss_mb():.0f} MB "
                f"(was {rss_before:.0f} MB), {result.as_dict()}"
            )
        if not keep:
            self.clean()

    @transaction.atomic
    @rescans_paused()
    def build(self, n):
        self.clean()
        portfolio = Portfolio.objects.create(name=BENCH_PORTFOLIO, reminder_days=[])
        funder = Organisation.objects.create(name="Benchmark funder", is_funder=True)
        partner = Organisation.objects.create(name="Benchmark partner", is_implementer=True)
        launch = date(2025, 1, 1)
        batch = 5000
        for start in range(0, n, batch):
            created = Project.objects.bulk_create(
                [
                    Project(
                        portfolio=portfolio,
                        code=f"BENCH-{i:06d}",
                        title=f"Synthetic service {i}",
                        country="KE",
                        sector_code="22040",
                        implementing_partner=partner,
                        status=Project.Status.LAUNCHED,
                        launch_date=launch,
                        annual_maintenance_cost=Decimal("50000.00"),
                        maintenance_cost_currency="USD",
                    )
                    for i in range(start, min(start + batch, n))
                ]
            )
            if connection.vendor != "postgresql":  # only PostgreSQL returns ids from bulk_create
                created = list(Project.objects.filter(code__in=[p.code for p in created]))
            tranches = []
            for p in created:
                # Three years of maintenance; the last year only planned for every third project
                # (underfunded), and the second year cut short for every fifth (lapsed).
                i = int(p.code.rsplit("-", 1)[1])
                third_status = Tranche.Status.PLANNED if i % 3 == 0 else Tranche.Status.COMMITTED
                years = [
                    (date(2025, 1, 1), date(2025, 12, 31)),
                    (date(2026, 1, 1), date(2026, 12, 31) if i % 5 else date(2026, 2, 15)),
                ]
                for (start_day, end_day), status in [
                    *((y, Tranche.Status.COMMITTED) for y in years),
                    ((date(2027, 1, 1), date(2027, 12, 31)), third_status),
                ]:
                    tranches.append(
                        Tranche(
                            project=p,
                            funder=funder,
                            instrument=Tranche.Instrument.GRANT,
                            purpose=Tranche.Purpose.MAINTENANCE,
                            amount=Decimal("52000.00"),
                            currency="USD",
                            status=status,
                            committed_on=launch if status == Tranche.Status.COMMITTED else None,
                            covers_from=start_day,
                            covers_until=end_day,
                        )
                    )
            Tranche.objects.bulk_create(tranches, batch_size=batch)

    @transaction.atomic
    @rescans_paused()
    def clean(self):
        LapseFlag.objects.filter(project__portfolio__name=BENCH_PORTFOLIO).delete()
        Tranche.objects.filter(project__portfolio__name=BENCH_PORTFOLIO).delete()
        Project.objects.filter(portfolio__name=BENCH_PORTFOLIO).delete()
        Organisation.objects.filter(name__startswith="Benchmark ").delete()
        Portfolio.objects.filter(name=BENCH_PORTFOLIO).delete()

"""manage.py seed_scale: build a synthetic portfolio of any size, in bulk, for benchmarks."""

import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from devtools import synthetic


class Command(BaseCommand):
    help = (
        "Replace the synthetic portfolio with N projects and their tranches of every kind, "
        "loan terms, disbursements, indicators, targets and verified measurements. "
        "Refuses a database that holds real projects unless --force."
    )

    def add_arguments(self, parser):
        parser.add_argument("--projects", type=int, help="How many projects.")
        parser.add_argument(
            "--tranches-per-project",
            type=int,
            default=synthetic.TRANCHES_PER_PROJECT,
            help="Tranches per project (default %(default)s: one of every kind).",
        )
        parser.add_argument(
            "--clean", action="store_true", help="Only remove the synthetic portfolio."
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Run even though the database holds real (non-synthetic) projects.",
        )

    def handle(self, *args, projects, tranches_per_project, clean, force, **options):
        if not clean and projects is None:
            raise CommandError("Say how many projects: --projects N.")
        if (projects or 0) < 0 or tranches_per_project < 1:
            raise CommandError("--projects must be 0 or more and --tranches-per-project 1 or more.")
        if synthetic.real_projects_exist() and not force:
            raise CommandError(
                "This database holds real projects; seed a throwaway database "
                "(or pass --force to add the synthetic portfolio beside them)."
            )
        started = time.perf_counter()
        if clean:
            synthetic.clean()
            self.stdout.write(
                f"Removed the synthetic portfolio in {time.perf_counter() - started:.1f} s."
            )
            return
        built = synthetic.build(projects, tranches_per_project=tranches_per_project)
        self.stdout.write(
            f"Built {built} on {connection.vendor} in {time.perf_counter() - started:.1f} s."
        )

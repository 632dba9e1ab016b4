"""manage.py scan_lapses: raise, update and resolve maintenance lapse flags, and print them."""

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from funding import scan
from projects.models import Project


def parse_date(value):
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise CommandError(f"--as-of must be a date as YYYY-MM-DD, not {value!r}.") from error


class Command(BaseCommand):
    help = "Scan launched projects for lapsed or at-risk maintenance funding (the nightly job)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--as-of", type=parse_date, help="Scan as of this date (YYYY-MM-DD); default today."
        )
        parser.add_argument(
            "--project",
            action="append",
            metavar="CODE",
            help="Only this project code (repeatable).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Show what would change; save and send nothing."
        )

    def handle(self, *args, as_of=None, project=None, dry_run=False, **options):
        projects = None
        if project:
            projects = list(Project.objects.filter(code__in=project).values_list("pk", flat=True))
            if len(projects) < len(set(project)):
                found = set(Project.objects.filter(code__in=project).values_list("code", flat=True))
                raise CommandError(
                    f"Unknown project code: {', '.join(sorted(set(project) - found))}."
                )
        result = scan.scan_lapses(as_of, projects=projects, dry_run=dry_run)
        self.print_table(result)
        for warning in result.warnings:
            self.stderr.write(self.style.WARNING(warning))
        counts = result.as_dict()
        summary = ", ".join(f"{k} {v}" for k, v in counts.items() if k != "as_of")
        prefix = "Dry run, nothing saved: " if dry_run else ""
        self.stdout.write(self.style.SUCCESS(f"{prefix}scan as of {counts['as_of']}: {summary}."))

    def print_table(self, result):
        codes = dict(
            Project.objects.filter(pk__in={f.project_id for f in result.flags}).values_list(
                "pk", "code"
            )
        )
        header = ("project", "flag", "gap start", "gap end", "days to lapse", "raised")
        rows = [
            (
                codes.get(flag.project_id, str(flag.project_id)),
                flag.kind,
                str(flag.gap_start or ""),
                str(flag.gap_end or ""),
                "" if flag.days_to_lapse is None else str(flag.days_to_lapse),
                flag.raised_at.strftime("%Y-%m-%d %H:%M"),
            )
            for flag in result.flags
        ]
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        for row in [header, *rows]:
            self.stdout.write(
                "  ".join(
                    cell.ljust(width) for cell, width in zip(row, widths, strict=True)
                ).rstrip()
            )
        if not rows:
            self.stdout.write("No open flags.")

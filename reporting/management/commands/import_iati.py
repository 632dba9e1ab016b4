"""Import an IATI activity file into a portfolio: projects, organisations and tranches."""

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from reporting import iati_import

from .export_iati import find_portfolio


class Command(BaseCommand):
    help = (
        "Import an IATI 2.0x iati-activities XML file into a portfolio, as a user: all of it "
        "or nothing; every problem is listed with its XPath."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The IATI activity file (.xml).")
        parser.add_argument("--portfolio", required=True, help="Portfolio name or id.")
        parser.add_argument(
            "--user",
            required=True,
            help="Username of the person importing: the role table applies to them and the "
            "history names them.",
        )

    def handle(self, *args, file, portfolio, user, **options):
        found = find_portfolio(portfolio)
        person = get_user_model().objects.filter(username=user).first()
        if person is None:
            raise CommandError(f"No user is named {user!r}.")
        try:
            with open(file, "rb") as upload:
                result = iati_import.import_activities(upload, found, person)
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror or error}.") from error
        except PermissionDenied as error:
            raise CommandError(str(error)) from error
        if not result.ok:
            lines = [f"  {problem.xpath}: {problem.reason}" for problem in result.errors]
            raise CommandError(
                f"Nothing was imported; {len(result.errors)} problem(s):\n" + "\n".join(lines)
            )
        summary = ", ".join(
            f"{kind} {counts.created} created, {counts.updated} updated, "
            f"{counts.unchanged} unchanged"
            for kind, counts in (
                ("projects", result.projects),
                ("organisations", result.organisations),
                ("tranches", result.tranches),
                ("disbursements", result.disbursements),
            )
        )
        self.stdout.write(self.style.SUCCESS(f"Imported into {found.name}: {summary}."))

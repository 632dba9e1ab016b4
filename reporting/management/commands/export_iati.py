"""Write a portfolio's projects as an IATI 2.03 activity file for the donors to publish."""

import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from portfolio.models import Portfolio
from reporting import iati


def find_portfolio(name_or_id):
    """The portfolio with this name, or else with this id."""
    portfolio = Portfolio.objects.filter(name=name_or_id).first()
    if portfolio is None and name_or_id.isascii() and name_or_id.isdigit():
        portfolio = Portfolio.objects.filter(pk=int(name_or_id)).first()
    if portfolio is None:
        names = ", ".join(repr(name) for name in Portfolio.objects.values_list("name", flat=True))
        raise CommandError(
            f"No portfolio is named or numbered {name_or_id!r}. Portfolios: {names or 'none'}."
        )
    return portfolio


class Command(BaseCommand):
    help = "Write a portfolio's projects as an IATI 2.03 iati-activities XML file."

    def add_arguments(self, parser):
        parser.add_argument("--portfolio", required=True, help="Portfolio name or id.")
        parser.add_argument("--out", required=True, help="The XML file to write.")
        parser.add_argument(
            "--reporting-org",
            default="",
            help="IATI identifier of the publishing organisation (default: the organisation "
            "the portfolio managers work for).",
        )

    def handle(self, *args, portfolio, out, reporting_org, **options):
        found = find_portfolio(portfolio)
        target = Path(out)
        if target.is_dir():
            raise CommandError(f"--out {out} is a folder; give a file name.")
        # Written beside the target and moved into place only when complete, so a failed
        # export never leaves a truncated file where the last good one was.
        partial = target.with_name(f".{target.name}.part")
        try:
            with open(partial, "wb") as f:
                written = iati.write_activities(f, found, reporting_org or None)
            os.replace(partial, target)
        except iati.ExportError as error:
            raise CommandError(str(error)) from error
        except OSError as error:
            raise CommandError(f"Cannot write {out}: {error.strerror or error}.") from error
        finally:
            partial.unlink(missing_ok=True)
        self.stdout.write(
            self.style.SUCCESS(f"Wrote {written} IATI activities of {found.name} to {out}.")
        )

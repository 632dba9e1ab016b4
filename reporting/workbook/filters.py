"""What a workbook export covers: portfolio, funder, country, instrument, as-of date, schedules."""

from dataclasses import dataclass
from datetime import date

from django.db.models import Exists, OuterRef
from django.utils.text import slugify
from django_countries import countries

from funding.models import Instrument, Tranche
from portfolio.models import Organisation, Portfolio
from projects.models import Project


@dataclass(frozen=True)
class ExportFilters:
    """What to export. Ids rather than objects, so a job can store them as JSON."""

    portfolio: int | None = None
    funder: int | None = None
    country: str = ""
    instrument: str = ""
    as_of: date | None = None
    # Every instalment of every loan: long (a 20,000-loan portfolio has 400,000), so only on
    # request; the default workbook has one row per loan.
    with_schedules: bool = False

    def __post_init__(self):
        if self.instrument and self.instrument not in Instrument.values:
            raise ValueError(f"{self.instrument!r} is not an instrument.")
        if self.country and self.country not in countries:
            raise ValueError(f"{self.country!r} is not an ISO 3166 country code.")

    def to_json(self) -> dict:
        return {
            "portfolio": self.portfolio,
            "funder": self.funder,
            "country": self.country,
            "instrument": self.instrument,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "with_schedules": self.with_schedules,
        }

    @classmethod
    def from_json(cls, data: dict) -> "ExportFilters":
        as_of = data.get("as_of")
        return cls(
            portfolio=data.get("portfolio"),
            funder=data.get("funder"),
            country=data.get("country") or "",
            instrument=data.get("instrument") or "",
            as_of=date.fromisoformat(as_of) if as_of else None,
            with_schedules=bool(data.get("with_schedules")),
        )

    def tranche_filter(self) -> dict:
        """The funder and instrument filters select tranches (and the projects that have one)."""
        found = {}
        if self.funder:
            found["funder_id"] = self.funder
        if self.instrument:
            found["instrument"] = self.instrument
        return found

    def projects(self):
        queryset = Project.objects.all()
        if self.portfolio:
            queryset = queryset.filter(portfolio_id=self.portfolio)
        if self.country:
            queryset = queryset.filter(country=self.country)
        if self.tranche_filter():
            queryset = queryset.filter(
                Exists(Tranche.objects.filter(project=OuterRef("pk"), **self.tranche_filter()))
            )
        return queryset

    def reporting_currency(self) -> str:
        if self.portfolio:
            return Portfolio.objects.values_list("reporting_currency", flat=True).get(
                pk=self.portfolio
            )
        used = set(Portfolio.objects.values_list("reporting_currency", flat=True))
        return used.pop() if len(used) == 1 else "USD"

    def portfolio_name(self) -> str:
        return _name(Portfolio, self.portfolio) if self.portfolio else "All portfolios"

    def funder_name(self) -> str:
        return _name(Organisation, self.funder) if self.funder else "All funders"

    def described(self) -> list[tuple[str, str]]:
        """The filters in words, for the Cover sheet."""
        return [
            ("Portfolio", self.portfolio_name()),
            ("Funder", self.funder_name()),
            ("Country", countries.name(self.country) if self.country else "All countries"),
            (
                "Instrument",
                Instrument(self.instrument).label if self.instrument else "All instruments",
            ),
        ]

    def file_name(self, as_of: date) -> str:
        """What the downloaded file is called, saying what it holds:
        portfolio-summary-<portfolio>-<funder or all>[-<country>][-<instrument>]-as-of-<date>.xlsx
        """
        parts = [
            "portfolio-summary",
            slugify(_name(Portfolio, self.portfolio)) if self.portfolio else "all-portfolios",
            slugify(_name(Organisation, self.funder)) if self.funder else "all-funders",
        ]
        if self.country:
            parts.append(self.country.lower())
        if self.instrument:
            parts.append(slugify(self.instrument))
        parts.append(f"as-of-{as_of.isoformat()}")
        if self.with_schedules:
            parts.append("with-schedules")
        return "-".join(part for part in parts if part) + ".xlsx"


def _name(model, pk) -> str:
    return model.objects.filter(pk=pk).values_list("name", flat=True).first() or str(pk)

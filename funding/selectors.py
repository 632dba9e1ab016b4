"""Read models of coverage: each launched project judged on a date, in set-based queries."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import DecimalField, F, Min, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from portfolio.models import ExchangeRate, NoRateError
from projects.models import Project

from . import coverage
from .models import Disbursement, Tranche, TrancheStatus

BATCH = 2000  # rows read at a time


@dataclass
class ProjectCoverage:
    """What one launched project's coverage looks like on a date (read in bulk, judged purely)."""

    project_id: int
    code: str
    title: str
    portfolio_id: int
    assessment: coverage.Assessment | None
    unconverted: str = ""  # why the underfunded test was skipped (no exchange rate)


def scoped(queryset, project_ids, field_name="project_id"):
    return (
        queryset if project_ids is None else queryset.filter(**{f"{field_name}__in": project_ids})
    )


def assess_projects(as_of: date, project_ids=None):
    """Judge every launched project (or those given) on `as_of`, in a fixed number of queries."""
    projects = list(
        scoped(Project.objects.launched(), project_ids, "id").values(
            "id",
            "code",
            "title",
            "portfolio_id",
            "launch_date",
            "sustainability_months",
            "annual_maintenance_cost",
            "maintenance_cost_currency",
            "portfolio__reporting_currency",
            "portfolio__lapse_warning_days",
        )
    )
    tranches = defaultdict(list)
    rows = scoped(
        Tranche.objects.maintenance()
        .not_cancelled()
        .filter(project__status=Project.Status.LAUNCHED),
        project_ids,
    ).values_list("project_id", "status", "covers_from", "covers_until", "amount", "currency")
    for project_id, *rest in rows.iterator(chunk_size=BATCH):
        tranches[project_id].append(rest)
    rate_tables = ExchangeRate.tables({p["portfolio__reporting_currency"] for p in projects})

    judged = []
    for p in projects:
        window = coverage.obligation_window(p["launch_date"], p["sustainability_months"])
        secured, planned, funded = [], [], []
        reporting = p["portfolio__reporting_currency"]
        unconverted = ""
        for status, covers_from, covers_until, amount, currency in tranches[p["id"]]:
            interval = coverage.Interval(covers_from, covers_until)
            if status == TrancheStatus.COMMITTED:
                secured.append(interval)
                try:
                    value = rate_tables[reporting].convert(amount, currency, as_of).amount
                except NoRateError as error:
                    unconverted = str(error)
                    continue
                funded.append(coverage.FundedPeriod(covers_from, covers_until, value))
            else:
                planned.append(interval)
        annual_cost = None
        if p["annual_maintenance_cost"] is not None and not unconverted:
            try:
                annual_cost = (
                    rate_tables[reporting]
                    .convert(p["annual_maintenance_cost"], p["maintenance_cost_currency"], as_of)
                    .amount
                )
            except NoRateError as error:
                unconverted = str(error)
        assessment = coverage.assess(
            window,
            secured,
            planned,
            as_of,
            warning_days=p["portfolio__lapse_warning_days"],
            has_maintenance=bool(tranches[p["id"]]),
            annual_cost=annual_cost,
            funded=funded,
        )
        judged.append(
            ProjectCoverage(
                p["id"], p["code"], p["title"], p["portfolio_id"], assessment, unconverted
            )
        )
    return judged


def overdue_disbursements(as_of: date, project_ids=None):
    """Committed tranches whose expected disbursement date has passed with nothing paid,
    earliest expected date per project (closed and cancelled projects excluded)."""
    rows = (
        scoped(Tranche.objects.secured(), project_ids)
        .filter(expected_disbursement_on__lt=as_of, disbursed_amount=0)
        .exclude(project__status__in=[Project.Status.CLOSED, Project.Status.CANCELLED])
        .values("project_id")
        .annotate(first_expected=Min("expected_disbursement_on"))
        .values_list("project_id", "first_expected")
    )
    return dict(rows)


def coverage_forecast(as_of: date | None = None, project_ids=None, months=24):
    """Month by month for each launched project: days secured, pipeline only and uncovered."""
    as_of = as_of or timezone.localdate()
    judged = assess_projects(as_of, project_ids)
    forecasts = {}
    for item in judged:
        a = item.assessment
        forecasts[item.project_id] = coverage.forecast(
            a.window, a.secured, a.pipeline, as_of, months
        )
    return forecasts


@dataclass(frozen=True)
class TotalOutOfStep:
    """A tranche whose stored disbursed total is not the sum of its disbursement rows."""

    tranche_id: int
    project: str
    funder_reference: str
    currency: str
    stored: Decimal
    rows: Decimal

    def as_dict(self):
        return {
            "tranche": self.tranche_id,
            "project": self.project,
            "reference": self.funder_reference,
            "currency": self.currency,
            "stored": str(self.stored),
            "rows": str(self.rows),
        }


def disbursed_totals_out_of_step() -> list[TotalOutOfStep]:
    """Every tranche whose stored disbursed total differs from the sum of its rows, in one
    query. Never any, while every payment goes through the services (PostgreSQL refuses it
    at commit); the daily scan asks anyway, so any other database, or a hand-made UPDATE,
    is noticed within a day."""
    rows = Coalesce(
        Subquery(
            Disbursement.objects.filter(tranche=OuterRef("pk"))
            .order_by()
            .values("tranche")
            .annotate(total=Sum("amount"))
            .values("total")
        ),
        Value(Decimal("0.00")),
        output_field=DecimalField(max_digits=18, decimal_places=2),
    )
    found = (
        Tranche.objects.annotate(rows=rows)
        .exclude(disbursed_amount=F("rows"))
        .order_by("pk")
        .values_list(
            "pk", "project__code", "funder_reference", "currency", "disbursed_amount", "rows"
        )
    )
    cent = Decimal("0.01")
    return [
        TotalOutOfStep(pk, code, reference, currency, stored.quantize(cent), summed.quantize(cent))
        for pk, code, reference, currency, stored, summed in found
    ]

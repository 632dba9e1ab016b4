"""Read models of money: what a tranche may still pay, and each launched project's coverage
judged on a date, in set-based queries."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Min

from portfolio.models import ExchangeRate, NoRateError
from projects.models import Project

from . import coverage
from .models import Instrument, Tranche, TrancheStatus

BATCH = 2000  # rows read at a time
FORECAST_MONTHS = 24
ZERO = Decimal("0.00")


# --- What a tranche may pay ------------------------------------------------------------------


def disbursable_limit(tranche) -> Decimal:
    """The most that may ever be disbursed on this tranche.

    A results-based tranche pays only what verified results have earned (its payout terms'
    earned amount, kept by the evaluations' payout recalculation); any other tranche pays up
    to its amount. `services.disburse()` holds a payment to it under the tranche's row lock.
    """
    if tranche.instrument != Instrument.RESULTS_BASED:
        return tranche.amount
    terms = getattr(tranche, "payout_terms", None)
    earned = terms.eligible_amount if terms is not None else ZERO
    return min(tranche.amount, earned)


def payable_amount(tranche) -> Decimal:
    """What may still be disbursed on this tranche now: its disbursable limit less what has
    been paid. Zero for a tranche that is not committed, which cannot be disbursed at all."""
    if not tranche.is_secured:
        return ZERO
    return max(disbursable_limit(tranche) - tranche.disbursed_amount, ZERO)


# --- Coverage --------------------------------------------------------------------------------


@dataclass
class ProjectCoverage:
    """What one project's coverage looks like on a date (read in bulk, judged purely)."""

    project_id: int
    code: str
    title: str
    portfolio_id: int
    assessment: coverage.Assessment | None  # None unless the project is launched
    unconverted: str = ""  # why the underfunded test was skipped (no exchange rate)
    # Month by month from the date judged; filled by project_coverage(), not by the bulk read.
    forecast: list[coverage.MonthCoverage] = field(default_factory=list)


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


def project_coverage(project, as_of: date, months: int = FORECAST_MONTHS) -> ProjectCoverage:
    """One project's maintenance coverage on `as_of`, as the lapse scan judges it: obligation
    window, secured and pipeline cover, gaps, next gap and days to lapse, with the month-by-month
    forecast from `as_of`. A project that is not launched has no assessment and no forecast.

    The coverage API and the project page read it here."""
    judged = (
        assess_projects(as_of, [project.pk]) if project.status == Project.Status.LAUNCHED else []
    )
    if not judged:
        return ProjectCoverage(project.pk, project.code, project.title, project.portfolio_id, None)
    found = judged[0]
    a = found.assessment
    found.forecast = coverage.forecast(a.window, a.secured, a.pipeline, as_of, months)
    return found

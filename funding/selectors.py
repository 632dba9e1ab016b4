"""Read models of money and coverage as of a date, in set-based queries: what a tranche may
still pay, each launched project's coverage, the flags open on a day.

As of a day D everything is a snapshot: a tranche signed after D, a disbursement made after D
and an exchange rate valid from after D do not exist yet. Planned tranches carry no date, so
they count as planned on any day; cancellations are taken as they stand today.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache, partial

from dateutil.relativedelta import relativedelta
from django.db import models
from django.db.models import Count, DecimalField, Exists, F, Min, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from portfolio.models import ExchangeRate, NoRateError
from portfolio.rates import RateTable, convert_tranche
from projects.models import CostCategory, CostLine, Project

from . import coverage, figures, lines, loans, schedules
from .models import (
    Allocation,
    Disbursement,
    Instrument,
    LapseFlag,
    LoanTerms,
    Purpose,
    Repayment,
    Tranche,
    TrancheStatus,
)

BATCH = 2000  # rows read at a time
FORECAST_MONTHS = 24
ZERO = Decimal("0.00")


# --- Which currency a new tranche is likely in ------------------------------------------------


def usual_currencies(project, funder=None) -> list[str]:
    """The currencies of `project`'s portfolio, most used first: the reporting currency, then
    those of its tranches by how many (the funder's own first, if one is given), then those of
    its exchange rates. The first is the likely currency of a new tranche."""
    portfolio = project.portfolio
    tranches = Tranche.objects.filter(project__portfolio=portfolio)

    def most_used(rows):
        counted = rows.values("currency").annotate(n=Count("id")).order_by("-n", "currency")
        return [row["currency"] for row in counted]

    found = most_used(tranches.filter(funder=funder)) if funder is not None else []
    found.append(portfolio.reporting_currency)
    found += most_used(tranches)
    found += (
        ExchangeRate.objects.filter(to_currency=portfolio.reporting_currency)
        .order_by("currency")
        .values_list("currency", flat=True)
        .distinct()
    )
    return list(dict.fromkeys(found))


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


def existing_on(tranches, as_of: date):
    """The tranches that exist on `as_of`: planned ones, and committed ones signed by then."""
    return tranches.exclude(status=TrancheStatus.COMMITTED, committed_on__gt=as_of)


def secured_on(as_of: date):
    """Tranches committed (signed) on or before `as_of`."""
    return Tranche.objects.secured().filter(committed_on__lte=as_of)


def rate_tables(to_currencies, as_of: date) -> dict:
    """A RateTable per reporting currency holding only rates valid on or before `as_of`."""
    rows = defaultdict(list)
    for currency, to_currency, valid_on, rate in ExchangeRate.objects.filter(
        to_currency__in=list(to_currencies), valid_on__lte=as_of
    ).values_list("currency", "to_currency", "valid_on", "rate"):
        rows[to_currency].append((currency, valid_on, rate))
    return {to: RateTable(to, rows[to]) for to in to_currencies}


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
            "portfolio__reporting_currency",
            "portfolio__lapse_warning_days",
        )
    )
    tranches = defaultdict(list)
    rows = scoped(
        existing_on(Tranche.objects.maintenance().not_cancelled(), as_of).filter(
            project__status=Project.Status.LAUNCHED
        ),
        project_ids,
    ).values_list(
        "project_id",
        "status",
        "covers_from",
        "covers_until",
        "amount",
        "currency",
        "pk",
    )
    for project_id, *rest in rows.iterator(chunk_size=BATCH):
        tranches[project_id].append(rest)
    plans = _plans(project_ids, Project.objects.launched())
    tables = rate_tables({p["portfolio__reporting_currency"] for p in projects}, as_of)

    judged = []
    for p in projects:
        window = coverage.obligation_window(p["launch_date"], p["sustainability_months"])
        secured, planned, funded = [], [], []
        reporting = p["portfolio__reporting_currency"]
        unconverted = ""
        for status, covers_from, covers_until, amount, currency, _pk in tranches[p["id"]]:
            interval = coverage.Interval(covers_from, covers_until)
            if status == TrancheStatus.COMMITTED:
                secured.append(interval)
                try:
                    # Money for the service still to come is judged at the as-of rate, as
                    # what is still to disburse is everywhere (portfolio.rates).
                    value = tables[reporting].convert(amount, currency, as_of).amount
                except NoRateError as error:
                    unconverted = str(error)
                    continue
                funded.append(coverage.FundedPeriod(covers_from, covers_until, value))
            else:
                planned.append(interval)
        plan = plans.get(p["id"])
        plan_cost = None
        if plan is not None and not unconverted:
            try:
                plan_cost = plan.cost_over(tables[reporting], as_of)
            except NoRateError as error:
                unconverted = str(error)
        assessment = coverage.assess(
            window,
            secured,
            planned,
            as_of,
            warning_days=p["portfolio__lapse_warning_days"],
            has_maintenance=bool(tranches[p["id"]]),
            plan_cost=plan_cost,
            funded=funded,
        )
        if plan is not None:
            assessment = _with_line_flags(assessment, plan, tranches[p["id"]], as_of)
        judged.append(
            ProjectCoverage(
                p["id"], p["code"], p["title"], p["portfolio_id"], assessment, unconverted
            )
        )
    return judged


@dataclass
class Plan:
    """A project's cost lines (days only: amounts in their own currencies apart) and, per
    line, whether somebody takes it over after the window."""

    costs: list = field(default_factory=list)  # lines.LineCost
    amounts: list = field(default_factory=list)  # (annual cost, currency) of each of `costs`
    successors: dict = field(default_factory=dict)  # category -> bool
    allocations: dict = field(default_factory=lambda: defaultdict(list))  # tranche id -> [category]

    def cost_over(self, table: RateTable, as_of: date):
        """What the plan costs over a period (what `underfunded` sets against the money), its
        lines converted at the as-of rate as the tranches' money is. Raises NoRateError."""
        costs = [
            # Built directly: dataclasses.replace() cost the 100,000-project scan seconds.
            lines.LineCost(
                cost.category, table.convert(amount, currency, as_of).amount, cost.start, cost.end
            )
            for cost, (amount, currency) in zip(self.costs, self.amounts, strict=True)
        ]
        return partial(lines.cost_over, costs, None)

    def line_tranche(self, committed: bool, covers_from, covers_until, tranche_id):
        """A maintenance tranche as the plan's lines see it: its days and the lines it pays."""
        return lines.LineTranche(
            covers_from, covers_until, committed, allocations=self._allocated(tranche_id)
        )

    def _allocated(self, tranche_id) -> tuple:
        return _allocation_tuple(tuple(self.allocations.get(tranche_id, ())))


@lru_cache(maxsize=4096)
def _line_days(category, starts_on, ends_on) -> lines.LineCost:
    # Most plans' lines run the whole window, so 500,000 rows hold a few dozen distinct days:
    # shared, not built once a row.
    return lines.LineCost(category, start=starts_on, end=ends_on)


@lru_cache(maxsize=256)
def _allocation_tuple(categories: tuple) -> tuple:
    # The same few sets of lines recur across a portfolio's tranches: built once, not once a
    # tranche (400,000 objects in a scan of 100,000 projects).
    return tuple(lines.Allocation(category) for category in categories)


def _plans(project_ids, projects) -> dict[int, Plan]:
    """project id -> its plan, for the projects (of `projects`) that have one: two queries."""
    plans = defaultdict(Plan)
    last_start = {}
    rows = scoped(CostLine.objects.filter(project__in=projects), project_ids).values_list(
        "project_id", "category", "starts_on", "ends_on", "successor", "annual_cost", "currency"
    )
    for project_id, category, starts_on, ends_on, successor, cost, currency in rows.iterator(
        chunk_size=BATCH
    ):
        plan = plans[project_id]
        plan.costs.append(_line_days(category, starts_on, ends_on))
        plan.amounts.append((cost, currency))
        # The line's handover is its last row's: the one that reaches the window's end.
        key = (project_id, category)
        if key not in last_start or (starts_on or date.min) >= last_start[key]:
            last_start[key] = starts_on or date.min
            plan.successors[category] = bool(successor.strip())
    if plans:
        allocated = scoped(
            Allocation.objects.filter(tranche__project__in=projects),
            project_ids,
            "tranche__project_id",
        ).values_list("tranche__project_id", "tranche_id", "category")
        for project_id, tranche_id, category in allocated.iterator(chunk_size=BATCH):
            if project_id in plans:
                plans[project_id].allocations[tranche_id].append(category)
    return dict(plans)


def _with_line_flags(assessment, plan: Plan, tranche_rows, as_of):
    line_tranches = [
        plan.line_tranche(status == TrancheStatus.COMMITTED, covers_from, covers_until, pk)
        for status, covers_from, covers_until, _amount, _currency, pk in tranche_rows
    ]
    window = assessment.window
    extra = [lines.handover_flag(window, plan.costs, plan.successors, as_of)]
    if window.contains(as_of) and not lines.same_as_service(plan.costs, line_tranches):
        found = lines.line_coverage(window, plan.costs, line_tranches)
        extra.insert(0, lines.unfunded_flag(window, found, assessment.gaps, as_of))
    return replace(assessment, flags=[*assessment.flags, *(f for f in extra if f is not None)])


def closed_within_window(as_of: date, project_ids=None) -> dict:
    """project id -> the closed_within_window flag of each project closed or cancelled while
    its obligation window still runs on `as_of` (one query)."""
    rows = scoped(
        Project.objects.filter(
            status__in=[Project.Status.CLOSED, Project.Status.CANCELLED],
            launch_date__lte=as_of,
        ),
        project_ids,
        "id",
    ).values_list("id", "launch_date", "sustainability_months")
    found = {}
    for project_id, launch_date, months in rows.iterator(chunk_size=BATCH):
        window = coverage.obligation_window(launch_date, months)
        flag = lines.closed_flag(window, as_of)
        if flag is not None:
            found[project_id] = flag
    return found


def overdue_disbursements(as_of: date, project_ids=None):
    """Committed tranches whose expected disbursement date has passed with nothing paid,
    earliest expected date per project (closed and cancelled projects excluded)."""
    paid_by_then = Disbursement.objects.filter(tranche=OuterRef("pk"), disbursed_on__lte=as_of)
    rows = (
        scoped(secured_on(as_of), project_ids)
        .filter(expected_disbursement_on__lt=as_of)
        .exclude(Exists(paid_by_then))
        .exclude(project__status__in=[Project.Status.CLOSED, Project.Status.CANCELLED])
        .values("project_id")
        .annotate(first_expected=Min("expected_disbursement_on"))
        .values_list("project_id", "first_expected")
    )
    return dict(rows)


# --- Loans ---------------------------------------------------------------------------------


def loan_statuses(tranches, as_of: date, whole=True) -> dict:
    """tranche id -> `loans.LoanStatus` on `as_of`, for the loan tranches among `tranches` (a
    queryset, or tranches or ids) that have loan terms and were committed by then.

    Three queries, however many loans: the terms, the disbursements and the repayments.
    A loan whose terms give no schedule (refused by `schedules`) is left out. With `whole`
    False the instalments stop at `as_of` (`loans.loan_status`).
    """
    return {pk: status for pk, _, status in _loans_on(tranches, as_of, whole)}


def _loans_on(tranches, as_of, whole=True):
    """(tranche id, project id, LoanStatus) of the loans among `tranches` on `as_of`."""
    if isinstance(tranches, models.QuerySet):
        ids = tranches.filter(instrument=Instrument.LOAN).values("pk")
        rows = partial(models.QuerySet.iterator, chunk_size=BATCH)
    else:
        ids = [getattr(t, "pk", t) for t in tranches]
        # A few tranches (a detail page) are read at once: a server-side cursor's extra round
        # trips cost a single tranche more than its rows.
        rows = iter
    terms = {
        row.tranche_id: row
        for row in rows(
            LoanTerms.objects.filter(
                tranche__in=ids,
                tranche__instrument=Instrument.LOAN,
                tranche__status=TrancheStatus.COMMITTED,
                tranche__committed_on__lte=as_of,
            )
            .annotate(project_id=F("tranche__project_id"))
            .only(*LoanTerms.TERM_FIELDS, "tranche_id")
            .order_by()
        )
    }
    if not terms:
        return []  # no loan: nothing more to read
    # Payments are read by tranche id alone, through its index: joined to the tranches again,
    # a planner whose statistics lagged a bulk insert chose a nested loop of sequential scans
    # (8.6 s for one chunk of an export of 3,000 projects). A queryset's loans stay a subquery
    # (a scan's tens of thousands); a list's are the loans just read.
    loan_ids = ids if isinstance(ids, models.QuerySet) else list(terms)
    paid = defaultdict(list)
    for tranche_id, on, amount in rows(
        Disbursement.objects.filter(tranche_id__in=loan_ids, disbursed_on__lte=as_of)
        .order_by()
        .values_list("tranche_id", "disbursed_on", "amount")
    ):
        paid[tranche_id].append((on, amount))
    received = defaultdict(list)
    for tranche_id, on, principal, interest in rows(
        Repayment.objects.filter(tranche_id__in=loan_ids, received_on__lte=as_of)
        .order_by()
        .values_list("tranche_id", "received_on", "principal", "interest")
    ):
        received[tranche_id].append(loans.Received(on, principal, interest))
    found = []
    for tranche_id, loan_terms in terms.items():
        try:
            status = loans.loan_status(
                loan_terms, paid[tranche_id], received[tranche_id], as_of, whole
            )
        except schedules.ScheduleError:
            continue
        found.append((tranche_id, loan_terms.project_id, status))
    return found


def overdue_repayments(as_of: date, project_ids=None) -> dict:
    """project id -> the due date of its oldest loan instalment in arrears on `as_of`."""
    found = {}
    loans_on = _loans_on(scoped(Tranche.objects.all(), project_ids), as_of, whole=False)
    for _, project_id, status in loans_on:
        due = status.first_overdue_on
        if due is not None:
            found[project_id] = min(due, found.get(project_id, due))
    return found


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


def open_flags_on(day: date, project_ids=None, flags=None):
    """The lapse flags (of `flags`, default all) open at the end of `day`, as the scans
    recorded them: raised by then and not resolved by then. On today that is every open flag,
    which the rescan inside each save keeps current; on a later day, the flags open now."""
    end = timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))
    flags = LapseFlag.objects.all() if flags is None else flags
    return scoped(
        flags.filter(raised_at__lt=end).filter(
            Q(resolved_at__isnull=True) | Q(resolved_at__gte=end)
        ),
        project_ids,
    )


def flag_counts(kinds) -> list[tuple[str, str, int]]:
    """(kind, label, how many) for every kind of flag, most urgent first, from the kinds of
    some flags (e.g. open_flags_on(day).values_list("kind", flat=True))."""
    counts = Counter(kinds)
    return [
        (kind.value, kind.label, counts[kind.value])
        for kind in sorted(coverage.FLAG_KINDS, key=lambda k: k.urgency)
    ]


def portfolio_figures(portfolio, as_of: date | None = None) -> figures.Figures:
    """Committed, disbursed and undisbursed money of the portfolio's signed tranches as of
    `as_of` (default today), by instrument and purpose, in its reporting currency: three
    queries however many tranches there are."""
    as_of = as_of or timezone.localdate()
    table = rate_tables([portfolio.reporting_currency], as_of)[portfolio.reporting_currency]
    rows = list(
        secured_on(as_of)
        .filter(project__portfolio=portfolio)
        .order_by("pk")
        .values_list(
            "pk", "instrument", "purpose", "amount", "currency", "committed_on", "fixed_rate"
        )
    )
    paid = defaultdict(list)
    for tranche_id, on, amount in (
        Disbursement.objects.filter(
            tranche__project__portfolio=portfolio,
            tranche__in=secured_on(as_of),
            disbursed_on__lte=as_of,
        )
        .order_by("disbursed_on", "pk")
        .values_list("tranche_id", "disbursed_on", "amount")
    ):
        paid[tranche_id].append((on, amount))
    return figures.add_up(
        (
            figures.TrancheMoney(
                instrument,
                purpose,
                amount,
                currency,
                committed_on,
                fixed_rate,
                tuple(paid[pk]),
            )
            for pk, instrument, purpose, amount, currency, committed_on, fixed_rate in rows
        ),
        table,
        as_of,
        Instrument.choices,
        Purpose.choices,
    )


@dataclass
class ProjectMoney:
    """A project's signed money in its portfolio's reporting currency, as of a date."""

    currency: str
    committed: Decimal = ZERO
    disbursed: Decimal = ZERO
    missing_rates: set = field(default_factory=set)  # currencies left out: no rate


def project_money(projects, as_of: date | None = None) -> dict[int, ProjectMoney]:
    """Committed and disbursed money per project of `projects` (a queryset), converted as the
    dashboard's figures are (`portfolio.rates.convert_tranche`): three queries however many
    projects and tranches. A project without signed tranches is absent."""
    as_of = as_of or timezone.localdate()
    signed = secured_on(as_of).filter(project__in=projects.order_by().values("pk"))
    rows = list(
        signed.order_by("pk").values_list(
            "pk",
            "project_id",
            "project__portfolio__reporting_currency",
            "amount",
            "currency",
            "committed_on",
            "fixed_rate",
        )
    )
    paid = defaultdict(list)
    for tranche_id, on, amount in (
        Disbursement.objects.filter(tranche__in=signed.values("pk"), disbursed_on__lte=as_of)
        .order_by("disbursed_on", "pk")
        .values_list("tranche_id", "disbursed_on", "amount")
    ):
        paid[tranche_id].append((on, amount))
    tables = rate_tables({row[2] for row in rows}, as_of)
    found = {}
    for pk, project_id, reporting, amount, currency, committed_on, fixed_rate in rows:
        money = found.setdefault(project_id, ProjectMoney(reporting))
        try:
            converted = convert_tranche(
                tables[reporting],
                amount=amount,
                currency=currency,
                committed_on=committed_on,
                as_of=as_of,
                disbursements=paid[pk],
                fixed_rate=fixed_rate,
            )
        except NoRateError:
            money.missing_rates.add(currency)
            continue
        money.committed += converted.committed
        money.disbursed += converted.disbursed
    return found


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


# --- Sustainability plan, line by line -------------------------------------------------------

PLAN_MONTHS_MAX = 60  # the grid shows the whole window, up to five years


@dataclass
class PlanLine:
    """One line of a plan as the pages and the API show it."""

    category: str
    label: str
    coverage: lines.LineCoverage
    years: list  # lines.LineYear, in the reporting currency
    rows: list  # the CostLine rows of the line, oldest first
    successor: str
    handover_on: date | None
    handover_document: str


@dataclass
class ProjectPlan:
    project_id: int
    window: coverage.Interval | None
    currency: str  # the reporting currency of the money per year
    lines: list  # PlanLine, in the order of the categories
    months: list  # the first day of each month of the grid
    allocations: dict  # tranche id -> [Allocation rows]
    unconverted: str = ""  # why money per year is missing (no exchange rate)
    as_of: date | None = None


def project_plan(project, as_of: date) -> ProjectPlan:
    """A project's sustainability plan on `as_of`: per line, its coverage (and month grid over
    the obligation window), its cost and secured money per calendar year in the portfolio's
    reporting currency (at the as-of rate, as `underfunded` judges it) and its handover.
    A fixed number of queries."""
    return project_plans([project.pk], as_of, project.portfolio.reporting_currency)[project.pk]


def project_plans(
    project_ids, as_of: date, currency: str, grid: bool = True
) -> dict[int, ProjectPlan]:
    """`project_plan` of each of the projects (ids), in five queries however many there are.

    Without `grid` the line x month grid (`months`) is left empty: it is most of the work and
    only the pages draw it; the workbook's Sustainability sheet shows years and gaps.
    """
    project_ids = list(project_ids)
    cost_rows = defaultdict(list)
    for row in CostLine.objects.filter(project_id__in=project_ids).order_by(
        "project_id", "category", "starts_on", "pk"
    ):
        cost_rows[row.project_id].append(row)
    allocations = defaultdict(list)
    for allocation in Allocation.objects.filter(tranche__project_id__in=project_ids).order_by(
        "tranche_id", "category"
    ):
        allocations[allocation.tranche_id].append(allocation)
    tranche_rows = defaultdict(list)
    for project_id, *rest in (
        existing_on(Tranche.objects.maintenance().not_cancelled(), as_of)
        .filter(project_id__in=project_ids)
        .order_by("project_id", "covers_from", "pk")
        .values_list(
            "project_id", "pk", "status", "covers_from", "covers_until", "amount", "currency"
        )
    ):
        tranche_rows[project_id].append(rest)
    windows = {
        pk: (launch, months)
        for pk, launch, months in Project.objects.filter(pk__in=project_ids).values_list(
            "pk", "launch_date", "sustainability_months"
        )
    }
    table = rate_tables([currency], as_of)[currency]
    # Each kind of line in words (the active language) once, not once a line.
    labels = {value: str(label) for value, label in CostCategory.choices}
    plans = {}
    for project_id in project_ids:
        tranches = tranche_rows[project_id]
        own = {pk: allocations[pk] for pk, *_ in tranches if pk in allocations}
        launch, months = windows.get(project_id, (None, None))
        plans[project_id] = _build_plan(
            project_id,
            launch,
            months,
            cost_rows[project_id],
            tranches,
            own,
            table,
            as_of,
            grid,
            labels,
        )
    return plans


def _build_plan(
    project_id, launch, months, rows, tranches, allocations, table, as_of, grid, labels
):
    plan = ProjectPlan(project_id, None, table.to_currency, [], [], allocations, as_of=as_of)
    if not rows or not launch:
        return plan
    window = coverage.obligation_window(launch, months)
    plan.window = window

    def convert(amount, from_currency):
        return table.convert(amount, from_currency, as_of).amount

    try:
        costs = [
            lines.LineCost(
                row.category, convert(row.annual_cost, row.currency), row.starts_on, row.ends_on
            )
            for row in rows
        ]
        line_tranches = [
            lines.LineTranche(
                covers_from,
                covers_until,
                status == TrancheStatus.COMMITTED,
                convert(amount, tranche_currency),
                tuple(
                    lines.Allocation(
                        a.category,
                        None if a.amount is None else convert(a.amount, tranche_currency),
                        a.share,
                    )
                    for a in allocations.get(pk, ())
                ),
            )
            for pk, status, covers_from, covers_until, amount, tranche_currency in tranches
        ]
        years = lines.yearly(window, costs, line_tranches)
    except NoRateError as error:
        plan.unconverted = str(error)
        costs = [lines.LineCost(r.category, ZERO, r.starts_on, r.ends_on) for r in rows]
        line_tranches = [
            lines.LineTranche(
                f, u, s == TrancheStatus.COMMITTED, ZERO,
                tuple(lines.Allocation(a.category) for a in allocations.get(pk, ())),
            )
            for pk, s, f, u, _amount, _currency in tranches
        ]  # fmt: skip
        years = []
    count = min(
        (window.end.year - window.start.year) * 12 + window.end.month - window.start.month + 1,
        PLAN_MONTHS_MAX,
    )
    order = {value: n for n, value in enumerate(CostCategory.values)}
    for line in sorted(
        lines.line_coverage(window, costs, line_tranches),
        key=lambda line: order.get(line.category, 99),
    ):
        if grid:
            line.months = lines.months(line, window.start, count)
        own = [row for row in rows if row.category == line.category]
        last = max(own, key=lambda row: (row.starts_on or date.min, row.pk))
        plan.lines.append(
            PlanLine(
                category=line.category,
                label=labels.get(line.category, line.category),
                coverage=line,
                years=[y for y in years if y.category == line.category],
                rows=own,
                successor=last.successor,
                handover_on=last.handover_on,
                handover_document=last.handover_document,
            )
        )
    plan.months = [m.month for m in plan.lines[0].coverage.months] if plan.lines else []
    return plan


@dataclass
class CategoryCoverage:
    """One category of cost line across launched services, on a day."""

    category: str
    label: str
    lines: int  # launched services whose plan has this line, inside their window
    unfunded_now: int  # of those, with no secured money today
    unfunded_within_year: int  # with a gap in secured money within the next 12 months
    handover_missing: int  # whose window ends within 12 months with nobody to take it over

    @property
    def funded_share(self) -> float:
        """For ordering only: the share of lines with no gap in the coming year."""
        return (self.lines - self.unfunded_within_year) / self.lines if self.lines else 1.0


def lines_by_category(as_of: date, project_ids=None) -> list[CategoryCoverage]:
    """Cost lines of launched services by category, the least funded first ("cybersecurity is
    the least funded line"): a fixed number of queries."""
    launched = Project.objects.launched()
    windows = {
        pk: coverage.obligation_window(launch, months)
        for pk, launch, months in scoped(launched, project_ids, "id").values_list(
            "id", "launch_date", "sustainability_months"
        )
    }
    plans = _plans(project_ids, launched)
    rows = defaultdict(list)
    for project_id, *rest in (
        scoped(
            existing_on(Tranche.objects.maintenance().not_cancelled(), as_of).filter(
                project__status=Project.Status.LAUNCHED
            ),
            project_ids,
        )
        .values_list("project_id", "status", "covers_from", "covers_until", "pk")
        .iterator(chunk_size=BATCH)
    ):
        rows[project_id].append(rest)
    year_ahead = coverage.Interval(as_of, as_of + relativedelta(years=1) - timedelta(days=1))
    labels = dict(CostCategory.choices)
    found = {c: CategoryCoverage(c, str(labels[c]), 0, 0, 0, 0) for c in CostCategory.values}
    for project_id, plan in plans.items():
        window = windows.get(project_id)
        if window is None or not window.contains(as_of):
            continue
        tranches = [
            plan.line_tranche(s == TrancheStatus.COMMITTED, f, u, pk)
            for s, f, u, pk in rows[project_id]
        ]
        missing = set(lines.without_successor(window, plan.costs, plan.successors, as_of))
        for line in lines.line_coverage(window, plan.costs, tranches):
            tally = found.get(line.category)
            if tally is None:
                continue
            tally.lines += 1
            tally.unfunded_now += any(gap.contains(as_of) for gap in line.gaps)
            tally.unfunded_within_year += any(
                gap.start <= year_ahead.end and gap.end >= as_of for gap in line.gaps
            )
            tally.handover_missing += line.category in missing
    order = {c: n for n, c in enumerate(CostCategory.values)}
    return sorted(
        (t for t in found.values() if t.lines),
        key=lambda t: (t.funded_share, order[t.category]),
    )

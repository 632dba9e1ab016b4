"""A synthetic portfolio of any size, written in bulk, for benchmarks and load tests."""

import itertools
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from evaluations.models import (
    DisaggregationDimension,
    DisaggregationValue,
    Evaluation,
    Indicator,
    Measurement,
    PayoutTerms,
    Recommendation,
    StandardIndicator,
    Target,
)
from funding import schedules
from funding.models import (
    Allocation,
    Disbursement,
    LapseFlag,
    LapseReminder,
    LoanTerms,
    Repayment,
    Tranche,
)
from funding.signals import rescans_paused
from portfolio.models import ExchangeRate, Membership, Organisation, Portfolio, Role
from projects.models import CostLine, Project

PORTFOLIO_NAME = "Benchmark (synthetic)"
ORGANISATION_PREFIX = "Synthetic "
USER_PREFIX = "synthetic-"
RATE_SOURCE = "Synthetic (seed_scale)"
LAUNCH = date(2025, 1, 1)
BATCH = 1000  # projects per round trip; each brings about 30 rows of other tables with it

D = Decimal
I = Tranche.Instrument  # noqa: E741 - read as a column header in the table below
P = Tranche.Purpose
S = Tranche.Status

# The tranches every synthetic project gets, in this order: the first three are its three
# years of maintenance (all the lapse scan reads), then one of every other instrument,
# purpose and status. A project asked for more tranches than listed goes round again.
TRANCHE_KINDS = [
    ("maintenance-2025", I.GRANT, P.MAINTENANCE, S.COMMITTED, "USD", D("52000.00")),
    ("maintenance-2026", I.GRANT, P.MAINTENANCE, S.COMMITTED, "USD", D("52000.00")),
    ("maintenance-2027", I.GRANT, P.MAINTENANCE, S.COMMITTED, "USD", D("52000.00")),
    ("launch-grant", I.GRANT, P.LAUNCH, S.COMMITTED, "EUR", D("250000.00")),
    ("launch-loan", I.LOAN, P.LAUNCH, S.COMMITTED, "USD", D("400000.00")),
    ("results", I.RESULTS_BASED, P.CAPACITY, S.COMMITTED, "USD", D("80000.00")),
    ("capacity-planned", I.GRANT, P.CAPACITY, S.PLANNED, "EUR", D("30000.00")),
    ("other-cancelled", I.GRANT, P.OTHER, S.CANCELLED, "USD", D("15000.00")),
    ("maintenance-loan", I.LOAN, P.MAINTENANCE, S.PLANNED, "USD", D("120000.00")),
    ("other-results", I.RESULTS_BASED, P.OTHER, S.PLANNED, "USD", D("25000.00")),
]

TRANCHES_PER_PROJECT = len(TRANCHE_KINDS)


@dataclass
class Built:
    projects: int = 0
    tranches: int = 0
    disbursements: int = 0
    indicators: int = 0
    measurements: int = 0

    def __str__(self):
        return (
            f"{self.projects:,} projects, {self.tranches:,} tranches, "
            f"{self.disbursements:,} disbursements, {self.indicators:,} indicators, "
            f"{self.measurements:,} measurements"
        )


def real_projects_exist():
    """Does the database hold projects that are not synthetic (so it is not a throwaway)?"""
    return Project.objects.exclude(portfolio__name=PORTFOLIO_NAME).exists()


def _maintenance_period(kind, i):
    """Three years of maintenance from launch; the second year is cut short for every fifth
    project (it lapses in 2026) and the third is only planned for every third (underfunded)."""
    if kind == "maintenance-2025":
        return date(2025, 1, 1), date(2025, 12, 31), None
    if kind == "maintenance-2026":
        return date(2026, 1, 1), date(2026, 12, 31) if i % 5 else date(2026, 2, 15), None
    if kind == "maintenance-loan":
        return date(2028, 1, 1), date(2028, 12, 31), None
    return date(2027, 1, 1), date(2027, 12, 31), S.PLANNED if i % 3 == 0 else None


def _tranches_for(project, i, count, funders, with_results):
    tranches = []
    for n, (kind, instrument, purpose, status, currency, amount) in zip(
        range(count), itertools.cycle(TRANCHE_KINDS), strict=False
    ):
        covers_from = covers_until = None
        if purpose == P.MAINTENANCE:
            covers_from, covers_until, status_override = _maintenance_period(kind, i)
            status = status_override or status
        tranche = Tranche(
            project=project,
            funder=funders[(i + n) % len(funders)],
            instrument=instrument,
            purpose=purpose,
            amount=amount,
            currency=currency,
            status=status,
            committed_on=LAUNCH - timedelta(days=90) if status == S.COMMITTED else None,
            expected_disbursement_on=None if status == S.CANCELLED else covers_from or LAUNCH,
            covers_from=covers_from,
            covers_until=covers_until,
        )
        tranche.synthetic_kind = kind
        # The stored running total is what services.disburse() would have left behind.
        tranche.payments = _payments(tranche, with_results)
        tranche.disbursed_amount = sum((amount for _, amount in tranche.payments), D("0.00"))
        tranches.append(tranche)
    return tranches


def _indicator_for(project):
    return Indicator(
        project=project,
        code="OUT-1",
        name="People served by the digital service",
        unit="people",
        level=Indicator.Level.OUTPUT,
        baseline_value=D("0"),
        baseline_date=date(2024, 12, 31),
    )


QUARTERS_2025 = [
    (date(2025, 1, 1), date(2025, 3, 31)),
    (date(2025, 4, 1), date(2025, 6, 30)),
    (date(2025, 7, 1), date(2025, 9, 30)),
    (date(2025, 10, 1), date(2025, 12, 31)),
]
# Four verified quarters of 100..400 (non-cumulative: 400 counts) reach 40% of the target of
# 1,000, so a pro rata results-based tranche has earned 40% of its amount.
ACHIEVEMENT = D("0.4")


def _results(indicators, reporter, verifier, verified_at):
    """A target and four verified quarters per indicator; returns the targets and how many
    measurements were made."""
    targets = Target.objects.bulk_create(
        Target(indicator=indicator, due_on=date(2026, 12, 31), value=D("1000"))
        for indicator in indicators
    )
    measurements = Measurement.objects.bulk_create(
        Measurement(
            indicator=indicator,
            period_start=period_start,
            period_end=period_end,
            value=D(100 * quarter),
            source="Synthetic service statistics",
            status=Measurement.Status.VERIFIED,
            reported_by=reporter,
            verified_by=verifier,
            verified_at=verified_at,
        )
        for indicator in indicators
        for quarter, (period_start, period_end) in enumerate(QUARTERS_2025, start=1)
    )
    return targets, len(measurements)


@transaction.atomic
@rescans_paused()
def add_indicators(count) -> int:
    """`count` more indicators spread over the synthetic projects, each with its results."""
    if count <= 0:
        return 0
    reporter, verifier = (
        get_user_model().objects.filter(username__startswith=USER_PREFIX).order_by("username")[:2]
    )
    ids = list(Project.objects.filter(portfolio__name=PORTFOLIO_NAME).values_list("id", flat=True))
    verified_at = timezone.now()
    for start in range(0, count, BATCH):
        indicators = Indicator.objects.bulk_create(
            Indicator(
                project_id=ids[n % len(ids)],
                code=f"OUT-{2 + n // len(ids)}",  # OUT-1 is each project's own (see build)
                name="Users served in their own language",
                unit="people",
                level=Indicator.Level.OUTCOME,
                baseline_value=D("0"),
                baseline_date=date(2024, 12, 31),
            )
            for n in range(start, min(start + BATCH, count))
        )
        _results(indicators, reporter, verifier, verified_at)
    return count


def _earned(tranche, with_results):
    if not with_results or tranche.status != S.COMMITTED:
        return D("0.00")
    return (tranche.amount * ACHIEVEMENT).quantize(D("0.01"))


def _payments(tranche, with_results):
    """Payments consistent with the tranche: a launch grant half paid in two instalments, a
    loan and the maintenance already under way fully paid, a results-based tranche paid what
    its results have earned, nothing on planned or cancelled tranches."""
    if tranche.status != S.COMMITTED:
        return []
    kind = tranche.synthetic_kind
    if kind == "launch-grant":
        quarter = (tranche.amount / 4).quantize(D("0.01"))
        return [(LAUNCH, quarter), (LAUNCH + timedelta(days=90), quarter)]
    if kind == "launch-loan":
        return [(LAUNCH, tranche.amount)]
    if tranche.purpose == P.MAINTENANCE and tranche.covers_from < date(2027, 1, 1):
        return [(tranche.covers_from, tranche.amount)]
    if tranche.instrument == I.RESULTS_BASED and _earned(tranche, with_results) > 0:
        return [(date(2026, 1, 15), _earned(tranche, with_results))]
    return []


def _setup():
    portfolio = Portfolio.objects.create(name=PORTFOLIO_NAME, reminder_days=[])
    funder_types = Organisation.FunderType.values
    funders = Organisation.objects.bulk_create(
        Organisation(
            name=f"{ORGANISATION_PREFIX}funder {n + 1}",
            is_funder=True,
            funder_type=funder_types[n % len(funder_types)],
        )
        for n in range(5)
    )
    partners = Organisation.objects.bulk_create(
        Organisation(name=f"{ORGANISATION_PREFIX}partner {n + 1}", is_implementer=True)
        for n in range(3)
    )
    evaluator_org = Organisation.objects.create(
        name=f"{ORGANISATION_PREFIX}evaluation firm", is_evaluator=True
    )
    User = get_user_model()
    reporter = User.objects.create(username=f"{USER_PREFIX}reporter", is_active=False)
    verifier = User.objects.create(username=f"{USER_PREFIX}verifier", is_active=False)
    Membership.objects.bulk_create(
        Membership(user=user, organisation=evaluator_org, role=Role.EVALUATOR)
        for user in (reporter, verifier)
    )
    if not ExchangeRate.objects.filter(currency="EUR", to_currency="USD").exists():
        ExchangeRate.objects.create(
            currency="EUR",
            to_currency="USD",
            rate=D("1.08"),
            valid_on=date(2024, 1, 1),
            source=RATE_SOURCE,
        )
    return portfolio, funders, partners, reporter, verifier


@transaction.atomic
@rescans_paused()
def build(
    n, tranches_per_project=TRANCHES_PER_PROJECT, with_results=True, launched_only=False
) -> Built:
    """Replace any earlier synthetic data with `n` projects (launched, but for every tenth
    still implementing unless `launched_only`), their tranches, disbursements and results.

    Rescans are paused: a benchmark or a load test runs the scan it wants afterwards.
    """
    clean()
    portfolio, funders, partners, reporter, verifier = _setup()
    built = Built()
    verified_at = timezone.now()

    def launched(i):
        return launched_only or i % 10 != 9

    for start in range(0, n, BATCH):
        numbers = range(start, min(start + BATCH, n))
        projects = Project.objects.bulk_create(
            Project(
                portfolio=portfolio,
                code=f"SYN-{i:06d}",
                title=f"Synthetic service {i}",
                country=("KE", "SN", "BD", "PE", "NP")[i % 5],
                sector_code=("22040", "15110", "12110", "11110")[i % 4],
                implementing_partner=partners[i % len(partners)],
                status=Project.Status.LAUNCHED if launched(i) else Project.Status.IMPLEMENTING,
                planned_launch_date=LAUNCH,
                launch_date=LAUNCH if launched(i) else None,
            )
            for i in numbers
        )
        built.projects += len(projects)

        targets = {}
        if with_results:
            indicators = Indicator.objects.bulk_create(_indicator_for(p) for p in projects)
            made_targets, measured = _results(indicators, reporter, verifier, verified_at)
            targets = {t.indicator.project_id: t for t in made_targets}
            built.indicators += len(indicators)
            built.measurements += measured

        tranches = Tranche.objects.bulk_create(
            tranche
            for p, i in zip(projects, numbers, strict=True)
            for tranche in _tranches_for(p, i, tranches_per_project, funders, with_results)
        )
        built.tranches += len(tranches)
        LoanTerms.objects.bulk_create(
            LoanTerms(
                tranche=t,
                annual_rate_percent=D("0.750"),
                tenor_months=240,
                grace_months=60,
                frequency_months=6,
                first_payment_date=date(2030, 6, 30),
            )
            for t in tranches
            if t.instrument == I.LOAN
        )
        if with_results:
            PayoutTerms.objects.bulk_create(
                PayoutTerms(
                    tranche=t,
                    target=targets[t.project_id],
                    rule=PayoutTerms.Rule.PRO_RATA,
                    eligible_amount=_earned(t, with_results),
                    achievement=ACHIEVEMENT,
                )
                for t in tranches
                if t.instrument == I.RESULTS_BASED
            )
        payments = Disbursement.objects.bulk_create(
            Disbursement(tranche=t, disbursed_on=paid_on, amount=amount, reference="SYN")
            for t in tranches
            for paid_on, amount in t.payments
        )
        built.disbursements += len(payments)
        # The plan build_launched() writes: five lines a launched service (50,000 USD a year,
        # what `underfunded` sets against the 52,000 a year), the 2026 tranche paying all but
        # cybersecurity.
        CostLine.objects.bulk_create(
            CostLine(project=p, category=category, annual_cost=D("10000.00"), currency="USD")
            for p in projects
            if p.status == Project.Status.LAUNCHED
            for category in LINE_CATEGORIES
        )
        Allocation.objects.bulk_create(
            Allocation(tranche=t, category=category, share=D("25.00"))
            for t in tranches
            if t.purpose == P.MAINTENANCE and t.covers_from and t.covers_from.year == 2026
            for category in LINE_CATEGORIES
            if category != "cybersecurity"
        )
    return built


# --- Loans with their repayments, some in arrears ----------------------------------------------

LOAN_AMOUNTS = [D("250000.00"), D("400000.00"), D("1200000.00"), D("75000.00")]
LOANS_PER_PROJECT = 5


def loan_terms_of(tranche) -> LoanTerms:
    """Ten years at 0.75%, one year of grace, semi-annual annuity, first due 30 Jun 2025."""
    return LoanTerms(
        tranche=tranche,
        annual_rate_percent=D("0.750"),
        tenor_months=120,
        grace_months=12,
        frequency_months=6,
        first_payment_date=date(2025, 6, 30),
    )


@transaction.atomic
@rescans_paused()
def build_loans(n, as_of: date) -> dict:
    """Replace any earlier synthetic data with `n` committed loans (five to a launched project),
    each disbursed in two halves (1 Feb and 1 Aug 2024) and repaid instalment by instalment
    up to `as_of`: every fourth loan has missed its latest instalment, every tenth paid only
    the interest of it. Returns how many rows of each kind were written."""
    clean()
    portfolio, funders, partners, _, _ = _setup()
    halves = [(date(2024, 2, 1), None), (date(2024, 8, 1), None)]
    counts = {"projects": 0, "loans": 0, "disbursements": 0, "repayments": 0}
    plans = {}
    for amount in LOAN_AMOUNTS:
        half = (amount / 2).quantize(D("0.01"))
        money = [(on, half) for on, _ in halves]
        due = schedules.disbursed_schedule(loan_terms_of(None), money)
        plans[amount] = (money, [i for i in due if i.due_on <= as_of])
    projects_needed = -(-n // LOANS_PER_PROJECT)
    for start in range(0, projects_needed, BATCH):
        numbers = range(start, min(start + BATCH, projects_needed))
        projects = Project.objects.bulk_create(
            Project(
                portfolio=portfolio,
                code=f"SYN-{i:06d}",
                title=f"Synthetic service {i}",
                country=("KE", "SN", "BD", "PE", "NP")[i % 5],
                sector_code=("22040", "15110", "12110", "11110")[i % 4],
                implementing_partner=partners[i % len(partners)],
                status=Project.Status.LAUNCHED,
                planned_launch_date=LAUNCH,
                launch_date=LAUNCH,
            )
            for i in numbers
        )
        counts["projects"] += len(projects)
        loans = []
        for project, i in zip(projects, numbers, strict=True):
            for k in range(LOANS_PER_PROJECT):
                number = i * LOANS_PER_PROJECT + k
                if number >= n:
                    break
                amount = LOAN_AMOUNTS[number % len(LOAN_AMOUNTS)]
                loans.append(
                    Tranche(
                        project=project,
                        funder=funders[number % len(funders)],
                        instrument=I.LOAN,
                        purpose=P.LAUNCH,
                        amount=amount,
                        currency="USD",
                        status=S.COMMITTED,
                        committed_on=date(2024, 1, 15),
                        funder_reference=f"SYN-LOAN-{number:06d}",
                        disbursed_amount=sum(a for _, a in plans[amount][0]),
                    )
                )
        loans = Tranche.objects.bulk_create(loans)
        counts["loans"] += len(loans)
        LoanTerms.objects.bulk_create(loan_terms_of(t) for t in loans)
        counts["disbursements"] += len(
            Disbursement.objects.bulk_create(
                Disbursement(tranche=t, disbursed_on=on, amount=a, reference="SYN")
                for t in loans
                for on, a in plans[t.amount][0]
            )
        )
        repayments = []
        for number, t in enumerate(loans, start=start * LOANS_PER_PROJECT):
            due = plans[t.amount][1]
            for index, instalment in enumerate(due):
                last = index == len(due) - 1
                if last and number % 4 == 3:
                    continue  # missed: in arrears
                principal = ZERO_MONEY if last and number % 10 == 9 else instalment.principal
                if principal == 0 and instalment.interest == 0:
                    continue
                repayments.append(
                    Repayment(
                        tranche=t,
                        received_on=instalment.due_on,
                        principal=principal,
                        interest=instalment.interest,
                        reference="SYN",
                    )
                )
        counts["repayments"] += len(Repayment.objects.bulk_create(repayments))
    return counts


ZERO_MONEY = D("0.00")


def _erase(queryset):
    """Delete rows in one statement, without loading them.

    A queryset's delete() fetches every row to send delete signals, and simple_history
    answers each with a history row: hours for a million synthetic rows that have no history
    worth keeping. Callers delete children before parents, so no cascade is skipped.
    """
    queryset._raw_delete(queryset.db)


def clean():
    """Remove every synthetic row, children first."""
    # A throwaway PostgreSQL database that holds only synthetic projects is emptied of them by
    # one TRUNCATE: deleting 300,000 tranches and their children row by row took minutes and ran
    # the benchmark's scan part out of time. Inside a caller's transaction (the tests) the
    # deferred checks of its own inserts forbid TRUNCATE, so rows are deleted there.
    _clean(
        truncate=connection.vendor == "postgresql"
        and not connection.in_atomic_block
        and not real_projects_exist()
    )


@transaction.atomic
@rescans_paused()
def _clean(truncate):
    if truncate:
        with connection.cursor() as cursor:
            # Every table that refers to a project, and those that refer to them, go too.
            cursor.execute(f"TRUNCATE {connection.ops.quote_name(Project._meta.db_table)} CASCADE")
    synthetic = {"project__portfolio__name": PORTFOLIO_NAME}
    via_tranche = {"tranche__project__portfolio__name": PORTFOLIO_NAME}
    via_indicator = {"indicator__project__portfolio__name": PORTFOLIO_NAME}
    _erase(LapseReminder.objects.filter(**synthetic))
    _erase(LapseFlag.objects.filter(**synthetic))
    # The tranches' stored totals follow their rows down to nothing, as the database insists.
    Tranche.objects.filter(**synthetic).update(disbursed_amount=0)
    _erase(Repayment.objects.filter(**via_tranche))
    _erase(Disbursement.objects.filter(**via_tranche))
    _erase(Allocation.objects.filter(**via_tranche))
    _erase(CostLine.objects.filter(**synthetic))
    _erase(PayoutTerms.objects.filter(**via_tranche))
    _erase(LoanTerms.objects.filter(**via_tranche))
    _erase(Tranche.objects.filter(**synthetic))
    _erase(Measurement.objects.filter(**via_indicator))
    _erase(Target.objects.filter(**via_indicator))
    _erase(Indicator.objects.filter(**synthetic))
    _erase(StandardIndicator.objects.filter(portfolio__name=PORTFOLIO_NAME))
    _erase(Recommendation.objects.filter(evaluation__project__portfolio__name=PORTFOLIO_NAME))
    _erase(Evaluation.objects.filter(**synthetic))
    _erase(Project.objects.filter(portfolio__name=PORTFOLIO_NAME))
    Portfolio.objects.filter(name=PORTFOLIO_NAME).delete()
    Membership.objects.filter(user__username__startswith=USER_PREFIX).delete()
    get_user_model().objects.filter(username__startswith=USER_PREFIX).delete()
    _erase(Organisation.objects.filter(name__startswith=ORGANISATION_PREFIX))
    _erase(ExchangeRate.objects.filter(source=RATE_SOURCE))


# --- Every listed table at scale, set-based -------------------------------------------------
#
# What the query-plan test and the API benchmark need is many rows in every table the API
# lists, fast: one INSERT ... SELECT over generate_series per table (PostgreSQL), a second
# or so for 100,000 rows where bulk_create takes a minute. The rows pass the database's
# constraints and read sensibly, but only the tables' shapes matter: the money is not
# consistent across tables (build() makes a portfolio that is).

CURRENCIES = [
    "EUR", "GBP", "JPY", "CHF", "CAD", "AUD", "NZD", "SEK", "NOK", "DKK", "KES", "NGN", "GHS",
    "ZAR", "TZS", "UGX", "RWF", "ETB", "XOF", "XAF", "INR", "BDT", "NPR", "PKR", "LKR", "IDR",
    "PHP", "VND", "PEN", "COP", "BOB", "MXN", "BRL", "EGP", "MAD",
]  # fmt: skip


LINE_CATEGORIES = ["hosting", "updates", "cybersecurity", "user_support", "licences"]


def replicate(model, n, vary, **values):
    """Insert `n` rows of `model` in one statement: every column as an unsaved
    `model(**values)` holds it (defaults, auto dates), but those in `vary`, each an SQL
    expression of the row number `g` (1..n) with its parameters: `("'SYN-' || g", [])`.

    PostgreSQL only. Returns the new rows' ids, in row order.
    """
    if connection.vendor != "postgresql":
        raise NotImplementedError("replicate() writes with PostgreSQL's generate_series.")
    template = model(**values)
    columns, expressions, params = [], [], []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(connection.ops.quote_name(field.column))
        if field.attname in vary:
            expression, expression_params = vary[field.attname]
            expressions.append(expression)
            params += expression_params
        else:
            value = field.pre_save(template, add=True)
            expressions.append("%s")
            params.append(field.get_db_prep_save(value, connection))
    table = connection.ops.quote_name(model._meta.db_table)
    # Names quoted by the backend; the expressions are the callers' own code, never input.
    sql = f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(expressions)} "  # noqa: S608
    sql += "FROM generate_series(1, %s) AS g ORDER BY g RETURNING id"
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, n])
        return [row[0] for row in cursor.fetchall()]


def one_of(values, step=1):
    """An SQL expression picking from `values` (ids or text) by row number, round again."""
    kind = "bigint[]" if isinstance(values[0], int) else "text[]"
    return f"(%s::{kind})[1 + mod((g - 1) / {step}, %s)]", [list(values), len(values)]


def every(nth, expression, params=()):
    """`expression` on every nth row, NULL on the others."""
    return f"CASE WHEN mod(g, {nth}) = 0 THEN NULL ELSE {expression} END", list(params)


def day(start, spread):
    """A date from `start`, moving one day a row and round again after `spread` days."""
    return f"%s::date + mod(g, {spread})::int", [start]


@transaction.atomic
@rescans_paused()
def build_launched(n) -> int:
    """What `build(n, tranches_per_project=3, with_results=False, launched_only=True)` builds
    (n launched projects, their three years of maintenance and its payments: all the lapse
    scan reads), set-based: seconds for 100,000 projects where bulk_create takes minutes."""
    clean()
    portfolio, funders, partners, _, _ = _setup()
    projects = replicate(
        Project,
        n,
        {
            "code": ("'SYN-' || lpad((g - 1)::text, 6, '0')", []),
            "title": ("'Synthetic service ' || (g - 1)", []),
            "country": one_of(["KE", "SN", "BD", "PE", "NP"]),
            "sector_code": one_of(["22040", "15110", "12110", "11110"]),
            "implementing_partner_id": one_of([p.pk for p in partners]),
        },
        portfolio=portfolio,
        country="KE",
        sector_code="22040",
        status=Project.Status.LAUNCHED,
        planned_launch_date=LAUNCH,
        launch_date=LAUNCH,
    )
    # Row g is year k = (g - 1) % 3 of project i = (g - 1) / 3, as _maintenance_period() has
    # it: 2026 cut short for every fifth project, 2027 only planned for every third; the first
    # two years are paid in full.
    i, k = "((g - 1) / 3)", "mod(g - 1, 3)"
    year = f"make_date(2025 + {k}::int, 1, 1)"
    planned = f"{k} = 2 AND mod({i}, 3) = 0"
    tranches = replicate(
        Tranche,
        3 * n,
        {
            "project_id": one_of(projects, step=3),
            "funder_id": (
                f"(%s::bigint[])[1 + mod({i} + {k}, %s)]",
                [[f.pk for f in funders], len(funders)],
            ),
            "status": (f"CASE WHEN {planned} THEN 'planned' ELSE 'committed' END", []),
            "committed_on": (
                f"CASE WHEN {planned} THEN NULL ELSE %s::date END",
                [LAUNCH - timedelta(days=90)],
            ),
            "covers_from": (year, []),
            "expected_disbursement_on": (year, []),
            "covers_until": (
                f"CASE WHEN {k} = 1 AND mod({i}, 5) = 0 THEN DATE '2026-02-15' "
                f"ELSE make_date(2025 + {k}::int, 12, 31) END",
                [],
            ),
            "disbursed_amount": (f"CASE WHEN {k} < 2 THEN 52000 ELSE 0 END", []),
        },
        instrument=I.GRANT,
        purpose=P.MAINTENANCE,
        amount=D("52000.00"),
        currency="USD",
        status=S.COMMITTED,
        covers_from=LAUNCH,
        covers_until=LAUNCH,
    )
    replicate(
        Disbursement,
        2 * n,
        {
            "tranche_id": ("(%s::bigint[])[1 + ((g - 1) / 2) * 3 + mod(g - 1, 2)]", [tranches]),
            "disbursed_on": ("make_date(2025 + mod(g - 1, 2)::int, 1, 1)", []),
        },
        amount=D("52000.00"),
        disbursed_on=LAUNCH,
        reference="SYN",
    )
    # A sustainability plan of five lines each (50,000 USD a year, against tranches of 52,000
    # a year); the 2026 tranche pays four of them, so
    # cybersecurity is unfunded in 2026 while the service is covered (issue 15's benchmark:
    # five lines and three tranches a project).
    categories = LINE_CATEGORIES
    replicate(
        CostLine,
        5 * n,
        {
            "project_id": one_of(projects, step=5),
            "category": ("(%s::text[])[1 + mod(g - 1, 5)]", [categories]),
        },
        project_id=projects[0],
        category="hosting",
        annual_cost=D("10000.00"),
        currency="USD",
    )
    paying = [c for c in categories if c != "cybersecurity"]
    replicate(
        Allocation,
        4 * n,
        {
            "tranche_id": ("(%s::bigint[])[2 + ((g - 1) / 4) * 3]", [tranches]),
            "category": ("(%s::text[])[1 + mod(g - 1, 4)]", [paying]),
        },
        tranche_id=tranches[1],
        category="hosting",
        share=D("25.00"),
    )
    analyze(Project, Tranche, Disbursement, CostLine, Allocation)
    return n


def analyze(*models):
    """Have PostgreSQL read the tables' new sizes now, so query plans follow them at once."""
    names = ", ".join(connection.ops.quote_name(model._meta.db_table) for model in models)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {names}")


@transaction.atomic
@rescans_paused()
def build_lists(n) -> int:
    """Replace any synthetic data with `n` rows in every table the API lists (projects,
    tranches, disbursements, repayments, lapse flags, indicators, targets, measurements,
    evaluations, organisations and exchange rates), beside the one synthetic portfolio."""
    clean()
    portfolio, funders, partners, reporter, _ = _setup()
    evaluator = Organisation.objects.get(name=f"{ORGANISATION_PREFIX}evaluation firm")
    organisations = replicate(
        Organisation,
        n - Organisation.objects.filter(name__startswith=ORGANISATION_PREFIX).count(),
        {"name": (f"'{ORGANISATION_PREFIX}partner ' || (g + 1000)", [])},
        is_implementer=True,
    )
    replicate(
        ExchangeRate,
        n - ExchangeRate.objects.filter(source=RATE_SOURCE).count(),
        {
            "currency": one_of(CURRENCIES),
            # Back in time from the day before _setup()'s own rate, so none collides with it.
            "valid_on": (f"%s::date - ((g - 1) / {len(CURRENCIES)})::int", [date(2023, 12, 31)]),
            "rate": ("1 + mod(g, 997) / 1000.0", []),
        },
        to_currency="USD",
        rate=D("1"),
        valid_on=date(2026, 1, 1),
        source=RATE_SOURCE,
    )
    statuses = ["launched"] * 8 + ["implementing", "pipeline"]
    projects = replicate(
        Project,
        n,
        {
            "code": ("'SYN-' || lpad(g::text, 6, '0')", []),
            "title": ("'Synthetic service ' || g", []),
            "status": one_of(statuses),
            "launch_date": (
                f"CASE WHEN mod(g - 1, {len(statuses)}) < 8 THEN %s::date + mod(g, 700) END",
                [LAUNCH],
            ),
            "implementing_partner_id": one_of([p.pk for p in partners] + organisations[:50]),
        },
        portfolio=portfolio,
        country="KE",
        sector_code="22040",
        planned_launch_date=LAUNCH,
    )
    # Every other tranche pays for maintenance (a cover period), the rest for the launch (none).
    maintenance = "mod(g, 2) = 0"
    cover_start = "%s::date + mod(g, 900)"
    tranches = replicate(
        Tranche,
        n,
        {
            "project_id": one_of(projects),
            "funder_id": one_of([f.pk for f in funders]),
            "purpose": (f"CASE WHEN {maintenance} THEN 'maintenance' ELSE 'launch' END", []),
            "instrument": (f"CASE WHEN {maintenance} THEN 'grant' ELSE 'loan' END", []),
            "amount": ("1000 + mod(g * 7919, 500000)", []),
            "committed_on": day(date(2024, 1, 1), 365),
            "expected_disbursement_on": every(7, *day(date(2025, 1, 1), 700)),
            "covers_from": (f"CASE WHEN {maintenance} THEN {cover_start} END", [LAUNCH]),
            "covers_until": (f"CASE WHEN {maintenance} THEN {cover_start} + 364 END", [LAUNCH]),
            "disbursed_amount": ("1000", []),
        },
        instrument=I.GRANT,
        purpose=P.LAUNCH,
        amount=D("1000.00"),
        currency="USD",
        status=S.COMMITTED,
        committed_on=LAUNCH,
        disbursed_amount=D("1000.00"),  # each tranche gets one disbursement row of 1,000
    )
    replicate(
        Disbursement,
        n,
        {"tranche_id": one_of(tranches), "disbursed_on": day(LAUNCH, 700)},
        amount=D("1000.00"),
        disbursed_on=LAUNCH,
        reference="SYN",
    )
    # A cost line a project, and allocations of the maintenance tranches (even rows) to it.
    replicate(
        CostLine,
        n,
        {"project_id": one_of(projects)},
        project_id=projects[0],
        category="hosting",
        annual_cost=D("50000.00"),
        currency="USD",
    )
    maintenance_tranches = tranches[1::2]
    replicate(
        Allocation,
        n,
        {
            "tranche_id": one_of(maintenance_tranches),
            # Round again over the tranches with the next line, so no pair repeats.
            "category": one_of(LINE_CATEGORIES, step=len(maintenance_tranches)),
        },
        tranche_id=maintenance_tranches[0],
        category="hosting",
        share=D("20.00"),
    )
    # Repayments on the launch tranches (odd rows), which are loans here: two a loan.
    replicate(
        Repayment,
        n,
        {"tranche_id": one_of(tranches[0::2]), "received_on": day(LAUNCH, 700)},
        principal=D("0.00"),
        interest=D("10.00"),
        received_on=LAUNCH,
        reference="SYN",
    )
    replicate(
        LapseFlag,
        n,
        {
            "project_id": one_of(projects),
            "raised_at": (
                "%s::timestamptz + g * interval '1 minute'",
                [timezone.now() - timedelta(days=400)],
            ),
            "gap_start": every(5, *day(date(2026, 1, 1), 365)),
            "last_seen_on": day(date(2026, 1, 1), 365),
        },
        kind=LapseFlag.Kind.LAPSED,
        raised_at=timezone.now(),
        last_seen_on=date(2026, 1, 1),
        resolved_at=timezone.now(),  # resolved, so one project may hold many
    )
    indicators = replicate(
        Indicator,
        n,
        {"project_id": one_of(projects), "name": ("'Users served, measure ' || g", [])},
        code="OUT-1",
        name="Users served",
        unit="people",
        level=Indicator.Level.OUTPUT,
        baseline_value=D("0"),
        baseline_date=date(2024, 12, 31),
    )
    replicate(
        Target,
        n,
        {"indicator_id": one_of(indicators), "due_on": day(date(2026, 1, 1), 1000)},
        due_on=date(2026, 12, 31),
        value=D("1000"),
    )
    replicate(
        Measurement,
        n,
        {
            "indicator_id": one_of(indicators),
            "period_start": day(date(2025, 1, 1), 300),
            "period_end": ("%s::date + mod(g, 300) + 30", [date(2025, 1, 1)]),
        },
        period_start=date(2025, 1, 1),
        period_end=date(2025, 3, 31),
        value=D("100"),
        source="Synthetic service statistics",
        reported_by=reporter,
    )
    replicate(
        Evaluation,
        n,
        {"project_id": one_of(projects), "completed_on": every(3, *day(date(2024, 1, 1), 700))},
        kind=Evaluation.Kind.MID_TERM,
        evaluator=evaluator,
        summary="Synthetic evaluation",
    )
    analyze(Organisation, ExchangeRate, Project, Tranche, Disbursement, Repayment, LapseFlag)
    analyze(CostLine, Allocation)
    replicate(
        StandardIndicator,
        n,
        {
            "code": ("'SYN-STD-' || lpad(g::text, 6, '0')", []),
            "title": ("'Synthetic standard ' || g", []),
        },
        portfolio=portfolio,
        code="SYN-STD",
        title="Synthetic standard",
        definition="People served by the synthetic service.",
        unit="people",
    )
    dimensions = replicate(
        DisaggregationDimension,
        n,
        {"code": ("'syn-' || g", []), "name": ("'Synthetic dimension ' || g", [])},
        portfolio=portfolio,
        code="syn",
        name="Synthetic dimension",
    )
    replicate(
        DisaggregationValue,
        n,
        {"dimension_id": one_of(dimensions), "code": ("'v-' || g", [])},
        code="v",
        name="Synthetic value",
    )
    analyze(Indicator, Target, Measurement, Evaluation)
    analyze(StandardIndicator, DisaggregationDimension, DisaggregationValue)
    return n

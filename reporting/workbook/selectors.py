"""Set-based reads that feed the workbook, as of a date, inside one database snapshot.

As of D is a snapshot: tranches committed after D, disbursements after D and rates after D
do not exist. Each read takes a chunk of projects and costs a fixed number of queries; rows
come from `values()` read with `.iterator()` (a server-side cursor on PostgreSQL).
"""

from collections import defaultdict
from contextlib import contextmanager
from datetime import date, timedelta

from django.db import connection, transaction
from django.db.models import Q

from evaluations import progress as results
from evaluations.models import Indicator, Measurement, Target
from funding import coverage
from funding import selectors as funding_selectors
from funding.models import Disbursement, Instrument, LoanTerms, Tranche
from funding.models import TrancheStatus as Status
from portfolio.models import ExchangeRate
from portfolio.rates import RateTable

BATCH = 2000  # rows fetched at a time from a server-side cursor
ONE_DAY = timedelta(days=1)

PROJECT_FIELDS = (
    "id",
    "code",
    "title",
    "country",
    "sector_code",
    "status",
    "launch_date",
    "portfolio__name",
    "implementing_partner__name",
)
TRANCHE_FIELDS = (
    "id",
    "project_id",
    "funder__name",
    "funder_reference",
    "instrument",
    "purpose",
    "status",
    "amount",
    "currency",
    "committed_on",
    "expected_disbursement_on",
    "covers_from",
    "covers_until",
    "notes",
    "fixed_rate",
    "payout_terms__eligible_amount",
)
LOAN_FIELDS = (
    "tranche_id",
    "tranche__project_id",
    "annual_rate_percent",
    "tenor_months",
    "grace_months",
    "method",
    "frequency_months",
    "first_payment_date",
)


@contextmanager
def snapshot():
    """Read everything the export needs from one consistent state of the database; yields
    whether it does.

    - PostgreSQL: a REPEATABLE READ, READ ONLY transaction, so a write committed while the
      export runs is not half in it.
    - SQLite in WAL mode: a deferred read transaction, which sees one snapshot and lets
      writers go on. (Not `atomic()`: with IMMEDIATE transactions it would take the write
      lock for the whole export.) In the other journal modes a long read transaction would
      stop every writer, so each query reads the latest state instead.
    - Inside a transaction already (a request, a test), the export reads in that one.
    """
    if connection.in_atomic_block:
        yield False
    elif connection.vendor == "postgresql":
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield True
    elif connection.vendor == "sqlite" and _in_wal_mode():
        with connection.cursor() as cursor:
            cursor.execute("BEGIN DEFERRED")
        try:
            yield True
        finally:
            with connection.cursor() as cursor:
                cursor.execute("ROLLBACK")  # it only read
    else:
        yield False


def _in_wal_mode() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        return cursor.fetchone()[0].lower() == "wal"


def existing(as_of: date) -> Q:
    """Tranches that existed on the as-of date: not committed after it."""
    return Q(committed_on__isnull=True) | Q(committed_on__lte=as_of)


def rate_table(currency: str, as_of: date) -> RateTable:
    """The rates into `currency` known on the as-of date; later ones do not exist yet."""
    rows = ExchangeRate.objects.filter(to_currency=currency, valid_on__lte=as_of).values_list(
        "currency", "valid_on", "rate"
    )
    return RateTable(currency, rows)


def rate_sources(currency: str, pairs) -> dict:
    """(currency, date) -> where that rate came from."""
    currencies = {c for c, _ in pairs}
    return {
        (c, valid_on): source
        for c, valid_on, source in ExchangeRate.objects.filter(
            to_currency=currency, currency__in=currencies
        ).values_list("currency", "valid_on", "source")
    }


def projects(queryset):
    """The projects' rows, in sheet order, from a server-side cursor."""
    return (
        queryset.values(*PROJECT_FIELDS)
        .order_by("portfolio__name", "code")
        .iterator(chunk_size=BATCH)
    )


def tranches(ids, as_of, tranche_filter) -> dict:
    """project id -> its tranches that existed on the as-of date."""
    found = defaultdict(list)
    rows = (
        Tranche.objects.filter(existing(as_of), project_id__in=ids, **tranche_filter)
        .values(*TRANCHE_FIELDS)
        .order_by("project_id", "id")
        .iterator(chunk_size=BATCH)
    )
    for t in rows:
        found[t["project_id"]].append(t)
    return found


def disbursements(ids, as_of, tranche_filter) -> dict:
    """project id -> disbursements made on or before the as-of date, in date order."""
    found = defaultdict(list)
    rows = (
        Disbursement.objects.filter(
            tranche__project_id__in=ids,
            disbursed_on__lte=as_of,
            **{f"tranche__{name}": value for name, value in tranche_filter.items()},
        )
        .values("tranche_id", "tranche__project_id", "disbursed_on", "amount", "reference")
        .order_by("tranche__project_id", "disbursed_on", "id")
        .iterator(chunk_size=BATCH)
    )
    for d in rows:
        found[d["tranche__project_id"]].append(d)
    return found


def loans(ids, as_of, tranche_filter) -> dict:
    """project id -> loan terms of its committed (signed by the as-of date) loan tranches."""
    found = defaultdict(list)
    if tranche_filter.get("instrument", Instrument.LOAN) != Instrument.LOAN:
        return found
    rows = (
        LoanTerms.objects.filter(
            tranche__project_id__in=ids,
            tranche__status=Status.COMMITTED,
            tranche__committed_on__lte=as_of,
            **{f"tranche__{name}": value for name, value in tranche_filter.items()},
        )
        .values(*LOAN_FIELDS)
        .order_by("tranche__project_id", "tranche_id")
        .iterator(chunk_size=BATCH)
    )
    for terms in rows:
        found[terms["tranche__project_id"]].append(terms)
    return found


def flags_as_of(ids, as_of) -> dict:
    """project id -> kinds of the flags open at the end of the as-of day, as the scan recorded
    them, most urgent first."""
    found = defaultdict(list)
    for project_id, kind in funding_selectors.open_flags_on(as_of, ids).values_list(
        "project_id", "kind"
    ):
        found[project_id].append(kind)
    return {pid: coverage.by_urgency(kinds) for pid, kinds in found.items()}


def indicator_progress(ids, as_of) -> dict:
    """project id -> [(indicator values, [Progress, ...])], from verified values only."""
    indicators = list(
        Indicator.objects.filter(project_id__in=ids)
        .values(
            "id",
            "project_id",
            "code",
            "name",
            "unit",
            "level",
            "measure",
            "direction",
            "aggregation",
            "baseline_value",
            "baseline_date",
        )
        .order_by("project_id", "code")
    )
    goals = defaultdict(list)
    for indicator_id, due_on, value, category in Target.objects.filter(
        indicator__project_id__in=ids
    ).values_list("indicator_id", "due_on", "value", "disaggregation"):
        goals[indicator_id].append(results.Goal(due_on, value, category))
    observations = defaultdict(list)
    for indicator_id, *values in (
        Measurement.objects.verified()
        .filter(indicator__project_id__in=ids)
        .values_list(
            "indicator_id",
            "period_start",
            "period_end",
            "value",
            "numerator",
            "denominator",
            "disaggregation",
        )
    ):
        observations[indicator_id].append(results.Observation(*values))
    found = defaultdict(list)
    for i in indicators:
        spec = results.IndicatorSpec(
            direction=i["direction"],
            aggregation=i["aggregation"],
            baseline_value=i["baseline_value"],
            baseline_date=i["baseline_date"],
            is_percentage=i["measure"] == Indicator.Measure.PERCENTAGE,
        )
        found[i["project_id"]].append(
            (i, results.indicator_progress(spec, observations[i["id"]], goals[i["id"]], as_of))
        )
    return found

"""devtools.synthetic's set-based builders: as many rows as asked, valid, and (for the lapse
scan) the very portfolio that the row-by-row builder makes."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from devtools import synthetic
from evaluations.models import Evaluation, Indicator, Measurement, Target
from funding import scan
from funding.models import Disbursement, LapseFlag, Tranche
from portfolio.models import ExchangeRate, Organisation
from projects.models import Project
from tests.factories import ProjectFactory, TrancheFactory

pytestmark = pytest.mark.django_db

LISTED = [
    Project,
    Tranche,
    Disbursement,
    LapseFlag,
    Indicator,
    Target,
    Measurement,
    Evaluation,
    Organisation,
    ExchangeRate,
]


def picture():
    """The synthetic portfolio in plain values, as the scan and the lists read it."""
    projects = Project.objects.values_list(
        "code", "country", "sector_code", "implementing_partner__name", "status", "launch_date"
    )
    tranches = Tranche.objects.values_list(
        "project__code",
        "funder__name",
        "instrument",
        "purpose",
        "status",
        "amount",
        "currency",
        "committed_on",
        "expected_disbursement_on",
        "covers_from",
        "covers_until",
        "disbursed_amount",
    )
    paid = Disbursement.objects.values_list(
        "tranche__project__code", "tranche__covers_from", "disbursed_on", "amount"
    )
    scan.scan_lapses(date(2026, 3, 1))
    flags = LapseFlag.objects.values_list("project__code", "kind", "gap_start", "gap_end")
    return [sorted(rows) for rows in (projects, tranches, paid, flags)]


def test_build_launched_is_the_scans_portfolio_made_set_based(postgres):
    synthetic.build(30, tranches_per_project=3, with_results=False, launched_only=True)
    one_by_one = picture()

    synthetic.build_launched(30)

    assert picture() == one_by_one
    assert len(one_by_one[3]) > 0, "the scan raised flags"


def test_build_lists_fills_every_listed_table_with_valid_rows(postgres):
    synthetic.build_lists(300)
    with connection.cursor() as cursor:
        # Every deferred check (foreign keys, disbursed totals) runs now, not at commit; then
        # back to deferred, as clean() lowers totals and deletes rows in two statements.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")

    for model in LISTED:
        rows = model.objects.all()
        if model is Organisation:
            rows = rows.filter(name__startswith=synthetic.ORGANISATION_PREFIX)
        if model is ExchangeRate:
            rows = rows.filter(source=synthetic.RATE_SOURCE)
        assert rows.count() == 300, model
        for row in rows.order_by("?")[:5]:
            row.full_clean()

    synthetic.clean()
    for model in LISTED:
        assert not model.objects.exists(), model


@pytest.mark.django_db(transaction=True)
def test_a_throwaway_database_is_emptied_of_synthetic_rows_at_once(postgres):
    synthetic.build_launched(20)
    scan.scan_lapses(date(2026, 3, 1))
    assert LapseFlag.objects.exists()

    with CaptureQueriesContext(connection) as queries:
        synthetic.clean()  # in autocommit, as the benchmark runs it

    assert sum(q["sql"].startswith("TRUNCATE") for q in queries.captured_queries) == 1

    for model in [Project, Tranche, Disbursement, LapseFlag]:
        assert not model.objects.exists(), model
    assert not Organisation.objects.filter(name__startswith=synthetic.ORGANISATION_PREFIX).exists()


@pytest.mark.django_db(transaction=True)
def test_real_projects_beside_synthetic_ones_are_kept(postgres):
    real = ProjectFactory(code="REAL-01")
    TrancheFactory(project=real)
    synthetic.build_launched(5)

    with CaptureQueriesContext(connection) as queries:
        synthetic.clean()

    assert not any(q["sql"].startswith("TRUNCATE") for q in queries.captured_queries)
    assert list(Project.objects.values_list("code", flat=True)) == ["REAL-01"]
    assert Tranche.objects.get().project == real

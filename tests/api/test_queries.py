"""Each list endpoint costs a fixed number of queries, whatever the page size."""

import itertools
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from funding.models import LapseFlag, Repayment
from tests.evaluations.factories import (
    EvaluationFactory,
    IndicatorFactory,
    MeasurementFactory,
    PayoutTermsFactory,
    RecommendationFactory,
    TargetFactory,
)
from tests.factories import (
    DisbursementFactory,
    ExchangeRateFactory,
    LoanTermsFactory,
    OrganisationFactory,
    PortfolioFactory,
    ProjectFactory,
    TrancheFactory,
)

from .conftest import client_for

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)
DAYS = itertools.count()  # distinct dates across batches, for rows unique per date


def tranches(n):
    project = ProjectFactory()
    for i in range(n):
        if i % 3 == 0:
            LoanTermsFactory(tranche__project=project)
        elif i % 3 == 1:
            PayoutTermsFactory(tranche__project=project)
        else:
            TrancheFactory(project=project)


def evaluations(n):
    for _ in range(n):
        RecommendationFactory.create_batch(2, evaluation=EvaluationFactory())


def lapse_flags(n):
    for project in ProjectFactory.create_batch(n, launched=True):
        LapseFlag.objects.create(
            project=project,
            kind=LapseFlag.Kind.LAPSED,
            gap_start=date(2026, 1, 1),
            raised_at="2026-01-02T00:00:00Z",
            last_seen_on=date(2026, 1, 2),
        )


MAKE = {
    "portfolios": PortfolioFactory.create_batch,
    "organisations": OrganisationFactory.create_batch,
    "exchange-rates": lambda n: [
        ExchangeRateFactory(valid_on=date(2000, 1, 1) + next(DAYS) * DAY) for _ in range(n)
    ],
    "projects": ProjectFactory.create_batch,
    "tranches": tranches,
    "disbursements": lambda n: DisbursementFactory.create_batch(
        n, tranche=TrancheFactory(amount=Decimal("1000000.00")), amount=Decimal("1.00")
    ),
    "repayments": lambda n: [
        Repayment.objects.create(
            tranche=DisbursementFactory(amount=Decimal("100.00")).tranche,
            received_on=date(2025, 3, 1),
            principal=Decimal("1.00"),
        )
        for _ in range(n)
    ],
    "lapse-flags": lapse_flags,
    "indicators": IndicatorFactory.create_batch,
    "targets": lambda n: [TargetFactory(due_on=date(2026, 1, 1) + i * DAY) for i in range(n)],
    "measurements": lambda n: [
        MeasurementFactory(
            period_start=date(2024, 1, 1) + i * DAY, period_end=date(2024, 1, 1) + i * DAY
        )
        for i in range(n)
    ],
    "evaluations": evaluations,
}


# The token with its user and the user's roles in one, the savepoint the test's transaction
# gives the request and its release, and the page with its count.
# Evaluations add one query for all their recommendations. (Measurements read their files and
# comments within their own query.)
QUERIES = dict.fromkeys(MAKE, 4) | {"evaluations": 5}


def queries_to_list(user, resource):
    client = client_for(user)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(f"/api/v1/{resource}/", {"page_size": 500})
    assert response.status_code == 200
    return len(captured), response.json()["count"]


@pytest.mark.parametrize("resource", list(MAKE))
def test_a_list_page_costs_the_same_queries_for_5_and_50_rows(people, resource):
    manager = people["manager"]
    MAKE[resource](5)
    few, rows_before = queries_to_list(manager, resource)
    MAKE[resource](45)
    many, rows_after = queries_to_list(manager, resource)

    assert rows_after - rows_before == 45
    assert (few, many) == (QUERIES[resource], QUERIES[resource])

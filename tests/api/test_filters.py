"""What users ask lists for: filters, search, ordering and page sizes."""

from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone

from funding.models import LapseFlag
from portfolio.models import Organisation
from tests.evaluations.factories import MeasurementFactory
from tests.factories import (
    DisbursementFactory,
    ExchangeRateFactory,
    PortfolioFactory,
    ProjectFactory,
    TrancheFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def elsewhere(world):
    """A second portfolio's project in another country and sector, funded by the other funder."""
    project = ProjectFactory(
        portfolio=PortfolioFactory(),
        country="RW",
        sector_code="12110",
        status="pipeline",
        title="Health records",
        code="RW-EHR-01",
    )
    tranche = TrancheFactory(
        project=project,
        funder=world.other_funder,
        instrument="results_based",
        purpose="capacity",
        planned=True,
        amount=Decimal("7.00"),
    )
    return {
        "project": project,
        "tranche": tranche,
        "flag": LapseFlag.objects.create(
            project=project,
            kind=LapseFlag.Kind.NO_MAINTENANCE,
            raised_at="2024-06-01T00:00:00Z",
            last_seen_on=date(2024, 6, 1),
            resolved_at=timezone.now(),
        ),
        "disbursement": DisbursementFactory(
            tranche=world.other_tranche, disbursed_on=date(2025, 9, 1)
        ),
        "measurement": MeasurementFactory(
            indicator=world.indicator,
            verified=True,
            period_start=date(2025, 4, 1),
            period_end=date(2025, 6, 30),
        ),
        "rate": ExchangeRateFactory(currency="GBP", valid_on=date(2024, 1, 1)),
    }


# resource, query, world/elsewhere attributes of the rows expected (in any order)
CASES = [
    ("tranches", {"portfolio": "w.project.portfolio"}, ["w.tranche"]),
    ("tranches", {"country": "RW"}, ["e.tranche"]),
    ("tranches", {"sector": "12110"}, ["e.tranche"]),
    ("tranches", {"status": "planned"}, ["e.tranche"]),
    ("tranches", {"funder": "w.bank"}, ["w.tranche"]),
    ("tranches", {"instrument": "loan"}, ["w.tranche"]),
    ("tranches", {"purpose": "maintenance"}, ["w.other_tranche"]),
    ("tranches", {"covers_from__gte": "2025-01-01"}, ["w.other_tranche"]),
    ("tranches", {"committed_on__lte": "2025-01-01"}, ["w.tranche", "w.other_tranche"]),
    ("tranches", {"search": "BANK-1"}, ["w.tranche"]),
    ("tranches", {"search": "RW-EHR"}, ["e.tranche"]),
    ("projects", {"country": "RW"}, ["e.project"]),
    ("projects", {"sector": "12110"}, ["e.project"]),
    ("projects", {"status": "launched"}, ["w.project"]),
    ("projects", {"funder": "w.other_funder"}, ["e.project", "w.other_tranche.project"]),
    ("projects", {"portfolio": "e.project.portfolio"}, ["e.project"]),
    ("projects", {"launch_date__gte": "2024-01-01"}, ["w.project"]),
    ("projects", {"search": "health"}, ["e.project"]),
    ("lapse-flags", {"kind": "no_maintenance"}, ["e.flag"]),
    ("lapse-flags", {"open": "true"}, ["w.flag"]),
    ("lapse-flags", {"open": "false"}, ["e.flag"]),
    ("lapse-flags", {"acknowledged": "false"}, ["w.flag", "e.flag"]),
    ("lapse-flags", {"raised_at__date__lte": "2024-12-31"}, ["e.flag"]),
    ("lapse-flags", {"portfolio": "e.project.portfolio"}, ["e.flag"]),
    ("disbursements", {"funder": "w.other_funder"}, ["e.disbursement"]),
    ("disbursements", {"disbursed_on__lte": "2025-06-30"}, ["w.disbursement"]),
    ("disbursements", {"project": "w.project"}, ["w.disbursement"]),
    ("measurements", {"status": "verified"}, ["e.measurement"]),
    ("measurements", {"project": "w.project"}, ["w.measurement", "e.measurement"]),
    ("indicators", {"project": "e.project"}, []),
    ("targets", {"due_on__gte": "2026-01-01"}, ["w.target"]),
    ("evaluations", {"kind": "final"}, []),
    ("exchange-rates", {"currency": "GBP"}, ["e.rate"]),
    ("exchange-rates", {"valid_on__gte": "2025-01-01"}, ["w.rate"]),
    ("organisations", {"is_evaluator": "true"}, ["w.evaluation_firm"]),
]


def resolve(path, world, elsewhere):
    first, *rest = path.split(".")
    value = world if first == "w" else elsewhere[rest.pop(0)]
    for name in rest:
        value = getattr(value, name)
    return value


@pytest.mark.parametrize(("resource", "query", "expected"), CASES)
def test_each_filter_narrows_the_list(api, world, elsewhere, resource, query, expected):
    params = {
        key: resolve(value, world, elsewhere).pk if value[:2] in ("w.", "e.") else value
        for key, value in query.items()
    }

    response = api("finance").get(f"/api/v1/{resource}/", params)

    assert response.status_code == 200, response.json()
    found = {row["id"] for row in response.json()["results"]}
    want = {resolve(path, world, elsewhere).pk for path in expected}
    if resource == "organisations":
        assert want <= found and all(row["is_evaluator"] for row in response.json()["results"])
    else:
        assert found == want


def test_lists_order_by_what_is_asked(api, world, elsewhere):
    results = api("finance").get("/api/v1/tranches/", {"ordering": "amount"}).json()["results"]

    assert [row["amount"] for row in results] == ["7.00", "100000.00", "100000.00"]


def test_a_bad_filter_value_names_the_parameter(api, world):
    response = api("finance").get(
        "/api/v1/tranches/", {"covers_from__gte": "soon", "status": "signed"}
    )

    assert response.status_code == 400
    assert set(response.json()) == {"covers_from__gte", "status"}


def test_a_filter_naming_no_row_is_a_400(api, world):
    response = api("finance").get("/api/v1/tranches/", {"portfolio": 10**30})

    assert response.status_code == 400
    assert set(response.json()) == {"portfolio"}


def test_page_size_is_chosen_up_to_500(api, world):
    Organisation.objects.bulk_create(
        Organisation(name=f"Partner {n}", is_implementer=True) for n in range(505)
    )

    two = api("finance").get("/api/v1/organisations/", {"page_size": 2}).json()
    capped = api("finance").get("/api/v1/organisations/", {"page_size": 10_000}).json()

    assert (len(two["results"]), two["next"] is not None) == (2, True)
    assert len(capped["results"]) == 500


def test_a_page_past_the_end_is_a_404(api, world):
    response = api("finance").get("/api/v1/portfolios/", {"page": 99})

    assert response.status_code == 404

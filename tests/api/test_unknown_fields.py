"""A field the API does not know is refused by name (400) on every write endpoint, never
silently dropped; what the API sent out can still be sent back."""

import pytest
from drf_spectacular.generators import SchemaGenerator

from evaluations.models import DisaggregationValue
from funding.models import Tranche
from tests.evaluations.factories import StandardIndicatorFactory

pytestmark = pytest.mark.django_db

WRITES = ("post", "put", "patch")
# The imports take an uploaded file, not fields; its cells or elements are checked one by one.
NOT_FIELDS = {
    "/api/v1/tranche-imports/",
    "/api/v1/iati-imports/",
    "/api/v1/measurement-imports/",
}


def write_operations():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return [
        (method, path)
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if method in WRITES and "requestBody" in operation and path not in NOT_FIELDS
    ]


OPERATIONS = write_operations()


def row_of(world, path):
    """The id to put in `path`: a row of the resource the path names."""
    portfolio = world.project.portfolio
    kept_by_the_portfolio = {  # made when asked for: most tests need none of them
        "standard-indicators": lambda: StandardIndicatorFactory(portfolio=portfolio),
        "disaggregation-dimensions": lambda: portfolio.disaggregation_dimensions.first(),
        "disaggregation-values": lambda: DisaggregationValue.objects.filter(
            dimension__portfolio=portfolio
        ).first(),
    }
    resource = path.split("/")[3]
    if resource in kept_by_the_portfolio:
        return kept_by_the_portfolio[resource]().pk
    rows = {
        "portfolios": world.project.portfolio,
        "organisations": world.bank,
        "exchange-rates": world.rate,
        "projects": world.project,
        "tranches": world.tranche,
        "lapse-flags": world.flag,
        "indicators": world.indicator,
        "targets": world.target,
        "measurements": world.measurement,
        "evaluations": world.evaluation,
        "cost-lines": world.cost_line,
        "allocations": world.allocation,
    }
    return rows[resource].pk


def test_every_write_endpoint_is_checked():
    assert len(OPERATIONS) >= 30
    assert ("post", "/api/v1/tranches/") in OPERATIONS
    assert ("post", "/api/v1/lapse-flags/{id}/acknowledge/") in OPERATIONS


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_an_unknown_field_is_refused_by_name(api, world, method, path):
    url = path.replace("{id}", str(row_of(world, path))) if "{id}" in path else path

    response = getattr(api("manager"), method)(url, {"no_such_field": 1}, format="json")

    assert response.status_code == 400, response.content
    assert "Unknown field" in response.json()["no_such_field"][0]


def test_the_pages_name_for_the_reference_is_refused_and_nothing_is_saved(api, world):
    body = {
        "project": world.project.pk,
        "funder": world.bank.pk,
        "funder_reference": "BANK-2",
        "instrument": "grant",
        "purpose": "launch",
        "amount": "1000.00",
        "currency": "USD",
    }
    response = api("officer").post("/api/v1/tranches/", body, format="json")

    assert response.status_code == 400
    errors = response.json()
    assert list(errors) == ["funder_reference"]
    assert "reference" in errors["funder_reference"][0]  # the fields it does take are named
    assert not Tranche.objects.filter(funder=world.bank, amount="1000.00").exists()


def test_an_unknown_field_inside_loan_terms_is_refused_under_them(api, world):
    url = f"/api/v1/tranches/{world.tranche.pk}/"
    terms = api("officer").get(url).json()["loan_terms"]

    response = api("officer").patch(
        url, {"loan_terms": {**terms, "interest": "2.0"}}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()["loan_terms"]) == ["interest"]


def test_what_was_read_can_be_written_back(api, world):
    """Read-only fields are known, so a client may PUT back what it got."""
    url = f"/api/v1/exchange-rates/{world.rate.pk}/"
    body = api("finance").get(url).json()

    response = api("finance").put(url, {**body, "source": "ECB"}, format="json")

    assert response.status_code == 200
    world.rate.refresh_from_db()
    assert world.rate.source == "ECB"

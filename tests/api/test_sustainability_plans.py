"""Sustainability plans through the API: cost lines, allocations and the per-line plan."""

from datetime import date
from decimal import Decimal

import pytest

from funding.models import Allocation, Tranche
from projects.models import CostLine
from tests.factories import TrancheFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def maintenance(world):
    """The bank's maintenance tranche to the world's project, 2025 and 2026."""
    return TrancheFactory(
        project=world.project,
        funder=world.bank,
        purpose=Tranche.Purpose.MAINTENANCE,
        covers_from=date(2025, 1, 1),
        covers_until=date(2026, 12, 31),
        amount=Decimal("20000.00"),
        currency="USD",
    )


def add_line(api, project, **fields):
    body = {"project": project.pk, "category": "cybersecurity", "annual_cost": "5000.00"}
    return api("manager").post("/api/v1/cost-lines/", {"currency": "USD", **body, **fields})


def test_a_manager_adds_a_cost_line_and_others_may_not(api, world):
    before = CostLine.objects.filter(project=world.project).count()
    assert add_line(api, world.project).status_code == 201
    refused = api("officer").post(
        "/api/v1/cost-lines/",
        {"project": world.project.pk, "category": "hosting", "annual_cost": "1", "currency": "USD"},
    )
    assert refused.status_code == 403
    assert CostLine.objects.filter(project=world.project).count() == before + 1


def test_a_bad_cost_line_is_a_400_naming_the_field(api, world):
    response = add_line(api, world.project, annual_cost="-1", starts_on="2026-01-02")
    assert response.status_code == 400
    assert "annual_cost" in response.json()

    add_line(api, world.project, ends_on="2026-12-31")
    overlapping = add_line(api, world.project, starts_on="2026-06-01")
    assert overlapping.status_code == 400
    assert "already has a cost" in overlapping.json()["starts_on"][0]


def test_an_officer_allocates_their_own_tranche_to_a_line(api, world, maintenance):
    response = api("officer").post(
        "/api/v1/allocations/",
        {"tranche": maintenance.pk, "category": "hosting", "share": "60"},
    )
    assert response.status_code == 201, response.json()
    assert response.json()["currency"] == "USD"

    too_much = api("officer").post(
        "/api/v1/allocations/",
        {"tranche": maintenance.pk, "category": "cybersecurity", "amount": "8000.01"},
    )
    assert too_much.status_code == 400
    assert "only 8,000.00 USD is left" in too_much.json()["amount"][0]

    stranger = api("other_officer").post(
        "/api/v1/allocations/",
        {"tranche": maintenance.pk, "category": "cybersecurity", "share": "10"},
    )
    assert stranger.status_code == 403
    assert Allocation.objects.filter(tranche=maintenance).count() == 1

    allocation = Allocation.objects.get(tranche=maintenance)
    assert api("officer").delete(f"/api/v1/allocations/{allocation.pk}/").status_code == 204
    assert not Allocation.objects.filter(tranche=maintenance).exists()


def test_the_plan_names_each_line_its_gaps_money_and_handover(api, world, maintenance):
    world.project.portfolio.reporting_currency = "USD"
    world.project.portfolio.save()
    add_line(api, world.project, category="hosting", annual_cost="7300.00", successor="Ministry")
    add_line(api, world.project)
    api("officer").post(
        "/api/v1/allocations/",
        {"tranche": maintenance.pk, "category": "hosting", "amount": "20000.00"},
    )

    response = api("evaluator").get(
        f"/api/v1/projects/{world.project.pk}/sustainability-plan/?as_of=2025-06-01"
    )

    assert response.status_code == 200
    body = response.json()
    assert [line["category"] for line in body["lines"]] == ["hosting", "cybersecurity", "licences"]
    hosting, security, _licences = body["lines"]
    assert hosting["successor"] == "Ministry" and security["successor"] == ""
    window_start = world.project.launch_date
    assert security["gaps"][0]["start"] == window_start.isoformat()
    assert set(security["months"]) == {"gap"}
    year = hosting["years"][0]
    assert year["year"] == window_start.year
    assert Decimal(year["shortfall"]) >= 0
    assert len(body["months"]) == len(hosting["months"])


def test_the_plan_of_an_unknown_project_is_a_404_and_a_bad_date_a_400(api, world):
    assert api("manager").get("/api/v1/projects/999999/sustainability-plan/").status_code == 404
    bad = api("manager").get(
        f"/api/v1/projects/{world.project.pk}/sustainability-plan/?as_of=tomorrow"
    )
    assert bad.status_code == 400 and "as_of" in bad.json()

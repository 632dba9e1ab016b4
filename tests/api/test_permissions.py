"""The role table through the API: every role against every resource and action."""

from dataclasses import dataclass, field
from datetime import date

import pytest

from tests.evaluations.factories import IndicatorFactory, TargetFactory
from tests.factories import (
    ExchangeRateFactory,
    OrganisationFactory,
    PortfolioFactory,
    ProjectFactory,
    TrancheFactory,
)

from .conftest import ROLES

pytestmark = pytest.mark.django_db

READERS = set(ROLES) - {"anonymous", "no_role"}


@dataclass
class Resource:
    row: object  # world -> the row read, changed and acted on
    create: object = None  # world -> a valid new row's body
    change: dict = field(default_factory=dict)  # a valid PATCH body
    deletable: object = None  # world -> a row nothing protects
    writers: set = field(default_factory=set)
    actions: dict = field(default_factory=dict)  # name -> (method, body, who may)


RESOURCES = {
    "portfolios": Resource(
        row=lambda w: w.project.portfolio,
        create=lambda w: {"name": "Another fund", "reporting_currency": "EUR"},
        change={"lapse_warning_days": 60},
        deletable=lambda w: PortfolioFactory(),
        writers={"manager"},
    ),
    "organisations": Resource(
        row=lambda w: w.evaluation_firm,
        create=lambda w: {"name": "New foundation", "is_funder": True, "country": "NO"},
        change={"country": "FR"},
        deletable=lambda w: OrganisationFactory(),
        writers={"manager"},
    ),
    "exchange-rates": Resource(
        row=lambda w: w.rate,
        create=lambda w: {
            "currency": "GBP",
            "to_currency": "USD",
            "rate": "1.27",
            "valid_on": "2026-01-01",
        },
        change={"source": "Central bank"},
        deletable=lambda w: ExchangeRateFactory(valid_on=date(2020, 1, 1)),
        writers={"finance", "manager"},
    ),
    "projects": Resource(
        row=lambda w: w.project,
        create=lambda w: {
            "portfolio": w.project.portfolio_id,
            "code": "NEW-01",
            "title": "A new pilot",
            "country": "GH",
            "sector_code": "15110",
            "implementing_partner": w.project.implementing_partner_id,
        },
        change={"title": "Renamed pilot"},
        deletable=lambda w: ProjectFactory(),
        writers={"manager"},
        actions={"coverage": ("get", None, READERS)},
    ),
    "tranches": Resource(
        row=lambda w: w.tranche,
        create=lambda w: {
            "project": w.project.pk,
            "funder": w.bank.pk,
            "instrument": "grant",
            "purpose": "launch",
            "amount": "5000.00",
            "currency": "USD",
        },
        change={"notes": "Signed in Abidjan."},
        deletable=lambda w: TrancheFactory(funder=w.bank),
        writers={"officer", "manager"},
        actions={"schedule": ("get", None, READERS)},
    ),
    "disbursements": Resource(
        row=lambda w: w.disbursement,
        create=lambda w: {"tranche": w.tranche.pk, "disbursed_on": "2025-03-01", "amount": "10.00"},
        change=None,  # never edited: undone and entered again
        deletable=lambda w: w.disbursement,
        writers={"officer", "manager"},
    ),
    "repayments": Resource(
        row=lambda w: w.repayment,
        create=lambda w: {"tranche": w.tranche.pk, "received_on": "2025-03-01", "interest": "1.00"},
        change=None,  # never edited: undone and entered again
        deletable=lambda w: w.repayment,
        writers={"finance", "manager"},
    ),
    "lapse-flags": Resource(
        row=lambda w: w.flag,
        create=None,  # raised and resolved by the scan only
        change=None,
        actions={
            "acknowledge": ("post", {"note": "Renewal in signature."}, {"officer", "manager"})
        },
    ),
    "indicators": Resource(
        row=lambda w: w.indicator,
        create=lambda w: {
            "project": w.project.pk,
            "code": "OUT-NEW",
            "name": "Services delivered online",
            "level": "output",
            "baseline_value": "0",
            "baseline_date": "2025-01-01",
        },
        change={"unit": "services"},
        deletable=lambda w: IndicatorFactory(project=w.project),
        writers={"evaluator", "manager"},
    ),
    "targets": Resource(
        row=lambda w: w.target,
        create=lambda w: {"indicator": w.indicator.pk, "due_on": "2027-12-31", "value": "5000"},
        change={"value": "2000", "change_reason": "Scaled up after the mid-term review."},
        deletable=lambda w: TargetFactory(indicator=w.indicator, due_on=date(2028, 6, 30)),
        writers={"evaluator", "manager"},
    ),
    "measurements": Resource(
        row=lambda w: w.measurement,
        create=lambda w: {
            "indicator": w.indicator.pk,
            "period_start": "2025-04-01",
            "period_end": "2025-06-30",
            "value": "250",
            "source": "Registry extract",
        },
        change={"comment": "Figures from the June extract."},
        deletable=lambda w: w.measurement,
        writers={"evaluator", "manager"},
        actions={
            "verify": ("post", {}, {"evaluator", "manager"}),
            "reject": ("post", {"reason": "Extract is unsigned."}, {"evaluator", "manager"}),
        },
    ),
    "evaluations": Resource(
        row=lambda w: w.evaluation,
        create=lambda w: {
            "project": w.project.pk,
            "kind": "final",
            "evaluator": w.evaluation_firm.pk,
            "relevance": 5,
        },
        change={"summary": "Strong uptake, weak upkeep budget."},
        deletable=lambda w: w.evaluation,
        writers={"evaluator", "manager"},
    ),
}

SUCCESS = {"list": 200, "read": 200, "create": 201, "update": 200, "delete": 204}


def cases():
    for name, resource in RESOURCES.items():
        for verb in ("list", "read", "create", "update", "delete"):
            yield name, verb
        for verb in resource.actions:
            yield name, verb


def request(api, role, world, name, verb):
    resource = RESOURCES[name]
    client = api(role)
    base = f"/api/v1/{name}/"
    if verb == "list":
        return client.get(base)
    if verb == "create":
        body = resource.create(world) if resource.create else {}
        return client.post(base, body, format="json")
    if verb == "delete":
        row = resource.deletable(world) if resource.deletable else resource.row(world)
        return client.delete(f"{base}{row.pk}/", {"reason": "Entered in error"}, format="json")
    url = f"{base}{resource.row(world).pk}/"
    if verb == "read":
        return client.get(url)
    if verb == "update":
        return client.patch(url, resource.change or {}, format="json")
    method, body, _ = resource.actions[verb]
    return getattr(client, method)(f"{url}{verb}/", body, format="json")


def expected(role, name, verb):
    resource = RESOURCES[name]
    detail = verb not in ("list", "create")
    if role == "anonymous":
        return 401
    unsupported = (
        (verb == "create" and resource.create is None)
        or (verb == "update" and resource.change is None)
        or (verb == "delete" and resource.deletable is None)
    )
    if unsupported:
        return 405
    if role == "no_role":
        return 404 if detail else 403
    if verb in ("list", "read"):
        allowed, success = READERS, 200
    elif verb in resource.actions:
        allowed, success = resource.actions[verb][2], 200
    else:
        allowed, success = resource.writers, SUCCESS[verb]
    return success if role in allowed else 403


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("name", "verb"), list(cases()))
def test_each_role_may_do_what_the_role_table_says(api, world, role, name, verb):
    response = request(api, role, world, name, verb)

    assert response.status_code == expected(role, name, verb), response.content


def test_anonymous_requests_are_asked_for_a_token(client, world):
    response = client.get("/api/v1/projects/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_a_refusal_gives_the_role_tables_reason(api, world):
    response = api("finance").patch(
        f"/api/v1/tranches/{world.tranche.pk}/", {"notes": "x"}, format="json"
    )

    assert response.status_code == 403
    assert response.json() == {
        "detail": "Only donor officers and portfolio managers change tranches and disbursements."
    }


def test_a_user_without_a_role_is_told_so_on_lists(api, world):
    response = api("no_role").get("/api/v1/tranches/")

    assert response.json() == {"detail": "You have no role in this portfolio."}


def test_an_officer_cannot_change_another_funders_tranche(api, world):
    response = api("officer").patch(
        f"/api/v1/tranches/{world.other_tranche.pk}/", {"notes": "Mine now"}, format="json"
    )

    assert response.status_code == 403
    world.other_tranche.refresh_from_db()
    assert world.other_tranche.notes == ""


def test_an_officer_cannot_log_a_tranche_for_another_funder(api, world):
    body = RESOURCES["tranches"].create(world) | {"funder": world.other_funder.pk}

    response = api("officer").post("/api/v1/tranches/", body, format="json")

    assert response.status_code == 403


def test_an_officer_cannot_move_its_tranche_to_another_funder(api, world):
    response = api("officer").patch(
        f"/api/v1/tranches/{world.tranche.pk}/", {"funder": world.other_funder.pk}, format="json"
    )

    assert response.status_code == 403
    world.tranche.refresh_from_db()
    assert world.tranche.funder == world.bank


def test_an_officer_cannot_disburse_on_another_funders_tranche(api, world):
    body = {"tranche": world.other_tranche.pk, "disbursed_on": "2025-03-01", "amount": "10.00"}

    response = api("officer").post("/api/v1/disbursements/", body, format="json")

    assert response.status_code == 403


def test_session_login_works_beside_tokens(client, people, world):
    client.force_login(people["finance"])

    response = client.get("/api/v1/exchange-rates/")

    assert response.status_code == 200

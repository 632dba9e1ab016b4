"""Token login with its failed-login throttle, and the OpenAPI contract and its docs page."""

import pytest
import yaml
from django.core.management import call_command

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token/"


def test_a_username_and_password_buy_a_token_that_opens_the_api(client, people):
    response = client.post(TOKEN_URL, {"username": people["finance"].username, "password": "pw"})

    assert response.status_code == 200
    token = response.json()["token"]
    listed = client.get("/api/v1/exchange-rates/", HTTP_AUTHORIZATION=f"Token {token}")
    assert listed.status_code == 200


def test_a_wrong_password_is_a_400_naming_no_field(client, people):
    response = client.post(TOKEN_URL, {"username": people["finance"].username, "password": "no"})

    assert response.status_code == 400
    assert set(response.json()) == {"non_field_errors"}


def test_failed_logins_are_throttled_per_address(client, people):
    for _ in range(5):
        assert (
            client.post(TOKEN_URL, {"username": "finance", "password": "guess"}).status_code == 400
        )

    refused = client.post(TOKEN_URL, {"username": people["finance"].username, "password": "pw"})

    assert refused.status_code == 429
    assert "Retry-After" in refused


def test_successful_logins_are_not_counted(client, people):
    for _ in range(8):
        response = client.post(
            TOKEN_URL, {"username": people["finance"].username, "password": "pw"}
        )
        assert response.status_code == 200


def test_an_unknown_token_is_a_401(client, world):
    response = client.get("/api/v1/projects/", HTTP_AUTHORIZATION="Token nonsense")

    assert response.status_code == 401


@pytest.fixture(scope="module")
def schema(tmp_path_factory):
    path = tmp_path_factory.mktemp("schema") / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(path))
    return yaml.safe_load(path.read_text())


def test_the_schema_is_valid_and_has_every_resource(schema):
    resources = {path.removeprefix("/api/v1/").split("/")[0] for path in schema["paths"]}

    assert {
        "auth",
        "portfolios",
        "organisations",
        "exchange-rates",
        "projects",
        "tranches",
        "disbursements",
        "lapse-flags",
        "indicators",
        "targets",
        "measurements",
        "evaluations",
    } <= resources
    assert "/api/v1/projects/{id}/coverage/" in schema["paths"]
    assert "/api/v1/tranches/{id}/schedule/" in schema["paths"]


def test_every_operation_describes_its_errors(schema):
    for path, operations in schema["paths"].items():
        if not path.startswith(("/api/v1/tranches", "/api/v1/projects", "/api/v1/measurements")):
            continue
        for operation in operations.values():
            assert {"400", "401", "403", "404"} <= set(operation["responses"]), path


def test_enums_and_names_are_the_contract(schema):
    components = schema["components"]["schemas"]

    assert components["TrancheStatusEnum"]["enum"] == ["planned", "committed", "cancelled"]
    assert set(components["FlagKindEnum"]["enum"]) >= {"lapsed", "at_risk", "unsecured"}
    tranche = components["Tranche"]["properties"]
    assert {"reference", "amount", "covers_from", "covers_until", "payable_amount"} <= set(tranche)
    assert tranche["amount"]["type"] == "string"  # decimals travel as strings
    assert "funder_reference" not in tranche
    # One name, one meaning: what may still be paid, and what results earned.
    assert "eligible_amount" not in tranche
    assert "earned_amount" in components["PayoutTerms"]["properties"]


def test_the_schema_and_the_docs_are_served_without_a_cdn(client):
    schema = client.get("/api/schema/")
    docs = client.get("/api/docs/")

    assert schema.status_code == 200
    assert docs.status_code == 200
    page = docs.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in page
    assert "cdn" not in page.lower()

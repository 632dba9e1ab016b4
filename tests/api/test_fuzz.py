"""Schemathesis fuzzes the API from its own OpenAPI schema, on the demo portfolio, as a
portfolio manager (who may call everything): no answer is a 5xx, and every answer has a
documented status, content type and shape."""

import io
import itertools

import pytest
import schemathesis
from django.apps import apps
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from portfolio.models import Role
from tests.factories import MembershipFactory

CHECKS = {
    GenerationMode.POSITIVE: [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ],
    # Invalid input gets a documented answer, never a crash. (Not negative_data_rejection:
    # filters read an empty parameter, `?status=`, as unset, the way HTML forms send it.)
    GenerationMode.NEGATIVE: [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ],
}
# Small and fixed, so the whole run takes about a minute on a CI machine.
EXAMPLES = {GenerationMode.POSITIVE: 20, GenerationMode.NEGATIVE: 10}
# Resource path -> model, so path ids are often rows that exist.
MODELS = {
    "portfolios": "portfolio.Portfolio",
    "organisations": "portfolio.Organisation",
    "exchange-rates": "portfolio.ExchangeRate",
    "projects": "projects.Project",
    "tranches": "funding.Tranche",
    "disbursements": "funding.Disbursement",
    "lapse-flags": "funding.LapseFlag",
    "indicators": "evaluations.Indicator",
    "targets": "evaluations.Target",
    "measurements": "evaluations.Measurement",
    "evaluations": "evaluations.Evaluation",
    "standard-indicators": "evaluations.StandardIndicator",
    "disaggregation-dimensions": "evaluations.DisaggregationDimension",
    "disaggregation-values": "evaluations.DisaggregationValue",
}

# The resources of the REST API proper; exports and IATI have their own tests.
FUZZED = {*MODELS, "auth"}


def resource_of(operation):
    return operation.path.removeprefix("/api/v1/").split("/")[0]


def cases(operation, mode):
    """Generated requests; for a row's path, half of them name a row that exists."""
    generated = operation.as_strategy(mode)
    resource = resource_of(operation)
    # A row that exists is a valid id, which a negative case must not have.
    if mode is GenerationMode.NEGATIVE or "{id}" not in operation.path or resource not in MODELS:
        return generated
    ids = list(apps.get_model(MODELS[resource]).objects.values_list("pk", flat=True)[:20])
    if not ids:
        return generated
    known = st.sampled_from(ids).flatmap(
        lambda pk: operation.as_strategy(mode, path_parameters={"id": pk})
    )
    return st.one_of(generated, known)


@pytest.fixture
def connection_kept_open():
    """Django's test client keeps the test's database connection open across requests; the
    WSGI app called directly would close it after each one, losing the test transaction."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


def fuzz(operation, mode, headers):
    """Send generated requests for one operation; raises on the first failed check."""

    @settings(
        max_examples=EXAMPLES[mode],
        deadline=None,
        database=None,
        derandomize=True,  # the same requests on every run, so CI is repeatable
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases(operation, mode))
    def send(case):
        case.call_and_validate(headers=headers, checks=CHECKS[mode])

    send()


@pytest.mark.slow
@pytest.mark.django_db
def test_fuzzed_requests_never_fail_and_match_the_schema(connection_kept_open):
    call_command("seed_demo", "--force", stdout=io.StringIO())
    token = Token.objects.create(user=MembershipFactory(role=Role.PORTFOLIO_MANAGER).user)
    headers = {"Authorization": f"Token {token.key}"}
    schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
    operations = [result.ok() for result in schema.get_all_operations()]

    failures = []
    for mode, operation in itertools.product(CHECKS, operations):
        if resource_of(operation) not in FUZZED:
            continue
        if mode is GenerationMode.NEGATIVE and not (len(operation.query) or len(operation.body)):
            continue  # only an id in the path: the 404s of the positive run cover it
        try:
            fuzz(operation, mode, headers)
        except Unsatisfiable:
            pass  # nothing of this operation can be made invalid (only an id in the path)
        except Exception as error:  # noqa: BLE001 - report every operation's failure at once
            failures.append(f"{mode.value} {operation.method.upper()} {operation.path}: {error}")

    assert not failures, "\n\n".join(failures)

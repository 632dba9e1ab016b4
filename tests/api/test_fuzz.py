"""Schemathesis fuzzes the API from its own OpenAPI schema, on the demo portfolio, as a
portfolio manager (who may call everything): no answer is a 5xx, and every answer has a
documented status, content type and shape.

Every operation is fuzzed, the imports and exports included, within a fixed budget: a few
examples an operation (fewer for the ones that write a workbook or an IATI file), no
shrinking of a failure, so the whole file takes about a minute on a quiet 2-core machine.
"""

import itertools
import time

import pytest
import schemathesis
from django.apps import apps
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
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
# Small and fixed, so the whole run takes about a minute on a quiet 2-core machine (all 75
# operations at 20 and 10 took eleven minutes).
EXAMPLES = {GenerationMode.POSITIVE: 8, GenerationMode.NEGATIVE: 4}
# Operations whose every answer costs a workbook, an IATI file or a spreadsheet parse:
# fewer examples, which still reach their validation and their refusals.
HEAVY = {
    ("POST", "/api/v1/exports/"): 3,
    ("GET", "/api/v1/exports/{id}/download/"): 2,
    ("GET", "/api/v1/iati/activities.xml"): 2,
    ("POST", "/api/v1/iati-imports/"): 3,
    ("POST", "/api/v1/tranche-imports/"): 3,
    ("GET", "/api/v1/tranche-imports/template/"): 1,
    ("GET", "/api/v1/portfolios/{id}/figures/"): 4,
    ("GET", "/api/v1/projects/{id}/coverage/"): 4,
}
# The whole test must stay inside this many seconds of CPU: on a quiet machine that is its
# time; on a busy one its wall time grows with the queue for the cores, which says nothing
# about the test.
BUDGET = 90
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


def examples(operation, mode):
    heavy = HEAVY.get((operation.method.upper(), operation.path))
    return min(EXAMPLES[mode], heavy) if heavy else EXAMPLES[mode]


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


@pytest.fixture
def media_in_tmp(settings, tmp_path):
    """Exports and report files land in a temporary folder, not in var/."""
    settings.MEDIA_ROOT = tmp_path


def fuzz(operation, mode, headers):
    """Send generated requests for one operation; raises on the first failed check."""

    @settings(
        max_examples=examples(operation, mode),
        # No deadline a request: the budget is the number of examples, and a slow answer
        # on a busy machine is not a failure. No shrinking: a failure is reported as found.
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
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
def test_fuzzed_requests_never_fail_and_match_the_schema(connection_kept_open, media_in_tmp, demo):
    started, cpu_started = time.monotonic(), time.process_time()
    token = Token.objects.create(user=MembershipFactory(role=Role.PORTFOLIO_MANAGER).user)
    headers = {"Authorization": f"Token {token.key}"}
    schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
    operations = [result.ok() for result in schema.get_all_operations()]

    failures = []
    fuzzed = set()
    for mode, operation in itertools.product(CHECKS, operations):
        fuzzed.add((operation.method.upper(), operation.path))
        if mode is GenerationMode.NEGATIVE and not (len(operation.query) or len(operation.body)):
            continue  # only an id in the path: the 404s of the positive run cover it
        try:
            fuzz(operation, mode, headers)
        except Unsatisfiable:
            pass  # nothing of this operation can be made invalid (only an id in the path)
        # Schemathesis raises its failures as a group (a BaseExceptionGroup).
        except (Exception, BaseExceptionGroup) as error:  # noqa: BLE001 - report them all at once
            failures.append(f"{mode.value} {operation.method.upper()} {operation.path}: {error}")

    took, cpu = time.monotonic() - started, time.process_time() - cpu_started
    # The figures to watch.
    print(f"fuzzed {len(fuzzed)} operations: {took:.0f} s, {cpu:.0f} s of CPU")  # noqa: T201

    assert not failures, "\n\n".join(failures)
    assert len(fuzzed) == len(operations)
    assert {path for _method, path in fuzzed} >= {path for _method, path in HEAVY}
    assert cpu < BUDGET, f"the fuzzing took {cpu:.0f} s of CPU, over its budget of {BUDGET} s"

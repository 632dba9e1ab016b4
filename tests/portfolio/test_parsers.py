"""Request bodies have a depth limit: JSON nested a thousand deep is a 400, never a
RecursionError and a 500."""

import json

import pytest

from portfolio.parsers import MAX_DEPTH, depth
from tests.api.conftest import client_for
from tests.factories import MembershipFactory

DEEP = "[" * 1000 + "]" * 1000


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"1", 0),
        (b'{"a": [1, {"b": 2}]}', 3),
        (b'{"note": "[[[[{{{{"}', 1),  # brackets inside a string do not nest
        (b'{"note": "a \\" [[[["}', 1),  # nor after an escaped quote
        (DEEP.encode(), 1000),
    ],
)
def test_depth_counts_nesting_outside_strings(body, expected):
    assert depth(body) == expected


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/tranches/", "/api/v1/auth/token/"])
def test_json_nested_a_thousand_deep_is_a_400(path):
    # The probe: a 1,000-deep body raised RecursionError, a 500.
    api = client_for(MembershipFactory().user)

    response = api.post(path, DEEP, content_type="application/json")

    assert response.status_code == 400
    assert "nests deeper" in response.json()["detail"]


@pytest.mark.django_db
def test_a_deep_object_as_a_field_value_is_a_400_too():
    api = client_for(MembershipFactory().user)
    nested = {}
    for _ in range(MAX_DEPTH + 5):
        nested = {"a": nested}

    response = api.post(
        "/api/v1/tranches/", json.dumps({"notes": nested}), content_type="application/json"
    )

    assert response.status_code == 400


@pytest.mark.django_db
def test_a_body_within_the_limit_is_read_as_usual():
    api = client_for(MembershipFactory().user)

    response = api.post(
        "/api/v1/tranches/", json.dumps({"notes": "[[[["}), content_type="application/json"
    )

    assert response.status_code == 400  # incomplete, but read: the fields are named
    assert "project" in response.json()

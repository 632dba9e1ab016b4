"""The API's JSON renderer writes, byte for byte, the document DRF's own JSON renderer writes."""

import json
import uuid
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal

import pytest
from django.utils.functional import lazystr
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework import renderers
from rest_framework.exceptions import ErrorDetail
from rest_framework.utils.serializer_helpers import ReturnDict, ReturnList

from funding.models import TrancheStatus
from portfolio.renderers import JSONRenderer


def drf(data, media_type=None):
    return renderers.JSONRenderer().render(data, media_type)


def ours(data, media_type=None):
    return JSONRenderer().render(data, media_type)


def test_a_document_of_every_kind_of_value_is_written_as_drf_writes_it():
    document = ReturnDict(
        {
            "id": 7,
            "amount": "1250000.00",
            "status": TrancheStatus.COMMITTED,  # a str that is also an Enum
            "committed": True,
            "notes": None,
            "title": "Paiement numérique – Sénégal 🇸🇳",
            "created_at": datetime(2026, 3, 1, 10, 0, 0, 123456, tzinfo=UTC),
            "nairobi": datetime(2026, 3, 1, 10, 0, tzinfo=timezone(timedelta(hours=3))),
            "naive": datetime(2026, 3, 1, 10, 0, 0, 500),
            "due_on": date(2026, 12, 31),
            "at": time(9, 30, 15, 250000),
            "after": timedelta(days=1, seconds=5),
            "ratio": Decimal("0.25"),
            "key": uuid.UUID("12345678-1234-5678-1234-567812345678"),
            "message": lazystr("A text worked out when written"),  # as a lazy translation is
            "errors": {"amount": [ErrorDetail("Too much.", code="invalid")]},
            "rows": ReturnList([{"n": n} for n in range(3)], serializer=None),
            "pair": (1, "two"),
            1: "a key that is a number",
            "js": "line\u2028paragraph\u2029end",
        },
        serializer=None,
    )

    assert ours(document) == drf(document)


@pytest.mark.parametrize(
    "data",
    [
        {"big": 2**70},  # past 64 bits: orjson refuses, DRF writes it
        {"deep": json.loads("[" * 300 + "]" * 300)},  # past orjson's nesting limit
        None,
    ],
)
def test_what_orjson_refuses_is_written_by_drfs_renderer(data):
    assert ours(data) == drf(data)


def test_an_indented_answer_asked_for_is_written_by_drfs_renderer():
    data = {"a": [1, 2], "b": {"c": None}}

    written = ours(data, "application/json; indent=4")

    assert written == drf(data, "application/json; indent=4")
    assert b"\n    " in written


def test_a_float_that_is_not_a_number_is_written_as_null_where_drf_fails():
    with pytest.raises(ValueError, match="Out of range float values"):
        drf({"share": float("nan")})

    assert ours({"share": float("nan")}) == b'{"share":null}'


JSON_LIKE = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**64 - 1) | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=30,
)


@settings(max_examples=200, deadline=None)
@given(JSON_LIKE)
def test_any_json_document_is_written_as_drf_writes_it(data):
    assert ours(data) == drf(data)


@settings(max_examples=100, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_a_finite_float_reads_back_as_the_same_number(value):
    # orjson may spell a float otherwise ("1e16" for "1e+16"): the number is the same.
    assert json.loads(ours({"x": value})) == json.loads(drf({"x": value}))

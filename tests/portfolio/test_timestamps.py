"""Timestamps read from PostgreSQL by psycopg's compiled loader are the values Django's gave."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.db import connection
from psycopg.pq import Format

from funding.models import Tranche
from portfolio.timestamps import TIMESTAMPTZ, UtcTimestampLoader
from tests.factories import TrancheFactory

pytestmark = pytest.mark.django_db


def read(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def test_connections_read_timestamps_with_the_compiled_loader(postgres):
    with connection.cursor() as cursor:
        loader = cursor.connection.adapters.get_loader(TIMESTAMPTZ, Format.TEXT)
    assert loader is UtcTimestampLoader


def test_a_stored_instant_reads_back_in_utc(postgres):
    created = datetime(2026, 3, 1, 10, 0, 0, 123456, tzinfo=timezone(timedelta(hours=3)))
    tranche = TrancheFactory()
    Tranche.objects.filter(pk=tranche.pk).update(created_at=created)

    read_back = Tranche.objects.values_list("created_at", flat=True).get(pk=tranche.pk)

    assert read_back == created
    assert read_back.tzinfo is UTC
    assert read_back.hour == 7


def test_an_instant_read_in_another_session_time_zone_is_answered_in_utc(postgres):
    with connection.cursor() as cursor:
        cursor.execute("SET TIME ZONE 'Asia/Kolkata'")
    try:
        value = read("SELECT %s::timestamptz", ["2026-03-01 10:00:00+00"])
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET TIME ZONE 'UTC'")
    assert value == datetime(2026, 3, 1, 10, tzinfo=UTC)
    assert value.tzinfo is UTC


def test_the_last_instant_python_holds_reads_back_whole(postgres):
    assert read("SELECT %s::timestamptz", ["9999-12-31 23:59:59.999999+00"]) == datetime(
        9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC
    )

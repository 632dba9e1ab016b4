"""Fixtures that start the service as separate processes on PostgreSQL and Redis."""

import shutil

import pytest
from django.db import connection

from tests.conftest import _require

from .topology import PostgresCluster, RedisServer, Stack, database_url, postgres_bin


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/system/" in str(item.fspath):
            item.add_marker(pytest.mark.system)


@pytest.fixture(autouse=True)
def fast_password_hashing():
    """Overrides the suite's fast hasher: the servers started here check passwords with the
    production hashers, so users must be saved with one of them."""


@pytest.fixture
def system_db(postgres, transactional_db):
    """The test database on PostgreSQL, committed for real so other processes see the rows."""
    return database_url(connection.settings_dict)


@pytest.fixture
def redis_server(tmp_path):
    """A Redis of our own (never the shared one, which other tests use and we may stop)."""
    _require("redis-server (the Redis program)", shutil.which("redis-server"))
    server = RedisServer(tmp_path).start()
    yield server
    server.stop()


@pytest.fixture
def stack(system_db, redis_server, tmp_path):
    """Processes are added by each test (web, workers, beat); all are stopped at the end,
    and their logs printed, which pytest shows when the test failed."""
    # A task held by a dead worker comes back after 15 s; an export silent for 10 s is dead.
    started = Stack(
        system_db,
        redis_server.url,
        tmp_path,
        CELERY_VISIBILITY_TIMEOUT="15",
        EXPORT_STALE_SECONDS="10",
    )
    yield started
    started.stop()
    print(started.logs())


@pytest.fixture
def postgres_cluster():
    """A PostgreSQL server of our own, to restart (never the shared one)."""
    _require(
        "PostgreSQL server programs (initdb, pg_ctl)",
        postgres_bin("initdb") and postgres_bin("pg_ctl"),
    )
    cluster = PostgresCluster().start()
    yield cluster
    cluster.stop()

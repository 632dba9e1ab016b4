"""Shared fixtures, and the rule that a test needing a missing service fails under CI."""

import socket

import pytest
from django.conf import settings
from django.db import connection


def _require(service, available):
    if available:
        return
    message = f"{service} is not available"
    if settings.REQUIRE_SERVICES:
        pytest.fail(f"{message}, and REQUIRE_SERVICES=1 says the tests need it")
    pytest.skip(message)


@pytest.fixture
def postgres():
    """The test needs PostgreSQL (row locks, real concurrency)."""
    _require("PostgreSQL (set DATABASE_URL=postgres://...)", connection.vendor == "postgresql")


def redis_answers(url):
    if not url:
        return False
    import redis

    try:
        return redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except (redis.RedisError, OSError):
        return False


@pytest.fixture
def redis_url():
    """The test needs a real Redis; returns its URL."""
    _require("Redis (set REDIS_URL=redis://...)", redis_answers(settings.REDIS_URL))
    return settings.REDIS_URL


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]

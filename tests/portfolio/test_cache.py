"""The shared cache degrades to process memory when Redis does not answer: token login,
the dashboard and /healthz keep working, and health says the cache is degraded."""

import pytest
from django.core.cache import cache, caches

from portfolio.cache import FallbackRedisCache
from tests.factories import MembershipFactory

from ..conftest import free_port


@pytest.fixture
def dead_redis_cache(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "portfolio.cache.FallbackRedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    yield
    cache.clear()


def test_without_redis_the_cache_keeps_values_in_process_memory(dead_redis_cache):
    cache.set("answer", 42)
    assert cache.get("answer") == 42
    assert cache.add("counter", 1) is True
    assert cache.incr("counter") == 2
    assert cache.get_many(["answer", "counter"]) == {"answer": 42, "counter": 2}
    assert cache.degraded
    assert cache.answers() is False


def test_with_redis_values_are_shared_through_it(settings, redis_url):
    settings.CACHES = {
        "default": {"BACKEND": "portfolio.cache.FallbackRedisCache", "LOCATION": redis_url}
    }
    cache.set("h22-shared", "yes", 30)
    assert isinstance(caches["default"], FallbackRedisCache)
    assert cache.answers() is True
    assert not cache.degraded
    assert cache._cache.get_client().get(cache.make_and_validate_key("h22-shared")) is not None
    cache.delete("h22-shared")


@pytest.mark.django_db
def test_token_login_works_while_redis_is_down(client, dead_redis_cache):
    user = MembershipFactory().user

    response = client.post("/api/v1/auth/token/", {"username": user.username, "password": "pw"})

    assert response.status_code == 200


@pytest.mark.django_db
def test_failed_logins_are_still_throttled_while_redis_is_down(client, dead_redis_cache):
    user = MembershipFactory().user
    for _ in range(5):
        client.post("/api/v1/auth/token/", {"username": user.username, "password": "no"})

    response = client.post("/api/v1/auth/token/", {"username": user.username, "password": "pw"})

    assert response.status_code == 429


@pytest.mark.django_db
def test_the_dashboard_works_while_redis_is_down(client, dead_redis_cache):
    client.force_login(MembershipFactory().user)

    assert client.get("/").status_code == 200


@pytest.mark.django_db
def test_health_says_the_cache_is_degraded(client, dead_redis_cache):
    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["cache"], body["degraded"]) == ("degraded", False, ["cache"])

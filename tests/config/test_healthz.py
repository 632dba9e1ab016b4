"""/healthz reports database and broker reachability; a dead broker never breaks a save."""

import time

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction

from portfolio.outbox import enqueue_on_commit
from portfolio.tasks import ping


@pytest.mark.django_db
def test_healthz_answers_200_when_database_and_broker_answer(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": True, "broker": True}


@pytest.mark.django_db
def test_healthz_answers_503_when_broker_is_unreachable(client, broker_down):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": True, "broker": False}


@pytest.mark.django_db(transaction=True)
def test_save_succeeds_and_returns_quickly_when_broker_is_unreachable(broker_down, caplog):
    started = time.monotonic()
    with transaction.atomic():
        get_user_model().objects.create_user("officer", password="x")
        enqueue_on_commit(ping.name)
    elapsed = time.monotonic() - started

    assert get_user_model().objects.filter(username="officer").exists()
    assert "Could not queue portfolio.tasks.ping" in caplog.text
    assert elapsed < 15, "publishing must give up quickly, not hang the request"

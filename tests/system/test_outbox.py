"""Redis stops while people save: nothing is lost. The saves succeed with their flags current
(each save rescans in its own transaction), the lapse digest waits in the outbox, and once
Redis is back it is sent within a minute, without the daily scan."""

import time
from datetime import timedelta
from pathlib import Path

import requests
from dateutil.relativedelta import relativedelta
from django.utils import timezone

from funding.models import Tranche
from funding.signals import rescans_paused
from portfolio.models import OutboxMessage, Role
from tests.factories import (
    MembershipFactory,
    PortfolioFactory,
    ProjectFactory,
    TrancheFactory,
    UserFactory,
)

from .topology import Api, Stack, wait_until


def open_kinds(api, project):
    response = api.get("lapse-flags/", params={"project": project.pk, "open": "true"})
    assert response.status_code == 200, response.text
    return {flag["kind"] for flag in response.json()["results"]}


def emails(folder):
    return "\n".join(path.read_text(errors="replace") for path in Path(folder).glob("*.log"))


def test_rescans_and_digests_held_back_by_an_outage_catch_up_within_a_minute(
    system_db, redis_server, tmp_path
):
    mail = tmp_path / "mail"
    mail.mkdir()
    stack = Stack(system_db, redis_server.url, tmp_path, EMAIL_URL=f"filemail:///{mail}")
    try:
        run(stack, redis_server, mail)
    finally:
        stack.stop()
        print(stack.logs())


def run(stack, redis_server, mail):
    today = timezone.localdate()
    launch = today - timedelta(days=200)
    window_end = launch + relativedelta(months=36) - timedelta(days=1)
    with rescans_paused():
        officer = MembershipFactory(
            user=UserFactory(username="officer", password="pw", email="officer@bank.example")
        )
        MembershipFactory(
            user=UserFactory(username="manager", email="manager@fund.example"),
            role=Role.PORTFOLIO_MANAGER,
        )
        portfolio = PortfolioFactory(reminder_days=[])
        gap, covered = (
            ProjectFactory(portfolio=portfolio, launched=True, launch_date=launch) for _ in range(2)
        )
        funded = TrancheFactory(
            project=covered, funder=officer.organisation, maintenance=True, committed_on=launch,
            covers_from=launch, covers_until=window_end,
        )  # fmt: skip
    stack.web()
    stack.worker("worker1")
    stack.beat()  # drains the outbox every 15 s
    stack.manage("scan_lapses")  # yesterday's daily scan
    api = Api(stack.base_url, "officer", "pw")
    assert open_kinds(api, gap) == {"no_maintenance", "lapsed"}
    assert open_kinds(api, covered) == set()

    redis_server.stop()
    health = requests.get(f"{stack.base_url}/healthz", timeout=10)
    assert (health.status_code, health.json()["degraded"]) == (200, ["broker"])

    started = time.monotonic()
    closes_the_gap = api.post(
        "tranches/",
        {
            "project": gap.pk, "funder": officer.organisation_id, "instrument": "grant",
            "purpose": "maintenance", "amount": "50000.00", "currency": "USD",
            "status": "committed", "committed_on": str(launch),
            "covers_from": str(launch), "covers_until": str(window_end),
        },
    )  # fmt: skip
    cut_short = api.session.patch(
        api.url(f"tranches/{funded.pk}/"),
        json={"covers_until": str(today + timedelta(days=30))},
        timeout=30,
    )
    assert (closes_the_gap.status_code, cut_short.status_code) == (201, 200), cut_short.text
    assert time.monotonic() - started < 20, "a save must not hang on the broker"
    assert Tranche.objects.get(pk=funded.pk).covers_until == today + timedelta(days=30)
    # Each save rescans its project inside its own transaction: the flags are current at once,
    # broker or not. What follows the flags (the digest email) waits in the outbox.
    assert open_kinds(api, gap) == set()
    assert open_kinds(api, covered) == {"at_risk"}
    waiting = OutboxMessage.objects.filter(sent_at__isnull=True)
    assert waiting.filter(task_name="funding.tasks.send_lapse_digest").exists()

    redis_server.start()
    back = time.monotonic()
    wait_until(
        lambda: "At risk" in emails(mail) and "manager@fund.example" in emails(mail),
        60,
        f"the digest of the new flag to be sent:\n{emails(mail)[-2000:]}",
    )
    assert time.monotonic() - back < 60
    assert not OutboxMessage.objects.filter(sent_at__isnull=True).exists()
    health = requests.get(f"{stack.base_url}/healthz", timeout=10).json()
    assert health["status"] == "ok", health

"""Redis stops while users save tranches: saves succeed, health says so, and the flags are
current all along (each save rescans inside its own transaction, needing no broker)."""

import re
import time
from datetime import timedelta

import requests
from dateutil.relativedelta import relativedelta
from django.utils import timezone

from funding import scan
from funding.models import LapseFlag, Tranche
from funding.signals import rescans_paused
from tests.factories import MembershipFactory, PortfolioFactory, ProjectFactory

from .topology import Api, wait_until


def open_kinds(api, project):
    response = api.get("lapse-flags/", params={"project": project.pk, "open": "true"})
    assert response.status_code == 200, response.text
    return {flag["kind"] for flag in response.json()["results"]}


def test_saves_succeed_while_redis_is_down_and_their_flags_are_current_at_once(stack, redis_server):
    today = timezone.localdate()
    launch = today - timedelta(days=200)
    window_end = launch + relativedelta(months=36) - timedelta(days=1)
    with rescans_paused():
        membership = MembershipFactory(user__password="pw")
        portfolio = PortfolioFactory()
        p0, p1, p2 = (
            ProjectFactory(portfolio=portfolio, launched=True, launch_date=launch) for _ in range(3)
        )
    stack.web()
    stack.worker("worker1")
    stack.worker("worker2")
    stack.manage("scan_lapses")  # yesterday's daily scan: nobody has maintenance money yet
    api = Api(stack.base_url, membership.user.username, "pw")
    unfunded = open_kinds(api, p0)
    assert unfunded == {"no_maintenance", "lapsed"}

    def commit(project, covers_from, covers_until):
        started = time.monotonic()
        response = api.post(
            "tranches/",
            {
                "project": project.pk,
                "funder": membership.organisation_id,
                "instrument": "grant",
                "purpose": "maintenance",
                "amount": "50000.00",
                "currency": "USD",
                "status": "committed",
                "committed_on": str(launch),
                "covers_from": str(covers_from),
                "covers_until": str(covers_until),
            },
        )
        assert response.status_code == 201, response.text
        assert time.monotonic() - started < 10, "a save must not hang on the broker"
        return response.json()

    # Each save rescans its project inside its own transaction: no broker, no wait.
    commit(p0, launch, today - timedelta(days=30))
    assert open_kinds(api, p0) == {"lapsed"}

    redis_server.stop()
    health = requests.get(f"{stack.base_url}/healthz", timeout=10)
    assert health.status_code == 200  # degraded, still serving
    assert (health.json()["database"], health.json()["broker"]) == (True, False)

    saved = [
        commit(p0, today - timedelta(days=29), window_end),  # closes p0's gap
        commit(p1, launch, today + timedelta(days=30)),  # p1 ends soon: at risk
        commit(p2, launch, today - timedelta(days=1)),  # p2 has lapsed
    ]
    assert Tranche.objects.filter(pk__in=[t["id"] for t in saved]).count() == 3
    # The broker is down, and still every door shows current flags the moment a save returns.
    assert open_kinds(api, p0) == set()
    assert open_kinds(api, p1) == {"at_risk"}
    assert open_kinds(api, p2) == {"lapsed"}

    redis_server.start()
    wait_until(
        lambda: requests.get(f"{stack.base_url}/healthz", timeout=10).json()["broker"],
        30,
        "health to see the broker again",
    )
    commit(p1, today + timedelta(days=31), window_end)
    assert open_kinds(api, p1) == set()

    # The daily scan, sent through the broker as beat sends it, runs on the reconnected
    # workers and finds nothing to change.
    stack.manage(
        "shell", "-c", "from funding.tasks import scan_lapses_task; scan_lapses_task.delay()"
    )
    wait_until(
        lambda: re.search(r"scan_lapses_task\[[^\]]+\] succeeded", stack.logs()),
        60,
        "the daily scan to run",
    )
    assert open_kinds(api, p2) == {"lapsed"}
    expected = {(f.project_id, f.kind) for f in scan.scan_lapses(dry_run=True).flags}
    assert set(LapseFlag.objects.open().values_list("project_id", "kind")) == expected

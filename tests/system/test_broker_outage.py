"""Redis stops while users save tranches: saves succeed, health says so, flags catch up.

No beat runs here, so work held back in the outbox waits for the daily scan (the outbox's own
catching up, with beat, is tests/system/test_outbox.py)."""

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


def test_saves_succeed_while_redis_is_down_and_flags_come_right_after(stack, redis_server):
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

    # With Redis up, a save's rescan runs on a worker at once.
    commit(p0, launch, today - timedelta(days=30))
    wait_until(lambda: open_kinds(api, p0) == {"lapsed"}, 30, "the rescan to flag the lapse")

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
    # Nothing could queue the rescans: the flags are stale until the broker returns.
    time.sleep(2)
    assert open_kinds(api, p0) == {"lapsed"}
    assert open_kinds(api, p1) == open_kinds(api, p2) == unfunded

    redis_server.start()
    wait_until(
        lambda: requests.get(f"{stack.base_url}/healthz", timeout=10).json()["broker"],
        30,
        "health to see the broker again",
    )
    # A save once Redis is back queues its rescan again, and the workers have reconnected.
    commit(p1, today + timedelta(days=31), window_end)
    wait_until(lambda: open_kinds(api, p1) == set(), 60, "p1's queued rescan to clear its flags")
    assert open_kinds(api, p0) == {"lapsed"}  # its rescan waits in the outbox (no beat) ...

    # ... and the daily scan, sent through the broker as beat sends it, catches up.
    stack.manage(
        "shell", "-c", "from funding.tasks import scan_lapses_task; scan_lapses_task.delay()"
    )
    wait_until(lambda: open_kinds(api, p0) == set(), 60, "the daily scan to resolve p0")
    assert open_kinds(api, p2) == {"lapsed"}
    expected = {(f.project_id, f.kind) for f in scan.scan_lapses(dry_run=True).flags}
    assert set(LapseFlag.objects.open().values_list("project_id", "kind")) == expected

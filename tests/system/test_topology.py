"""The production topology end to end: gunicorn (two workers), two Celery workers and one
beat as separate processes on PostgreSQL and Redis, used over HTTP only."""

from datetime import timedelta

from dateutil.relativedelta import relativedelta
from django.utils import timezone

from devtools import synthetic
from funding.signals import rescans_paused
from tests.factories import MembershipFactory, PortfolioFactory, ProjectFactory

from .exports import assert_whole, download_workbook, request_export, wait_for_export
from .topology import Api


def flags(api, project, **params):
    response = api.get("lapse-flags/", params={"project": project.pk, **params})
    assert response.status_code == 200, response.text
    return response.json()["results"]


def test_donor_officer_commits_sees_flags_come_and_go_and_downloads_a_large_export(stack):
    today = timezone.localdate()
    launch = today - timedelta(days=200)
    with rescans_paused():
        synthetic.build(250)  # more projects than are exported during the request
        membership = MembershipFactory(user__password="pw")
        project = ProjectFactory(portfolio=PortfolioFactory(), launched=True, launch_date=launch)
    stack.web()
    stack.worker("worker1")
    stack.worker("worker2")
    beat = stack.beat()

    officer = Api(stack.base_url, membership.user.username, "pw")

    def commit(covers_from, covers_until):
        response = officer.post(
            "tranches/",
            {
                "project": project.pk,
                "funder": membership.organisation_id,
                "instrument": "grant",
                "purpose": "maintenance",
                "amount": "60000.00",
                "currency": "USD",
                "status": "committed",
                "committed_on": str(launch),
                "covers_from": str(covers_from),
                "covers_until": str(covers_until),
            },
        )
        assert response.status_code == 201, response.text

    # Maintenance paid until ten days ago: the rescan inside the save raises a lapse, so the
    # flag is there the moment the save returns, whichever web worker answers next.
    commit(launch, today - timedelta(days=10))
    assert {f["kind"] for f in flags(officer, project, open="true")} == {"lapsed"}
    # The rest of the obligation window is committed: the rescan resolves it.
    commit(today - timedelta(days=9), launch + relativedelta(months=36) - timedelta(days=1))
    assert flags(officer, project, open="true") == []
    [resolved] = [f for f in flags(officer, project, open="false") if f["kind"] == "lapsed"]
    assert resolved["resolved_at"] is not None

    job = request_export(officer)
    finished, progress = wait_for_export(officer, job, timeout=180)
    assert progress == sorted(progress), "progress never goes backwards"
    assert_whole(download_workbook(officer, finished))

    logs = stack.logs()
    assert "run_export_task[" in logs
    assert beat.alive(), "beat runs beside the workers"

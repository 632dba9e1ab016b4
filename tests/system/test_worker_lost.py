"""A Celery worker killed in the middle of an export: another worker finishes it, whole."""

from devtools import synthetic
from funding.signals import rescans_paused
from tests.factories import MembershipFactory

from .exports import (
    assert_whole,
    download_workbook,
    export_status,
    request_export,
    wait_for_export,
)
from .topology import Api, wait_until


def writing_export(worker):
    lines = [line for line in worker.log().splitlines() if "run_export_task[" in line]
    received = sum("] received" in line for line in lines)
    return received > sum(" succeeded in " in line for line in lines)


def test_export_survives_its_worker_being_killed(stack):
    with rescans_paused():
        synthetic.build(400)
        membership = MembershipFactory(user__password="pw")
    stack.web()
    workers = [stack.worker("worker1"), stack.worker("worker2")]
    stack.beat()  # finds an export whose heartbeat stopped, every minute
    officer = Api(stack.base_url, membership.user.username, "pw")

    job = request_export(officer)
    wait_until(
        lambda: export_status(officer, job)["progress"] > 0, 60, "the export to get under way"
    )
    # The worker writing it (another may have had a duplicate delivery and left it alone).
    [busy] = [w for w in workers if writing_export(w)]
    [other] = [w for w in workers if w is not busy]
    busy.kill()  # SIGKILL to the worker and its pool: no chance to hand the task back
    status = export_status(officer, job)
    assert status["status"] == "running" and status["progress"] < 100, status

    # Its heartbeat stops. Acknowledged late, the task is still Redis's: after the visibility
    # timeout (15 s here) it is delivered to the other worker, which takes the silent job over
    # (silent for 10 s here) and writes the file from the start. Had that delivery come while
    # the first worker still lived (a long export), the other worker would have left the job
    # to it; then beat's minute check of heartbeats queues the dead job again.
    finished, _ = wait_for_export(officer, job, timeout=240)
    assert "run_export_task[" in other.log() and "succeeded" in other.log()
    assert_whole(download_workbook(officer, finished))

"""A Celery worker killed in the middle of an export: another worker finishes it, whole."""

import contextlib

from django.db import connection

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


@contextlib.contextmanager
def measurements_locked():
    """Hold back every read of measurements, from a connection of its own: an export under
    way waits at its first chunk's results however fast the machine, so it is still running
    when its worker is killed (a small portfolio's export otherwise ends within a second)."""
    held = connection.get_new_connection(connection.get_connection_params())
    held.autocommit = False
    try:
        with held.cursor() as cursor:
            cursor.execute("LOCK TABLE evaluations_measurement IN ACCESS EXCLUSIVE MODE")
        yield
    finally:
        held.rollback()
        held.close()


def test_export_survives_its_worker_being_killed(stack):
    with rescans_paused():
        synthetic.build(400)
        membership = MembershipFactory(user__password="pw")
    stack.web()
    workers = [stack.worker("worker1"), stack.worker("worker2")]
    stack.beat()  # finds an export whose heartbeat stopped, every minute
    officer = Api(stack.base_url, membership.user.username, "pw")

    with measurements_locked():
        job = request_export(officer)
        wait_until(
            lambda: export_status(officer, job)["status"] == "running",
            60,
            "the export to get under way",
        )
        # The worker writing it (another may have had a duplicate delivery and left it alone).
        [busy] = wait_until(
            lambda: [w for w in workers if writing_export(w)], 30, "a worker writing the export"
        )
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

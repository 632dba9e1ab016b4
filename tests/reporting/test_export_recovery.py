"""Exports recover fast: progress is a heartbeat, a running job whose worker died is queued
again within minutes with its half-written file deleted, and a run that lost its job never
writes."""

import time
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from portfolio.models import OutboxMessage, Role
from reporting import exports
from reporting.models import ExportJob
from reporting.tasks import recover_exports_task
from reporting.workbook import ExportFilters
from tests.factories import MembershipFactory, PortfolioFactory, ProjectFactory, TrancheFactory

pytestmark = pytest.mark.django_db

RUN_EXPORT = "reporting.tasks.run_export_task"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    (tmp_path / "exports").mkdir()
    return tmp_path


@pytest.fixture
def job():
    portfolio = PortfolioFactory(name="Fund")
    TrancheFactory(project=ProjectFactory(portfolio=portfolio, code="P-1", launched=True))
    finance = MembershipFactory(role=Role.FINANCE).user
    return ExportJob.objects.create(requested_by=finance, filters=ExportFilters().to_json())


def running(job, heartbeat, attempt=1, media=None):
    """The job as a worker left it: running at 40%, its last heartbeat then, half a file."""
    ExportJob.objects.filter(pk=job.pk).update(
        status="running", progress=40, heartbeat_at=heartbeat, attempt=attempt
    )
    if media is not None:
        (media / exports.partial_name(job.pk, attempt)).write_bytes(b"half a workbook")


def queued_runs():
    return list(OutboxMessage.objects.filter(task_name=RUN_EXPORT).values_list("args", flat=True))


def test_each_step_of_a_run_is_a_heartbeat(job, monkeypatch):
    beats = []
    real = exports.write_workbook

    def watched(out, filters, progress):
        def report(percent):
            progress(percent)
            beats.append(ExportJob.objects.values_list("heartbeat_at", "progress").get(pk=job.pk))

        return real(out, filters, progress=report)

    monkeypatch.setattr(exports, "write_workbook", watched)
    exports.run_export(job.pk)

    assert len(beats) > 2
    assert all(at is not None for at, _ in beats)
    assert [at for at, _ in beats] == sorted(at for at, _ in beats)
    job.refresh_from_db()
    assert (job.status, job.attempt) == ("done", 1)


def test_a_job_whose_worker_died_is_queued_again_and_its_partial_file_deleted(job, media):
    died_at = timezone.now()
    running(job, heartbeat=died_at, media=media)

    with time_machine.travel(died_at + timedelta(seconds=179)):
        assert exports.recover_stale_exports() == 0  # a slow step is not a death
    with time_machine.travel(died_at + timedelta(seconds=181)):
        assert recover_exports_task.apply().get() == {"recovered": 1, "requeued": 0}

    job.refresh_from_db()
    assert (job.status, job.progress) == ("queued", 0)
    assert list((media / "exports").iterdir()) == []
    assert queued_runs() == [[str(job.pk)]]

    exports.run_export(job.pk)  # the queued run, on another worker
    job.refresh_from_db()
    assert (job.status, job.progress, job.attempt) == ("done", 100, 2)
    assert [p.name for p in (media / "exports").iterdir()] == [f"{job.pk}.xlsx"]


def test_a_running_job_with_a_heartbeat_is_left_to_its_worker(job, media):
    running(job, heartbeat=timezone.now(), media=media)

    assert exports.recover_stale_exports() == 0
    exports.run_export(job.pk)  # a duplicate delivery of its message

    job.refresh_from_db()
    assert (job.status, job.progress, job.attempt) == ("running", 40, 1)
    assert queued_runs() == []
    assert (media / exports.partial_name(job.pk, 1)).exists()


def test_a_redelivered_message_takes_over_a_silent_job(job, media):
    running(job, heartbeat=timezone.now() - timedelta(minutes=10), media=media)

    exports.run_export(job.pk)

    job.refresh_from_db()
    assert (job.status, job.attempt) == ("done", 2)
    assert not (media / exports.partial_name(job.pk, 1)).exists()


def test_a_run_that_lost_its_job_writes_nothing(job, media, monkeypatch):
    real = exports.write_workbook

    def overtaken(out, filters, progress):
        rows = real(out, filters, progress=progress)
        # Meanwhile the job was declared dead and taken by another run.
        ExportJob.objects.filter(pk=job.pk).update(attempt=7, progress=3)
        return rows

    monkeypatch.setattr(exports, "write_workbook", overtaken)
    exports.run_export(job.pk)

    job.refresh_from_db()
    assert (job.status, job.progress, job.attempt, job.file.name) == ("running", 3, 7, "")
    assert list((media / "exports").iterdir()) == []


def test_finished_and_failed_jobs_are_never_recovered(job):
    long_ago = timezone.now() - timedelta(hours=2)
    ExportJob.objects.filter(pk=job.pk).update(status="done", heartbeat_at=long_ago)
    assert exports.recover_stale_exports() == 0
    ExportJob.objects.filter(pk=job.pk).update(status="failed")
    assert exports.recover_stale_exports() == 0
    assert queued_runs() == []


@pytest.mark.django_db(transaction=True)
def test_a_long_step_without_progress_still_beats(job, settings, monkeypatch):
    settings.EXPORT_STALE_SECONDS = 3  # a beat every half second
    real = exports.write_workbook
    seen = []

    def long_step(out, filters, progress):
        progress(0)
        first = ExportJob.objects.values_list("heartbeat_at", flat=True).get(pk=job.pk)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # a step that reports nothing, as a big chunk
            latest = ExportJob.objects.values_list("heartbeat_at", flat=True).get(pk=job.pk)
            if latest > first:
                seen.append(latest)
                break
            time.sleep(0.1)
        return real(out, filters, progress=progress)

    monkeypatch.setattr(exports, "write_workbook", long_step)
    exports.run_export(job.pk)

    assert seen, "the heartbeat thread never wrote while the step ran"
    job.refresh_from_db()
    assert job.status == "done"

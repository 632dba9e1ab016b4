"""What starts a scan: each save rescans its projects inside its own transaction; beat runs the
daily scan through a real worker; the command; digests and retries."""

import os
import smtplib
import subprocess
import sys
import threading
import time
from datetime import date
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from celery.contrib.testing.worker import start_worker
from django.core.management import CommandError, call_command
from django.db import OperationalError, connection, transaction
from django.test.utils import CaptureQueriesContext

from config.celery import app
from funding import scan, services
from funding.models import LapseFlag, Tranche
from funding.signals import rescans_batched, rescans_paused
from funding.tasks import scan_lapses_task, send_lapse_digest
from projects.models import Project
from tests.factories import ProjectFactory, TrancheFactory

LAUNCH = date(2025, 1, 1)
TODAY = date(2026, 3, 1)


@pytest.fixture
def today():
    with time_machine.travel(TODAY, tick=False):
        yield TODAY


def open_kinds(project):
    return set(LapseFlag.objects.open().filter(project=project).values_list("kind", flat=True))


def maintenance(project, until, **kwargs):
    return TrancheFactory(
        project=project,
        purpose=Tranche.Purpose.MAINTENANCE,
        covers_from=LAUNCH,
        covers_until=until,
        **kwargs,
    )


@pytest.mark.django_db
def test_a_saved_tranche_has_current_flags_before_its_transaction_commits(
    rescans_on_save, today, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        project = ProjectFactory(status=Project.Status.LAUNCHED, launch_date=LAUNCH)
        assert open_kinds(project) == {"lapsed", "no_maintenance"}

        maintenance(project, date(2027, 12, 31))

        # Still inside the transaction: nothing waits for a commit or a worker.
        assert open_kinds(project) == set()
    assert callbacks == [], "no rescan is queued for after the commit"


@pytest.mark.django_db
def test_a_failed_save_leaves_the_flags_as_they_were(rescans_on_save, today):
    project = ProjectFactory(status=Project.Status.LAUNCHED, launch_date=LAUNCH)
    with pytest.raises(RuntimeError), transaction.atomic():
        maintenance(project, date(2027, 12, 31))
        assert open_kinds(project) == set()
        raise RuntimeError("the request failed after the save")
    assert open_kinds(project) == {"lapsed", "no_maintenance"}


@pytest.mark.django_db
def test_a_disbursement_and_its_undo_rescan_the_project(rescans_on_save, today):
    project = ProjectFactory(status=Project.Status.LAUNCHED, launch_date=LAUNCH)
    tranche = maintenance(project, date(2027, 12, 31), expected_disbursement_on=date(2026, 1, 15))
    assert open_kinds(project) == {"disbursement_overdue"}

    paid = services.disburse(tranche, "1000.00", date(2026, 2, 1))
    assert open_kinds(project) == set()

    services.undo_disbursement(paid, reason="Entered twice")
    assert open_kinds(project) == {"disbursement_overdue"}


@pytest.mark.django_db
def test_only_changes_to_coverage_rescan_a_project(rescans_on_save, today):
    project = Project.objects.get(pk=ProjectFactory(launched=True).pk)
    with CaptureQueriesContext(connection) as renamed:
        project.title = "Renamed"
        project.save()
    assert not any(LapseFlag._meta.db_table in q["sql"] for q in renamed.captured_queries)

    with CaptureQueriesContext(connection) as longer:
        project.sustainability_months = 48
        project.save()
    assert any(LapseFlag._meta.db_table in q["sql"] for q in longer.captured_queries)


@pytest.mark.django_db
def test_a_rescan_of_one_project_costs_a_few_queries_whatever_the_portfolio(rescans_on_save, today):
    with rescans_paused():
        others = [ProjectFactory(launched=True) for _ in range(20)]
        for project in others:
            maintenance(project, date(2026, 1, 31))
    project = ProjectFactory(launched=True)

    with CaptureQueriesContext(connection) as save:
        maintenance(project, date(2027, 12, 31))

    assert len(save.captured_queries) <= 20, [q["sql"] for q in save.captured_queries]
    assert LapseFlag.objects.open().filter(project__in=others).count() == 0, "not scanned"


@pytest.mark.django_db
def test_a_batch_rescans_every_touched_project_once_at_its_end(rescans_on_save, today, monkeypatch):
    with rescans_paused():
        first, second = ProjectFactory(launched=True), ProjectFactory(launched=True)
    scans = []
    real = scan.scan_lapses
    monkeypatch.setattr(scan, "scan_lapses", lambda **kw: scans.append(kw) or real(**kw))

    with rescans_batched():
        for project in (first, second, first):
            maintenance(project, date(2027, 12, 31))
        assert scans == [], "nothing is scanned row by row"

    assert scans == [{"projects": sorted([first.pk, second.pk])}]
    assert open_kinds(first) == open_kinds(second) == set()


@pytest.mark.django_db
def test_paused_rescans_leave_the_scan_to_the_end_of_a_bulk_load(rescans_on_save, today):
    with rescans_paused():
        project = ProjectFactory(status=Project.Status.LAUNCHED, launch_date=LAUNCH)
        with rescans_batched():
            maintenance(project, date(2026, 1, 31))
    assert not LapseFlag.objects.exists()
    scan.scan_lapses()
    assert open_kinds(project) == {"lapsed"}


@pytest.mark.django_db(transaction=True)
def test_flags_are_current_with_the_broker_down(rescans_on_save, today, broker_down, caplog):
    project = ProjectFactory(status=Project.Status.LAUNCHED, launch_date=LAUNCH)
    maintenance(project, date(2026, 1, 31))

    assert open_kinds(project) == {"lapsed"}
    assert "Could not queue" not in caplog.text


@pytest.mark.django_db(transaction=True)
def test_two_saves_on_one_project_at_once_leave_the_flags_both_call_for(
    postgres, rescans_on_save, today
):
    project = ProjectFactory(status=Project.Status.LAUNCHED, launch_date=LAUNCH)
    maintenance(project, date(2026, 1, 31))
    assert open_kinds(project) == {"lapsed"}
    first_saved, release = threading.Event(), threading.Event()
    errors = []

    def save(covers_from, covers_until, hold=False):
        try:
            with transaction.atomic():
                TrancheFactory(
                    project=project,
                    purpose=Tranche.Purpose.MAINTENANCE,
                    covers_from=covers_from,
                    covers_until=covers_until,
                )
                if hold:
                    first_saved.set()
                    assert release.wait(60)
        except Exception as error:  # reported below, in the test's own thread
            errors.append(error)
        finally:
            connection.close()

    def waiting_for_a_project_lock():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            )
            return cursor.fetchone()[0] == 1

    # Alone, the first would leave the project at risk and the second lapsed; together they
    # cover the whole window.
    first = threading.Thread(target=save, args=(date(2026, 2, 1), date(2026, 4, 30), True))
    second = threading.Thread(target=save, args=(date(2026, 5, 1), date(2027, 12, 31)))
    first.start()
    assert first_saved.wait(60)
    second.start()
    deadline = time.monotonic() + 60
    while not waiting_for_a_project_lock():  # the second save's rescan waits for the first
        assert time.monotonic() < deadline, "the second rescan never waited"
        time.sleep(0.05)
    release.set()
    first.join(60)
    second.join(60)

    assert errors == []
    assert open_kinds(project) == set()
    assert scan.scan_lapses(dry_run=True).flags == []


def test_the_daily_scan_retries_a_locked_database_with_backoff(monkeypatch):
    attempts = []

    def locked(as_of=None):
        attempts.append(as_of)
        if len(attempts) < 3:
            raise OperationalError("database is locked")
        return scan.ScanResult(as_of=TODAY)

    monkeypatch.setattr(scan, "scan_lapses", locked)

    result = scan_lapses_task.apply(args=["2026-03-01"])

    # Eagerly the retries run at once; a worker spaces them out with growing delays.
    assert result.state == "SUCCESS" and len(attempts) == 3
    assert scan_lapses_task.retry_backoff and scan_lapses_task.max_retries >= 5


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_beat_task_runs_through_a_real_worker_on_redis(redis_url):
    app.control.purge()  # tasks other tests queued
    project = ProjectFactory(status=Project.Status.LAUNCHED, launch_date=LAUNCH)

    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        result = scan_lapses_task.delay("2026-03-01").get(timeout=60)

    assert result["open"] == 2
    assert open_kinds(project) == {"lapsed", "no_maintenance"}


def test_beat_schedules_the_daily_scan():
    entry = app.conf.beat_schedule["scan-lapses-daily"]
    assert entry["task"] == scan_lapses_task.name
    assert entry["schedule"].hour == {5}


@pytest.mark.django_db
def test_command_prints_the_flags_as_a_table():
    ProjectFactory(code="KE-ID-01", status=Project.Status.LAUNCHED, launch_date=LAUNCH)
    out = StringIO()

    call_command("scan_lapses", "--as-of", "2026-03-01", stdout=out)

    lines = out.getvalue().splitlines()
    assert lines[0].split() == [
        "project",
        "flag",
        "gap",
        "start",
        "gap",
        "end",
        "days",
        "to",
        "lapse",
        "raised",
    ]
    assert any(
        line.startswith("KE-ID-01") and "lapsed" in line and "-424" in line for line in lines
    )
    assert "raised 2" in lines[-1]


@pytest.mark.django_db
def test_command_dry_run_saves_nothing_and_project_filter_limits_the_scan():
    ProjectFactory(code="A", status=Project.Status.LAUNCHED, launch_date=LAUNCH)
    ProjectFactory(code="B", status=Project.Status.LAUNCHED, launch_date=LAUNCH)
    out = StringIO()

    call_command("scan_lapses", "--as-of", "2026-03-01", "--project", "A", "--dry-run", stdout=out)

    assert "Dry run" in out.getvalue() and "raised 2" in out.getvalue()
    assert not LapseFlag.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--as-of", "2026-13-01"], "YYYY-MM-DD"),
        (["--project", "NOPE"], "Unknown project code: NOPE"),
    ],
)
def test_command_refuses_bad_input_with_a_clear_message(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("scan_lapses", *args, stdout=StringIO())


def test_digest_is_retried_when_smtp_fails(monkeypatch):
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise smtplib.SMTPServerDisconnected("mail server went away")

    monkeypatch.setattr("funding.tasks.send_mail", refuse)
    line = {
        "project": "KE-ID-01",
        "title": "Digital ID",
        "event": "new",
        "kind": "lapsed",
        "kind_label": "Lapsed",
        "gap_start": "2026-02-01",
        "gap_end": None,
        "days_to_lapse": -28,
        "when": "began 28 days ago",
        "url": "/projects/1/",
    }

    result = send_lapse_digest.apply(args=["officer@bank.example", "2026-03-01", [line]])

    # Eagerly, the retries run at once; a worker would space them out with backoff.
    assert len(attempts) == send_lapse_digest.max_retries + 1
    assert result.state == "FAILURE"


def test_digest_lists_each_project_with_its_gap_and_link(mailoutbox, settings):
    settings.SITE_URL = "https://tracker.example.org"
    line = {
        "project": "KE-ID-01",
        "title": "Digital ID",
        "event": "escalated",
        "kind": "lapsed",
        "kind_label": "Lapsed",
        "gap_start": "2026-02-01",
        "gap_end": "2027-12-31",
        "days_to_lapse": -28,
        "when": "began 28 days ago",
        "url": "/projects/1/",
    }

    send_lapse_digest.apply(args=["officer@bank.example", "2026-03-01", [line]]).get()

    (message,) = mailoutbox
    assert message.subject == "Maintenance funding: 1 update as of 2026-03-01"
    assert "KE-ID-01 – Digital ID" in message.body
    assert "Gap: 2026-02-01 to 2027-12-31 (began 28 days ago)" in message.body
    assert "https://tracker.example.org/projects/1/" in message.body


def test_a_web_process_can_queue_the_digest_its_rescan_writes(tmp_path):
    """A web process never starts a worker, so Celery has not imported the task modules there;
    the outbox still finds the digest task by name."""
    code = (
        "import django; django.setup()\n"
        "from portfolio import outbox\n"
        "print(outbox._task('funding.tasks.send_lapse_digest').name)\n"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SECRET_KEY": "x",
        "CELERY_BROKER_DIR": str(tmp_path),
    }
    env.pop("DATABASE_URL", None)
    found = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code],
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert found.returncode == 0, found.stderr
    assert found.stdout.split()[-1] == "funding.tasks.send_lapse_digest"

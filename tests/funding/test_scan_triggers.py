"""What starts a scan: changes to a project's money or dates, beat through a real worker, the command."""

import smtplib
from datetime import date
from io import StringIO

import pytest
import time_machine
from celery.contrib.testing.worker import start_worker
from django.core.management import CommandError, call_command

from config.celery import app
from funding import scan
from funding.models import LapseFlag, Tranche
from funding.tasks import scan_lapses_task, send_lapse_digest
from projects.models import Project
from tests.factories import ProjectFactory, TrancheFactory

LAUNCH = date(2025, 1, 1)


@pytest.fixture
def eager_tasks():
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def open_kinds(project):
    return set(LapseFlag.objects.open().filter(project=project).values_list("kind", flat=True))


@pytest.mark.django_db
@time_machine.travel(date(2026, 3, 1))
def test_adding_a_maintenance_tranche_rescans_the_project_on_commit(
    eager_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        project = ProjectFactory(status=Project.Status.LAUNCHED, launch_date=LAUNCH)
    assert open_kinds(project) == {"lapsed", "no_maintenance"}

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        TrancheFactory(
            project=project,
            purpose=Tranche.Purpose.MAINTENANCE,
            covers_from=LAUNCH,
            covers_until=date(2027, 12, 31),
        )

    assert len(callbacks) == 1
    assert open_kinds(project) == set()


@pytest.mark.django_db
def test_editing_a_project_title_does_not_queue_a_rescan(django_capture_on_commit_callbacks):
    project = ProjectFactory()
    project = Project.objects.get(pk=project.pk)
    with django_capture_on_commit_callbacks() as callbacks:
        project.title = "Renamed"
        project.save()
    assert callbacks == []
    with django_capture_on_commit_callbacks() as callbacks:
        project.sustainability_months = 48
        project.save()
    assert len(callbacks) == 1


@pytest.mark.django_db(transaction=True)
def test_save_succeeds_with_the_broker_down_and_the_nightly_scan_catches_up(broker_down, caplog):
    project = ProjectFactory(status=Project.Status.LAUNCHED, launch_date=LAUNCH)
    TrancheFactory(
        project=project,
        purpose=Tranche.Purpose.MAINTENANCE,
        covers_from=LAUNCH,
        covers_until=date(2026, 1, 31),
    )

    assert Tranche.objects.filter(project=project).count() == 1
    assert "Could not queue funding.tasks.rescan_project_task" in caplog.text
    assert not LapseFlag.objects.exists()

    scan.scan_lapses(date(2026, 3, 1))
    assert open_kinds(project) == {"lapsed"}


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_beat_task_runs_through_a_real_worker_on_redis(redis_url):
    app.control.purge()  # tasks other tests queued
    project = ProjectFactory(
        status=Project.Status.LAUNCHED, launch_date=LAUNCH
    )  # queues its own rescan

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

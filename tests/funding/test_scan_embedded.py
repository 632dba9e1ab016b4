"""The embedded default under load: web server, Celery worker and beat on one SQLite file and
the filesystem broker, three multi-project uploads at once while the worker runs daily scans.
Nothing fails with "database is locked", and the flags equal a dry-run scan."""

import json
import threading
from datetime import timedelta
from io import BytesIO

import pytest
from django.utils import timezone
from openpyxl import Workbook

from devtools.management.commands.seed_demo import DEMO_PASSWORD, PORTFOLIO_NAME
from funding.tranche_import import IMPORT_COLUMNS, SHEET
from tests.system.topology import Api, Stack, wait_until

pytestmark = pytest.mark.slow

LAUNCHED = ["KE-ID-01", "RW-EHR-01", "GH-PAY-01", "SN-CRVS-01", "BD-SCH-01", "NP-LAND-01"]
FUNDERS = ["Regional Development Bank", "Nordic Cooperation Agency", "Open Futures Foundation"]
UPLOADS = 3
ROWS_PER_UPLOAD = 24
DAILY_SCANS = 4

FLAGS = """
import json
from funding import scan
from funding.models import LapseFlag
from projects.models import Project
codes = dict(Project.objects.values_list("pk", "code"))
print(json.dumps({
    "open": sorted(
        [codes[p], kind] for p, kind in LapseFlag.objects.open().values_list("project_id", "kind")
    ),
    "dry_run": sorted([codes[f.project_id], f.kind] for f in scan.scan_lapses(dry_run=True).flags),
}))
"""


def workbook(upload):
    """Maintenance tranches for every launched demo project, some secured and some planned,
    covering stretches around today, so the uploads raise and resolve flags on many projects."""
    today = timezone.localdate()
    book = Workbook()
    sheet = book.active
    sheet.title = SHEET
    headers = [column.header for column in IMPORT_COLUMNS]
    sheet.append(headers)
    for n in range(ROWS_PER_UPLOAD):
        start = today - timedelta(days=30) + timedelta(days=20 * (n // len(LAUNCHED)) + upload)
        values = {
            "Portfolio": PORTFOLIO_NAME,
            "Project": LAUNCHED[n % len(LAUNCHED)],
            "Funder": FUNDERS[(n + upload) % len(FUNDERS)],
            "Reference": f"LOAD-{upload}-{n:03d}",
            "Instrument": "grant",
            "Purpose": "maintenance",
            "Status": "committed" if (n + upload) % 3 else "planned",
            "Amount": 10000 + n,
            "Currency": "USD",
            "Committed on": today - timedelta(days=5) if (n + upload) % 3 else None,
            "Covers from": start,
            "Covers until": start + timedelta(days=45 + 10 * upload),
        }
        sheet.append([values.get(header) for header in headers])
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def test_uploads_worker_and_beat_share_sqlite_without_lock_errors(tmp_path):
    stack = Stack(
        f"sqlite:///{tmp_path / 'portfolio.sqlite3'}",
        "",  # no Redis: the embedded filesystem broker
        tmp_path,
        CELERY_BROKER_DIR=str(tmp_path / "broker"),
    )
    try:
        stack.manage("migrate", "--noinput", timeout=600)
        stack.manage("seed_demo", "--force", timeout=600)
        stack.web(workers=2, threads=4)
        stack.worker("worker")
        stack.beat()
        manager = Api(stack.base_url, "manager", DEMO_PASSWORD)
        files = [workbook(n) for n in range(UPLOADS)]
        answers = [None] * UPLOADS

        def upload(n):
            api = manager.again()
            answers[n] = api.session.post(
                api.url("tranche-imports/"),
                files={"file": (f"load-{n}.xlsx", files[n])},
                timeout=300,
            )

        def daily_scans():
            stack.manage(
                "shell",
                "-c",
                "from funding.tasks import scan_lapses_task\n"
                f"for _ in range({DAILY_SCANS}): scan_lapses_task.delay()",
            )

        threads = [threading.Thread(target=upload, args=(n,)) for n in range(UPLOADS)]
        threads.append(threading.Thread(target=daily_scans))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=600)
        assert not any(thread.is_alive() for thread in threads), "uploads did not finish"

        for n, answer in enumerate(answers):
            assert answer is not None and answer.status_code == 201, (n, answer and answer.text)
            assert answer.json()["created"] == ROWS_PER_UPLOAD
        worker = stack.processes["worker"]
        wait_until(
            lambda: (
                worker.log().count("funding.tasks.scan_lapses_task[") >= 2 * DAILY_SCANS
                and worker.log().count("succeeded in") >= DAILY_SCANS
            ),
            300,
            "the worker to run the daily scans",
        )

        logs = stack.logs() + "".join(p.log() for p in stack.processes.values())
        assert "database is locked" not in logs
        assert "OperationalError" not in logs
        assert "Retry in" not in logs, "no task needed a retry"
        printed = stack.manage("shell", "--no-imports", "-c", FLAGS).stdout
        found = json.loads(printed.strip().splitlines()[-1])
        assert found["open"] == found["dry_run"]
        assert found["open"], "the uploads leave flags to compare"
        through_api = manager.get("lapse-flags/", params={"open": "true", "page_size": 500})
        assert through_api.status_code == 200
        assert len(through_api.json()["results"]) == len(found["open"])
    finally:
        stack.stop()
        print(stack.logs())

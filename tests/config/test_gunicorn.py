"""gunicorn started in the project's folder runs production's settings (gunicorn.conf.py)."""

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings


def resolved(**env):
    """gunicorn's settings as it resolves them for `gunicorn config.wsgi` in the project."""
    done = subprocess.run(  # noqa: S603 - our own gunicorn, fixed arguments
        [str(Path(sys.executable).parent / "gunicorn"), "--print-config", "config.wsgi"],
        cwd=settings.BASE_DIR,
        env={**os.environ, "SECRET_KEY": "test-only-secret", "DEBUG": "0", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return {
        name.strip(): value.strip()
        for name, _, value in (line.partition("=") for line in done.stdout.splitlines())
    }


def test_gunicorn_runs_sync_workers_two_a_core_and_one_more():
    found = resolved()
    assert found["worker_class"] == "sync"
    assert found["threads"] == "1"
    assert found["workers"] == str(2 * len(os.sched_getaffinity(0)) + 1)


def test_web_concurrency_sets_the_number_of_workers():
    assert resolved(WEB_CONCURRENCY="3")["workers"] == "3"

"""A task makes a round trip through a real Celery worker process, on each broker."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# A queue of the test's own: tasks other tests left on the shared broker never get in the way.
QUEUE = f"round-trip-{uuid.uuid4().hex}"
CALL_PING = (
    "import django; django.setup(); from portfolio.tasks import ping; "
    f"print(ping.apply_async(queue='{QUEUE}').get(timeout=30)['pong'])"
)


def round_trip(env):
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo",
         "--without-heartbeat", "--without-gossip", "--without-mingle", "--loglevel=WARNING",
         "--queues", QUEUE],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        return subprocess.run(
            [sys.executable, "-c", CALL_PING],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:  # a warm shutdown held up on a busy machine
            worker.kill()
            worker.wait()


def worker_env(**overrides):
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="config.settings", SECRET_KEY="test-only")
    env.pop("REDIS_URL", None)
    env.update(overrides)
    return env


@pytest.mark.slow
def test_task_round_trip_through_embedded_filesystem_broker(tmp_path):
    result = round_trip(worker_env(CELERY_BROKER_DIR=str(tmp_path)))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


@pytest.mark.slow
@pytest.mark.redis
def test_task_round_trip_through_redis(redis_url):
    result = round_trip(worker_env(REDIS_URL=redis_url))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"

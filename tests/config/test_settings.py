"""Settings build from the environment for the embedded and the production configuration."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'engine': s.DATABASES['default']['ENGINE'], "
    "'db': str(s.DATABASES['default']['NAME']), 'broker': s.CELERY_BROKER_URL, "
    "'email': s.EMAIL_BACKEND, 'debug': s.DEBUG, 'tz': s.TIME_ZONE, 'hosts': s.ALLOWED_HOSTS}))"
)


def build_settings(tmp_path, **overrides):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DEBUG"}}
    env |= {"DJANGO_SETTINGS_MODULE": "config.settings", "CELERY_BROKER_DIR": str(tmp_path)}
    env.pop("SECRET_KEY", None)
    code = overrides.pop("PROBE_CODE", PROBE)
    env.update(overrides)
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_embedded_defaults_use_sqlite_filesystem_broker_and_console_email(tmp_path):
    result = build_settings(tmp_path, DEBUG="1")
    assert result.returncode == 0, result.stderr
    built = json.loads(result.stdout)
    assert built["engine"] == "django.db.backends.sqlite3"
    assert built["db"].endswith("var/portfolio.sqlite3")
    assert built["broker"] == "filesystem://"
    assert built["email"] == "django.core.mail.backends.console.EmailBackend"
    assert built["tz"] == "UTC"


def test_production_configuration_uses_postgres_redis_and_smtp(tmp_path):
    result = build_settings(
        tmp_path,
        SECRET_KEY="s3cret",
        DATABASE_URL="postgres://app@db.internal:5432/portfolio",
        REDIS_URL="redis://cache.internal:6379/1",
        EMAIL_URL="smtp://mailer:pw@mail.internal:587/?tls=True",
        ALLOWED_HOSTS="tracker.example.org",
    )
    assert result.returncode == 0, result.stderr
    built = json.loads(result.stdout)
    assert built["engine"] == "django.db.backends.postgresql"
    assert built["db"] == "portfolio"
    assert built["broker"] == "redis://cache.internal:6379/1"
    assert built["email"] == "django.core.mail.backends.smtp.EmailBackend"
    assert built["debug"] is False
    assert built["hosts"] == ["tracker.example.org"]


def test_server_refuses_to_start_without_secret_key_when_debug_is_off(tmp_path):
    result = build_settings(tmp_path, PROBE_CODE="import config.wsgi")

    assert result.returncode != 0
    assert "The SECRET_KEY setting must not be empty" in result.stderr


def test_commands_that_sign_nothing_run_without_secret_key(tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"SECRET_KEY", "DEBUG", "DATABASE_URL", "REDIS_URL"}
    }
    env["CELERY_BROKER_DIR"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert "No changes detected" in result.stdout

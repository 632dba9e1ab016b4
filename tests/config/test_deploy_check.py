"""`manage.py check --deploy` with production settings reports nothing, and HTTPS is enforced."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from config import settings as configured

ROOT = Path(__file__).resolve().parents[2]


def deploy_check(**overrides):
    """Run the check as production would start: DEBUG off, everything from the environment."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SECURE_", "DEBUG", "DATABASE_URL", "REDIS_URL", "SECRET_KEY"))
    }
    env |= {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "tracker.example.org",
        "CSRF_TRUSTED_ORIGINS": "https://tracker.example.org",
        "SITE_URL": "https://tracker.example.org",
        "DATABASE_URL": "postgres://app:pw@db.internal:5432/portfolio",
        "REDIS_URL": "redis://cache.internal:6379/0",
        "EMAIL_URL": "smtp+tls://mailer:pw@mail.internal:587",
    }
    env.update(overrides)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "DEBUG"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_deploy_check_with_production_settings_reports_nothing():
    result = deploy_check()

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


@pytest.mark.parametrize(
    ("override", "warning"),
    [
        ({"SECURE_SSL_REDIRECT": "0"}, "security.W008"),
        ({"SECURE_HSTS_SECONDS": "0"}, "security.W004"),
        ({"SECURE_COOKIES": "0"}, "security.W012"),
        ({"SECRET_KEY": "short"}, "security.W009"),
    ],
)
def test_deploy_check_notices_a_weakened_setting(override, warning):
    # The check is real: turning one protection off is reported.
    result = deploy_check(**override)

    assert result.returncode != 0
    assert warning in result.stdout + result.stderr


@pytest.fixture
def https_enforced(settings):
    """HTTPS as the settings module enforces it with DEBUG off. Read from the module, not from
    django.conf.settings: the browser tests turn HSTS off for the whole session on their
    worker (their live server speaks plain HTTP), and a test after them saw no HSTS header."""
    settings.SECURE_SSL_REDIRECT = True
    for name in (
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_HSTS_PRELOAD",
        "SECURE_PROXY_SSL_HEADER",
    ):
        setattr(settings, name, getattr(configured, name))


@pytest.mark.django_db
def test_plain_http_is_redirected_to_https(client, https_enforced):
    response = client.get("/accounts/login/")

    assert response.status_code == 301
    assert response["Location"] == "https://testserver/accounts/login/"


@pytest.mark.django_db
def test_requests_the_proxy_received_over_https_are_served(client, https_enforced):
    response = client.get("/accounts/login/", headers={"x-forwarded-proto": "https"})

    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"


@pytest.mark.django_db
def test_health_check_answers_load_balancers_on_plain_http(client, https_enforced):
    assert client.get("/healthz").status_code in (200, 503)

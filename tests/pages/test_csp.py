"""A Content-Security-Policy on every response: scripts and styles from this site's static
files only. No template carries an inline <script> or a style="" attribute, so every page
works under it; only the API's Swagger UI has its styles relaxed."""

import re
from pathlib import Path

import pytest
from django.conf import settings

from tests.pages.test_access import PAGES, url

pytestmark = pytest.mark.django_db

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"\sstyle\s*=", re.IGNORECASE)
EVENT_ATTRIBUTE = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)


def directives(response) -> dict:
    policy = response["Content-Security-Policy"]
    return {
        part.split()[0]: part.split()[1:] for part in (p.strip() for p in policy.split(";")) if part
    }


def assert_strict(response):
    found = directives(response)
    assert found["default-src"] == ["'self'"]
    assert found["script-src"] == ["'self'"]
    assert found["style-src"] == ["'self'"]
    assert found["object-src"] == ["'none'"]


def assert_nothing_inline(html):
    # A JSON data block is not run, so the policy allows it.
    scripts = [s for s in INLINE_SCRIPT.findall(html) if "application/json" not in s]
    assert scripts == []
    assert STYLE_ATTRIBUTE.findall(html) == []
    assert EVENT_ATTRIBUTE.findall(html) == []


@pytest.mark.parametrize("page", PAGES)
def test_every_page_has_the_strict_policy_and_nothing_inline(client, world, page):
    client.force_login(world.users["manager"])

    response = client.get(url(world, page))

    assert response.status_code == 200
    assert_strict(response)
    assert_nothing_inline(response.content.decode())


@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/", "/api/v1/"])
def test_logins_admin_and_api_have_the_strict_policy(client, path):
    response = client.get(path)

    assert_strict(response)
    assert_nothing_inline(response.content.decode())


def test_the_admin_works_under_the_policy(admin_client):
    response = admin_client.get("/admin/funding/tranche/add/")

    assert response.status_code == 200
    assert_strict(response)
    assert_nothing_inline(response.content.decode())


def test_the_swagger_ui_runs_its_script_from_a_file_and_relaxes_only_styles(client):
    response = client.get("/api/docs/")

    found = directives(response)
    assert found["script-src"] == ["'self'"]
    assert found["style-src"] == ["'self'", "'unsafe-inline'"]
    assert found["img-src"] == ["'self'", "data:"]
    assert INLINE_SCRIPT.findall(response.content.decode()) == []


def test_no_template_has_an_inline_script_or_style_attribute():
    templates = [
        path
        for app in ("portfolio", "projects", "funding", "evaluations", "reporting")
        for path in (Path(settings.BASE_DIR) / app / "templates").rglob("*.html")
    ]
    assert templates
    for template in templates:
        text = template.read_text()
        assert not INLINE_SCRIPT.findall(text), template
        assert not STYLE_ATTRIBUTE.findall(text), template
        assert "<style" not in text, template

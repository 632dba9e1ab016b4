"""Real headless Chromium (Debian's package, never a downloaded browser) against a live server
loaded with the demo portfolio. Skips without chromium, unless REQUIRE_SERVICES says the
tests need it (CI), where it fails instead."""

import os
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.db import transaction

from tests.conftest import load_demo

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
PASSWORD = "demo-password"


@pytest.fixture(scope="module")
def async_unsafe_allowed():
    """Playwright's sync API keeps an event loop in this thread while the browser is open; the
    tests' own database calls (seeding, assertions) are ordinary synchronous code all the same.
    Only while a module of these tests runs, so no other test (or subprocess) inherits it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(scope="module")
def browser(async_unsafe_allowed):
    if not os.path.exists(CHROMIUM):
        message = "chromium is not installed (apt-get install chromium)"
        if settings.REQUIRE_SERVICES:
            pytest.fail(f"{message}, and REQUIRE_SERVICES=1 says the tests need it")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def plain_http():
    """The live server speaks plain HTTP on loopback: no redirect to HTTPS, no HSTS, cookies
    sent without TLS. Session-wide, since the server's middleware reads them when it starts."""
    names = {
        "SECURE_SSL_REDIRECT": False,
        "SECURE_HSTS_SECONDS": 0,
        "SESSION_COOKIE_SECURE": False,
        "CSRF_COOKIE_SECURE": False,
    }
    saved = {name: getattr(settings, name, None) for name in names}
    for name, value in names.items():
        setattr(settings, name, value)
    yield
    for name, value in saved.items():
        setattr(settings, name, value)


@pytest.fixture
def demo(transactional_db, settings):
    """The demo portfolio, dated relative to today, with one user per role: committed, so the
    live server's thread reads it, and emptied after each test with the rest of the database
    (`transactional_db`), so no test sees what another did in the browser. Seeded once in
    this process, then copied (tests/conftest.py: `load_demo`): a second instead of ten."""
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    with transaction.atomic():
        load_demo()


@pytest.fixture
def page(plain_http, browser, live_server, demo):
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 900}, locale="en-GB"
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


def log_in(page, username):
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("main").get_by_role("button", name="Log in").click()
    page.wait_for_url("**/")


def shot(page, name):
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def axe_violations(page):
    """Serious and critical axe-core violations on the current page."""
    # Evaluated, not added as a <script>: the Content-Security-Policy refuses inline scripts.
    page.evaluate(AXE.read_text())
    results = page.evaluate("async () => await axe.run(document)")
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": len(v["nodes"])}
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]

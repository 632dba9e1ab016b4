"""Under the Content-Security-Policy the pages still work, at 390 px and at 1366 px: the
browser reports no refused script or style, and the bars are sized by the static script."""

import pytest

from funding.models import Tranche
from projects.models import Project

from .conftest import PASSWORD, shot

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", [390, 1366])
def test_pages_work_under_the_policy(plain_http, browser, live_server, demo, width):
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": width, "height": 900}, locale="en-GB"
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    refused = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    try:
        page.goto("/accounts/login/")
        page.get_by_label("Username").fill("manager")
        page.get_by_label("Password").fill(PASSWORD)
        page.locator("main").get_by_role("button", name="Log in").click()
        page.wait_for_url("**/")
        assert "default-src 'self'" in page.request.get("/").headers["content-security-policy"]

        # The dashboard's money bars and the coverage chart are sized from data attributes.
        committed = page.locator(".bar.committed").first
        assert committed.evaluate("e => e.style.width").endswith("%")
        assert committed.evaluate("e => e.getBoundingClientRect().width") > 0
        assert (
            page.locator(".stack-chart .seg[data-height]")
            .first.evaluate("e => e.style.height")
            .endswith("px")
        )
        shot(page, f"csp-dashboard-{width}")

        project = Project.objects.get(code="KE-ID-01")
        tranche = Tranche.objects.filter(project=project, status="committed").first()
        for url in (
            "/projects/",
            project.get_absolute_url(),
            f"/tranches/{tranche.pk}/disburse/",
            "/rates/",
            "/exports/",
            "/tranches/upload/",
            "/admin/",
            "/api/docs/",
        ):
            page.goto(url)
            page.wait_for_load_state("networkidle")
        page.goto(project.get_absolute_url())
        shot(page, f"csp-project-{width}")
    finally:
        context.close()

    assert refused == []

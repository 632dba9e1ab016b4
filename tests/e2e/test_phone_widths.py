"""At 390 px (a phone) no page scrolls sideways, for any role: wide tables scroll inside their
own box, forms stack, the menu wraps. Screenshots go to var/screenshots/phone-*.png."""

import pytest

from funding.models import Tranche
from projects.models import Project

from .conftest import PASSWORD, SCREENSHOTS

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
ROLES = ["manager", "officer", "evaluator", "finance", "implementer"]


def main_pages():
    project = Project.objects.get(code="KE-ID-01")
    tranche = Tranche.objects.filter(project=project, status="committed").first()
    loan = Tranche.objects.filter(instrument="loan", status="committed").first()
    return {
        "dashboard": "/",
        "projects": "/projects/",
        "project": project.get_absolute_url(),
        "tranche-form": f"/projects/{project.pk}/tranches/new/",
        "disbursement-form": f"/tranches/{tranche.pk}/disburse/",
        "measurement-form": f"/projects/{project.pk}/measurements/new/",
        "review-queue": "/measurements/review/",
        "evaluation-form": f"/projects/{project.pk}/evaluations/new/",
        "rates": "/rates/",
        "export": "/exports/",
        "upload": "/tranches/upload/",
        "measurement-upload": "/measurements/upload/",
        "loan": f"/tranches/{loan.pk}/loan/",
        "my-results": "/measurements/mine/",
        "standard-indicators": "/standard-indicators/",
    }


def document_width(page):
    return page.evaluate("document.documentElement.scrollWidth")


@pytest.mark.parametrize("username", ROLES)
def test_no_main_page_scrolls_sideways_on_a_phone(plain_http, browser, live_server, demo, username):
    context = browser.new_context(base_url=live_server.url, viewport=PHONE, locale="en-GB")
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto("/accounts/login/")
    too_wide = {"login": document_width(page)} if document_width(page) > PHONE["width"] else {}
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("main").get_by_role("button", name="Log in").click()
    page.wait_for_url("**/")
    opened = []
    for name, url in main_pages().items():
        response = page.goto(url)
        if response.status in (403, 404):
            continue  # a page this role may not open
        assert response.status == 200, (name, response.status)
        opened.append(name)
        page.screenshot(path=str(SCREENSHOTS / f"phone-{username}-{name}.png"), full_page=True)
        if document_width(page) > PHONE["width"]:
            too_wide[name] = document_width(page)
    context.close()
    assert {"dashboard", "projects", "project", "rates"} <= set(opened)
    assert too_wide == {}

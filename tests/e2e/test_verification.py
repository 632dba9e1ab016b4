"""Results you can pay on, in a real browser: an implementer reports with evidence, an
independent verifier returns it, the implementer resubmits, the verifier verifies, and the
results-based tranche's earned amount moves."""

import re

import pytest
from playwright.sync_api import expect

from evaluations.models import Measurement, MeasurementStatus, PayoutTerms

from .conftest import PASSWORD, shot

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PDF = b"%PDF-1.7\n1 0 obj << >> endobj\n%%EOF\n"


def signed_in(browser, live_server, username):
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 900}, locale="en-GB"
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("main").get_by_role("button", name="Log in").click()
    page.wait_for_url("**/")
    return page


def test_implementer_reports_verifier_returns_then_verifies_and_the_tranche_earns(
    plain_http, browser, live_server, demo, tmp_path, settings
):
    settings.PRIVATE_FILES_ROOT = tmp_path
    terms = PayoutTerms.objects.select_related("tranche__project", "target__indicator").get(
        tranche__funder_reference="RDB-2601"
    )
    project, indicator = terms.tranche.project, terms.target.indicator
    earned_before = terms.eligible_amount

    implementer = signed_in(browser, live_server, "implementer")
    implementer.goto(project.get_absolute_url())
    implementer.get_by_role("link", name="Record a measurement").first.click()
    implementer.get_by_label("Indicator").select_option(str(indicator.pk))
    implementer.get_by_label("Period from").fill("2026-04-01")
    implementer.get_by_label("Period until").fill("2026-06-30")
    implementer.get_by_label("Source / means of verification").fill("Registry extract, Q2 2026")
    if indicator.is_percentage:
        implementer.get_by_label("Numerator").fill("300")
        implementer.get_by_label("Denominator").fill("1000")
    else:
        implementer.get_by_label("Value").fill("1000")
    implementer.get_by_role("button", name="Submit for review").click()
    expect(implementer.get_by_text("Measurement submitted")).to_be_visible()
    evidence = tmp_path / "extract.pdf"
    evidence.write_bytes(PDF)
    implementer.get_by_label("Evidence file").set_input_files(str(evidence))
    implementer.get_by_role("button", name="Attach file").click()
    expect(implementer.get_by_text("Evidence attached.")).to_be_visible()
    expect(implementer.get_by_role("link", name="extract.pdf")).to_be_visible()
    shot(implementer, "implementer-1-reported")
    measurement = Measurement.objects.get(source="Registry extract, Q2 2026")
    assert measurement.reported_by.username == "implementer"
    # Nobody verifies their own numbers: the implementer is offered no decision.
    expect(implementer.get_by_role("button", name="Save decision")).to_have_count(0)

    verifier = signed_in(browser, live_server, "evaluator")
    verifier.get_by_role("link", name="Results to review").click()
    verifier.locator(f'a[href="/measurements/{measurement.pk}/review/"]').click()
    expect(verifier.get_by_role("link", name="extract.pdf")).to_be_visible()
    verifier.get_by_label("Return for revision").check()
    verifier.get_by_label("Comment or reason").fill("Please give the whole quarter's figure.")
    verifier.get_by_role("button", name="Save decision").click()
    expect(verifier.get_by_text("Measurement returned for revision.")).to_be_visible()

    implementer.get_by_role("link", name="My results").click()
    expect(implementer.get_by_text("Please give the whole quarter's figure.")).to_be_visible()
    shot(implementer, "implementer-2-returned")
    implementer.get_by_role("link", name=re.compile(r"^Open ")).first.click()
    implementer.get_by_role("link", name="Revise").click()
    if indicator.is_percentage:
        implementer.get_by_label("Numerator").fill("700")
    else:
        implementer.get_by_label("Value").fill("90000")
    implementer.get_by_role("button", name="Submit for review").click()
    expect(implementer.get_by_text("Measurement saved.")).to_be_visible()
    assert Measurement.objects.get(pk=measurement.pk).status == MeasurementStatus.SUBMITTED

    verifier.goto(f"/measurements/{measurement.pk}/review/")
    verifier.get_by_label("Verify: the source supports the value").check()
    verifier.get_by_role("button", name="Save decision").click()
    expect(verifier.get_by_text("Measurement verified.")).to_be_visible()

    terms.refresh_from_db()
    assert terms.eligible_amount > earned_before
    verifier.goto(project.get_absolute_url())
    expect(verifier.locator('[data-earned="RDB-2601"]')).to_contain_text(
        f"{terms.eligible_amount:,.2f}"
    )
    shot(verifier, "verifier-1-earned")

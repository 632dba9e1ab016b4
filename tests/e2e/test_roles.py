"""Each role logs in and does its main task in a real browser; screenshots go to var/screenshots/."""

import re

import pytest
from playwright.sync_api import expect

from evaluations.models import Measurement, MeasurementStatus
from funding.models import Disbursement, LapseFlag, Tranche
from portfolio.models import ExchangeRate
from projects.models import Project

from .conftest import log_in, shot

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_donor_officer_acknowledges_a_flag_logs_a_tranche_and_disburses(page):
    log_in(page, "officer")
    expect(page.get_by_role("heading", name="Portfolio dashboard")).to_be_visible()
    shot(page, "officer-1-dashboard")

    # Acknowledge the at-risk flag of a project the officer's bank funds.
    page.get_by_role("link", name=re.compile("Acknowledge At risk GH-PAY-01")).click()
    page.get_by_label("Note").fill("Renewal with the foundation under discussion.")
    page.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_text("Flag acknowledged.")).to_be_visible()
    flag = LapseFlag.objects.open().get(project__code="GH-PAY-01", kind="at_risk")
    assert flag.acknowledged_by.username == "officer"

    # Log a maintenance tranche: first without its cover period, which is refused in words
    # next to the field with everything typed still there; then complete.
    page.goto(Project.objects.get(code="GH-PAY-01").get_absolute_url())
    page.get_by_role("link", name="Log a tranche").click()
    page.get_by_label("Funder's reference").fill("RDB-E2E-1")
    page.get_by_label("Instrument").select_option("grant")
    page.get_by_label("Purpose").select_option("maintenance")
    page.get_by_label("Status").select_option("committed")
    page.get_by_label("Currency").select_option("USD")
    page.get_by_label("Amount").fill("180000.00")
    page.get_by_label("Signed on").fill("2026-01-15")
    page.get_by_role("button", name="Save tranche").click()
    expect(page.get_by_text("A maintenance tranche needs the first day of service")).to_be_visible()
    expect(page.get_by_label("Funder's reference")).to_have_value("RDB-E2E-1")
    shot(page, "officer-2-tranche-error")
    assert not Tranche.objects.filter(funder_reference="RDB-E2E-1").exists()
    page.get_by_label("Pays for service from").fill("2026-06-01")
    page.get_by_label("Pays for service until").fill("2027-05-31")
    page.get_by_role("button", name="Save tranche").click()
    expect(page.get_by_text("Tranche saved.")).to_be_visible()
    tranche = Tranche.objects.get(funder_reference="RDB-E2E-1")

    # Record a disbursement on it.
    page.get_by_role("link", name="Record disbursement RDB-E2E-1").click()
    page.get_by_label("Disbursed on").fill("2026-01-20")
    page.get_by_label("Amount").fill("90000")
    page.get_by_label("Payment reference").fill("RDB-E2E-1/1")
    page.get_by_role("button", name="Record disbursement").click()
    expect(page.get_by_text("Disbursement recorded.")).to_be_visible()
    assert Disbursement.objects.get(tranche=tranche).recorded_by.username == "officer"
    shot(page, "officer-3-project")

    # Money has been paid in dollars: the tranche's currency stays, said next to the field.
    page.get_by_role("link", name="Edit RDB-E2E-1").click()
    page.get_by_label("Currency").select_option("EUR")
    page.get_by_role("button", name="Save tranche").click()
    expect(
        page.get_by_text("A tranche with disbursements keeps its currency (USD)")
    ).to_be_visible()
    shot(page, "officer-4-currency-kept")
    assert Tranche.objects.get(pk=tranche.pk).currency == "USD"


def test_evaluator_records_and_verifies_results(page):
    log_in(page, "evaluator")
    project = Project.objects.get(code="KE-ID-01")
    page.goto(project.get_absolute_url())
    page.get_by_role("link", name="Record a measurement").first.click()
    indicator = project.indicators.order_by("code").first()
    page.get_by_label("Indicator").select_option(str(indicator.pk))
    page.get_by_label("Period from").fill("2024-01-01")
    page.get_by_label("Period until").fill("2024-01-31")
    page.get_by_label("Source / means of verification").fill("Registry extract, January")
    page.get_by_label("Value").fill("12")
    if indicator.is_percentage:
        page.get_by_label("Value").fill("")
        page.get_by_label("Numerator").fill("12")
        page.get_by_label("Denominator").fill("100")
    page.get_by_role("button", name="Submit for review").click()
    expect(page.get_by_text("Measurement submitted")).to_be_visible()
    assert Measurement.objects.filter(source="Registry extract, January").exists()

    # Verify a result that someone else reported.
    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Results to review"
    ).click()
    shot(page, "evaluator-1-review-queue")
    page.get_by_role("link", name=re.compile(r"^Review ")).first.click()
    page.get_by_label("Verify: the source supports the value").check()
    page.get_by_role("button", name="Save decision").click()
    expect(page.get_by_text("Measurement verified.")).to_be_visible()
    assert Measurement.objects.filter(
        status=MeasurementStatus.VERIFIED, verified_by__username="evaluator"
    ).exists()
    page.goto(project.get_absolute_url() + "#indicators")
    shot(page, "evaluator-2-project")


def test_finance_keeps_rates_and_exports_the_workbook(page):
    log_in(page, "finance")
    page.get_by_role("link", name="Exchange rates").click()
    page.get_by_label(re.compile("^Currency")).select_option("CHF")
    page.get_by_label("Into currency").select_option("USD")
    page.get_by_label(re.compile("^Rate")).fill("1.1275")
    page.get_by_label("Valid from").fill("2026-01-01")
    page.get_by_label("Source").fill("Central bank")
    page.get_by_role("button", name="Save rate").click()
    expect(page.get_by_text("Exchange rate saved.")).to_be_visible()
    assert ExchangeRate.objects.filter(currency="CHF", source="Central bank").exists()

    page.get_by_role("link", name="Export").click()
    page.get_by_role("button", name="Export workbook").click()
    expect(page.get_by_label("Progress")).to_have_attribute("value", "100")
    link = page.get_by_role("link", name="Download the workbook")
    expect(link).to_be_visible()
    shot(page, "finance-1-export")
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename.endswith(".xlsx")


def test_manager_reads_the_portfolio_in_french_and_filters_projects(page):
    log_in(page, "manager")
    page.get_by_label("Language").select_option("fr")
    page.get_by_role("button", name="Change language").click()
    expect(page.get_by_role("heading", name="Tableau de bord du portefeuille")).to_be_visible()
    shot(page, "manager-1-dashboard-fr")
    page.get_by_role("link", name="Projets", exact=True).click()
    page.get_by_label("Statut").select_option("launched")
    page.get_by_label("Seulement les projets avec des alertes ouvertes").check()
    page.get_by_role("button", name="Filtrer").click()
    rows = page.locator("main table tbody tr")
    expect(rows.first).to_contain_text("Lancé")
    assert (
        rows.count()
        == Project.objects.filter(status="launched", lapse_flags__resolved_at__isnull=True)
        .distinct()
        .count()
    )
    shot(page, "manager-2-projects-fr")

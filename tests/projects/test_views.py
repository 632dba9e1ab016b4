"""The project page offers "Record disbursement" only where something may still be paid, and
shows the coverage the lapse scan judges."""

from datetime import date
from decimal import Decimal

import pytest
import time_machine

from tests.evaluations.factories import PayoutTermsFactory
from tests.factories import (
    DisbursementFactory,
    FunderFactory,
    LoanTermsFactory,
    MembershipFactory,
    ProjectFactory,
    TrancheFactory,
)

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def bank():
    return FunderFactory(name="Bank")


@pytest.fixture
def officer_page(client, bank):
    client.force_login(MembershipFactory(organisation=bank).user)

    def page(project):
        response = client.get(f"/projects/{project.pk}/")
        assert response.status_code == 200
        return response

    return page


def offered(response):
    return {t.pk for t in response.context["tranches"] if t.can_disburse}


def test_results_based_funding_with_nothing_earned_offers_no_disbursement(bank, officer_page):
    terms = PayoutTermsFactory(tranche__funder=bank)  # no verified result: nothing earned

    response = officer_page(terms.tranche.project)

    assert offered(response) == set()
    assert f"/tranches/{terms.tranche_id}/disburse/" not in response.content.decode()


def test_results_based_funding_with_money_earned_offers_a_disbursement(bank, officer_page):
    terms = PayoutTermsFactory(tranche__funder=bank)
    type(terms).objects.filter(pk=terms.pk).update(eligible_amount=D("25000.00"))

    response = officer_page(terms.tranche.project)

    assert offered(response) == {terms.tranche_id}
    assert f"/tranches/{terms.tranche_id}/disburse/" in response.content.decode()


def test_only_committed_tranches_with_money_left_offer_a_disbursement(bank, officer_page):
    project = ProjectFactory()
    open_grant = TrancheFactory(project=project, funder=bank)
    TrancheFactory(project=project, funder=bank, planned=True)
    paid = TrancheFactory(project=project, funder=bank)
    DisbursementFactory(tranche=paid, amount=paid.amount)
    TrancheFactory(project=project)  # another funder's: this officer may not disburse it

    assert offered(officer_page(project)) == {open_grant.pk}


def test_a_launched_projects_page_shows_its_judged_coverage(bank, officer_page):
    project = ProjectFactory(launched=True)
    TrancheFactory(project=project, funder=bank, maintenance=True)  # secured through 2025

    with time_machine.travel(date(2026, 3, 1), tick=False):
        response = officer_page(project)

    (row,) = response.context["timeline"].rows
    assert row.project_id == project.pk
    assert row.assessment.next_gap.start == date(2026, 1, 1)


def test_a_project_not_launched_has_no_coverage_timeline(officer_page):
    response = officer_page(ProjectFactory())

    assert not response.context["timeline"]
    assert "Coverage is tracked once the service has launched." in response.content.decode()


def test_the_sustainability_plan_shows_each_lines_months_gaps_and_handover(bank, officer_page):
    from funding.models import Allocation, Tranche
    from projects.models import CostLine, Project

    with time_machine.travel(date(2026, 1, 15)):
        project = ProjectFactory(
            status=Project.Status.LAUNCHED,
            launch_date=date(2025, 1, 1),
            sustainability_months=24,
            portfolio__reporting_currency="USD",
        )
        for category, successor in (("hosting", "Ministry of ICT"), ("cybersecurity", "")):
            CostLine.objects.create(
                project=project,
                category=category,
                annual_cost=D("1000.00"),
                currency="USD",
                successor=successor,
            )
        tranche = TrancheFactory(
            project=project,
            funder=bank,
            purpose=Tranche.Purpose.MAINTENANCE,
            covers_from=date(2025, 1, 1),
            covers_until=date(2026, 12, 31),
            amount=D("2000.00"),
            currency="USD",
        )
        Allocation.objects.create(tranche=tranche, category="hosting", share=D("100"))

        response = officer_page(project)

    html = response.content.decode()
    plan = response.context["plan"]
    assert [line.category for line in plan.lines] == ["hosting", "cybersecurity"]
    assert html.count('class="pg-cell funded') == 24  # hosting, every month of the window
    assert html.count('class="pg-cell gap') == 24  # security, never paid
    assert "Ministry of ICT" in html and "nobody yet" in html
    assert "style=" not in html.split('id="plan"')[1].split("</section>")[0]


def test_the_page_shows_what_the_iati_file_tags_the_project_with(officer_page):
    project = ProjectFactory(
        gender_marker=2, disability_marker=0, sdg_goals=[16, 5], admin_regions=["Nakuru", "Kisumu"]
    )

    page = officer_page(project).content.decode()

    assert "Gender equality: principal objective; Disability: not targeted" in page
    assert "Goal 5. Achieve gender equality and empower all women and girls; Goal 16. " in page
    assert "Nakuru, Kisumu" in page


def test_a_project_not_screened_claims_no_marker_goal_or_region(officer_page):
    page = officer_page(ProjectFactory()).content.decode()

    for label in ("Policy markers", "SDG goals", "Regions"):
        assert f"<dt>{label}</dt>" not in page


def test_a_loans_schedule_says_it_is_on_the_whole_amount_and_links_what_is_owed(
    bank, officer_page, client
):
    loan = TrancheFactory(funder=bank, instrument="loan", funder_reference="L-1")
    LoanTermsFactory(tranche=loan)

    page = officer_page(loan.project).content.decode()
    assert "Loan schedule of L-1 on the whole amount" in page
    assert f'href="/tranches/{loan.pk}/loan/">the loan' in page

    client.cookies["django_language"] = "fr"
    page = officer_page(loan.project).content.decode()
    assert "Échéancier de L-1 sur le montant total" in page
    assert f'href="/tranches/{loan.pk}/loan/">la page du prêt' in page

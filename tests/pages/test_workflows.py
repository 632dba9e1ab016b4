"""Workflows that needed the API or the admin, now on the pages through the same services:
undoing a disbursement with a reason; correcting, retiring and filtering exchange rates;
reading an evaluation's findings and following up its recommendations; sorting the project
list, with money per project, and downloading it."""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest

from evaluations.models import Evaluation, Recommendation
from funding import services
from funding.models import Disbursement, LapseFlag
from portfolio.models import ExchangeRate
from tests.factories import ExchangeRateFactory, ProjectFactory, TrancheFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def payment(world):
    return services.disburse(world.launch, Decimal("2500.00"), date(2026, 2, 10), reference="P-1")


def test_an_officer_undoes_a_disbursement_saying_why(world, login, payment):
    client = login(world.users["officer"])
    page = client.get(world.project.get_absolute_url()).content.decode()
    assert f"/disbursements/{payment.pk}/undo/" in page

    response = client.post(
        f"/disbursements/{payment.pk}/undo/", {"reason": "Recorded twice by mistake"}
    )

    assert response.status_code == 302
    assert not Disbursement.objects.filter(pk=payment.pk).exists()
    world.launch.refresh_from_db()
    assert world.launch.disbursed_amount == Decimal("0.00")
    undone = Disbursement.history.filter(id=payment.pk, history_type="-").get()
    assert undone.history_change_reason == "Recorded twice by mistake"
    assert undone.history_user == world.users["officer"]
    history = client.get(world.project.get_absolute_url()).content.decode()
    assert "Recorded twice by mistake" in history


def test_undoing_needs_a_reason_and_keeps_the_payment_without_one(world, login, payment):
    client = login(world.users["officer"])
    response = client.post(f"/disbursements/{payment.pk}/undo/", {"reason": "  "})
    assert response.status_code == 400
    assert response.context["form"].errors["reason"]
    assert Disbursement.objects.filter(pk=payment.pk).exists()


def test_another_funders_officer_may_not_undo(world, login, payment):
    client = login(world.users["other_officer"])
    assert client.get(f"/disbursements/{payment.pk}/undo/").status_code == 403
    page = client.get(world.project.get_absolute_url()).content.decode()
    assert f"/disbursements/{payment.pk}/undo/" not in page
    assert Disbursement.objects.filter(pk=payment.pk).exists()


def test_a_payment_undone_meanwhile_is_not_undone_twice(world, login, payment):
    client = login(world.users["officer"])
    form_page = client.get(f"/disbursements/{payment.pk}/undo/")
    assert form_page.status_code == 200
    services.undo_disbursement(payment, world.users["manager"], "Wrong tranche")
    response = client.post(f"/disbursements/{payment.pk}/undo/", {"reason": "Again"})
    assert response.status_code == 404


# --- exchange rates: correct, retire, filter ---------------------------------------------------


def test_finance_corrects_a_wrong_rate_with_its_history(world, login):
    rate = ExchangeRate.objects.get(currency="EUR")
    client = login(world.users["finance"])
    assert f"/rates/{rate.pk}/" in client.get("/rates/").content.decode()
    data = {
        "currency": "EUR",
        "to_currency": "USD",
        "rate": "1.0850",
        "valid_on": rate.valid_on.isoformat(),
        "source": "ECB, corrected",
    }
    response = client.post(f"/rates/{rate.pk}/", data)
    assert response.status_code == 302
    rate.refresh_from_db()
    assert rate.rate == Decimal("1.085") and rate.source == "ECB, corrected"
    assert rate.history.latest().history_user == world.users["finance"]


def test_finance_retires_a_wrong_rate_saying_why(world, login):
    rate = ExchangeRate.objects.get(currency="EUR")
    client = login(world.users["finance"])
    refused = client.post(f"/rates/{rate.pk}/", {"retire": "1", "reason": ""})
    assert refused.status_code == 400
    assert ExchangeRate.objects.filter(pk=rate.pk).exists()

    response = client.post(f"/rates/{rate.pk}/", {"retire": "1", "reason": "Typed inverted"})

    assert response.status_code == 302
    assert not ExchangeRate.objects.filter(pk=rate.pk).exists()
    retired = ExchangeRate.history.get(id=rate.pk, history_type="-")
    assert (retired.history_user, retired.history_change_reason) == (
        world.users["finance"],
        "Typed inverted",
    )


def test_an_officer_may_not_correct_rates(world, login):
    rate = ExchangeRate.objects.get(currency="EUR")
    client = login(world.users["officer"])
    assert client.get(f"/rates/{rate.pk}/").status_code == 403
    assert f"/rates/{rate.pk}/" not in client.get("/rates/").content.decode()


def test_rates_are_filtered_by_currency(world, login):
    ExchangeRateFactory(currency="KES", to_currency="USD", valid_on=date(2025, 1, 1))
    client = login(world.users["officer"])
    shown = client.get("/rates/", {"currency": "KES"}).context["page"]
    assert {rate.currency for rate in shown} == {"KES"}
    everything = client.get("/rates/").context["page"]
    assert {rate.currency for rate in everything} == {"EUR", "KES"}


# --- evaluations: findings shown, recommendations followed up ----------------------------------


@pytest.fixture
def evaluation(world):
    found = Evaluation.objects.create(
        project=world.project,
        kind="mid_term",
        evaluator=world.evaluator_org,
        summary="On course.",
        findings="Registrations doubled where the kiosks opened.",
    )
    Recommendation.objects.create(evaluation=found, text="Open more kiosks.", owner="Ministry")
    return found


def test_an_evaluations_findings_are_shown(world, login, evaluation):
    page = login(world.users["finance"]).get(world.project.get_absolute_url()).content.decode()
    assert "Registrations doubled where the kiosks opened." in page


def test_an_evaluator_updates_a_recommendations_follow_up(world, login, evaluation):
    recommendation = evaluation.recommendations.get()
    client = login(world.users["evaluator"])
    url = f"/recommendations/{recommendation.pk}/follow-up/"
    assert url in client.get(world.project.get_absolute_url()).content.decode()

    response = client.post(url, {"text": "Kiosks moved to the market.", "status": "in_progress"})

    assert response.status_code == 302
    recommendation.refresh_from_db()
    assert recommendation.status == "in_progress"
    assert recommendation.history.latest().history_user == world.users["evaluator"]
    refused = client.post(url, {"text": "Done.", "status": "forgotten"}, follow=True)
    assert "Say what was done, and the follow-up status." in refused.content.decode()
    recommendation.refresh_from_db()
    assert recommendation.status == "in_progress"


def test_finance_only_reads_the_follow_up(world, login, evaluation):
    recommendation = evaluation.recommendations.get()
    client = login(world.users["finance"])
    url = f"/recommendations/{recommendation.pk}/follow-up/"
    assert url not in client.get(world.project.get_absolute_url()).content.decode()
    assert client.post(url, {"text": "Done.", "status": "done"}).status_code == 403


# --- the project list: sorted by any column, money per project, CSV ----------------------------


def test_the_project_list_sorts_by_any_column_and_shows_money(world, login):
    other = ProjectFactory(code="AA-01", portfolio=world.project.portfolio)
    TrancheFactory(project=other, funder=world.funder_a, amount=Decimal("999999.00"))
    client = login(world.users["finance"])

    by_code = [p.code for p in client.get("/projects/").context["page"]]
    assert by_code == sorted(by_code)
    by_committed = list(client.get("/projects/", {"sort": "-committed"}).context["page"])
    assert by_committed[0].code == "AA-01"
    assert by_committed[0].money.committed == Decimal("999999.00")
    assert [p.code for p in client.get("/projects/", {"sort": "-code"}).context["page"]] == sorted(
        by_code, reverse=True
    )
    for column in ("country", "partner", "status", "launch", "flags", "disbursed", "nonsense"):
        assert client.get("/projects/", {"sort": column}).status_code == 200
    body = client.get("/projects/", {"sort": "committed"}).content.decode()
    assert 'aria-sort="ascending"' in body and "sort=-committed" in body


def test_the_project_list_downloads_as_csv_with_its_filters(world, login):
    ProjectFactory(code="AA-01", title="=HYPERLINK(1)", portfolio=world.project.portfolio)
    client = login(world.users["finance"])
    response = client.get("/projects/", {"q": "KE", "format": "csv", "sort": "code"})
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="projects-q-ke-2026-03-01.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:2] == ["Project", "Title"]
    assert [row[0] for row in rows[1:]] == ["KE-ID-01"]
    everything = client.get("/projects/", {"format": "csv"}).content.decode("utf-8-sig")
    assert "'=HYPERLINK(1)" in everything
    assert (
        'filename="projects-2026-03-01.csv"'
        in client.get("/projects/", {"format": "csv"})["Content-Disposition"]
    )


def test_a_shortfall_names_its_currency(world, login):
    LapseFlag.objects.filter(pk=world.flag.pk).update(shortfall=Decimal("140072.99"))
    page = login(world.users["finance"]).get(world.project.get_absolute_url()).content.decode()
    assert "short by USD 140,072.99" in page


def test_the_history_names_the_thing_and_the_person(world, login, payment):
    page = login(world.users["finance"]).get(world.project.get_absolute_url()).content.decode()
    history = page[page.index('id="history"') :]
    assert "Measurement of OUT-1 for" in history
    assert "Disbursement of USD 2,500.00 on" in history
    assert "Tranche A-1 of Funder A" in history
    assert "system" in history  # rows the factories made, no person acting
    assert " #" not in history.split("</table>")[0]

"""The page forms save through the services, show refusals next to the field, keep what was
typed, and save nothing on an error."""

import io
from datetime import date
from decimal import Decimal

import pytest
from django.core.cache import cache
from openpyxl import Workbook

from evaluations.models import Evaluation, Measurement, MeasurementStatus
from funding.models import Disbursement, LoanTerms, Tranche
from portfolio.models import ExchangeRate
from reporting.models import ExportJob

pytestmark = pytest.mark.django_db


def tranche_data(**changes):
    data = {
        "tranche-funder_reference": "A-9",
        "tranche-instrument": "grant",
        "tranche-purpose": "maintenance",
        "tranche-status": "committed",
        "tranche-currency": "USD",
        "tranche-amount": "120000.00",
        "tranche-committed_on": "2026-02-01",
        "tranche-covers_from": "2026-05-01",
        "tranche-covers_until": "2027-04-30",
    }
    return {**data, **changes}


def test_officer_logs_a_tranche_for_their_own_funder(world, login):
    client = login(world.users["officer"])
    url = f"/projects/{world.project.pk}/tranches/new/"
    response = client.post(url, tranche_data(**{"tranche-funder": world.funder_a.pk}))
    assert response.status_code == 302
    tranche = Tranche.objects.get(funder_reference="A-9")
    assert tranche.history.latest().history_user == world.users["officer"]


def test_officer_cannot_pick_another_funder(world, login):
    client = login(world.users["officer"])
    url = f"/projects/{world.project.pk}/tranches/new/"
    response = client.post(url, tranche_data(**{"tranche-funder": world.funder_b.pk}))
    assert response.status_code == 400
    assert "Select a valid choice" in response.context["form"].errors["funder"][0]
    assert not Tranche.objects.filter(funder_reference="A-9").exists()


def test_model_refusal_shows_next_to_the_field_and_keeps_what_was_typed(world, login):
    client = login(world.users["officer"])
    data = tranche_data(**{"tranche-funder": world.funder_a.pk, "tranche-covers_from": ""})
    response = client.post(f"/projects/{world.project.pk}/tranches/new/", data)
    assert response.status_code == 400
    form = response.context["form"]
    assert "first day of service" in form.errors["covers_from"][0]
    body = response.content.decode()
    assert 'value="A-9"' in body and 'value="120000.00"' in body
    assert "Nothing was saved" in body


def test_a_loan_saves_its_terms_or_nothing(world, login):
    client = login(world.users["officer"])
    url = f"/projects/{world.project.pk}/tranches/new/"
    loan = tranche_data(
        **{
            "tranche-funder": world.funder_a.pk,
            "tranche-instrument": "loan",
            "tranche-purpose": "launch",
            "tranche-covers_from": "",
            "tranche-covers_until": "",
            "loan-annual_rate_percent": "0.75",
            "loan-tenor_months": "61",  # not a multiple of the six-monthly frequency
            "loan-grace_months": "12",
            "loan-method": "annuity",
            "loan-frequency_months": "6",
            "loan-first_payment_date": "2027-01-31",
        }
    )
    response = client.post(url, loan)
    assert response.status_code == 400
    assert "multiple of frequency_months" in str(response.context["loan_form"].errors)
    assert not Tranche.objects.filter(funder_reference="A-9").exists()

    response = client.post(url, {**loan, "loan-tenor_months": "60"})
    assert response.status_code == 302
    terms = LoanTerms.objects.get(tranche__funder_reference="A-9")
    assert terms.annual_rate_percent == Decimal("0.750")


def test_disbursement_beyond_the_amount_is_refused_on_the_amount(world, login):
    client = login(world.users["officer"])
    url = f"/tranches/{world.maintenance.pk}/disburse/"
    response = client.post(url, {"disbursed_on": "2026-02-01", "amount": "60000", "reference": "X"})
    assert response.status_code == 400
    assert "remains undisbursed" in response.context["form"].errors["amount"][0]
    assert not Disbursement.objects.exists()
    response = client.post(url, {"disbursed_on": "2026-02-01", "amount": "20000", "reference": "X"})
    assert response.status_code == 302
    assert Disbursement.objects.get().recorded_by == world.users["officer"]


def test_french_amounts_are_read_in_french(world, login):
    client = login(world.users["officer"])
    url = f"/tranches/{world.maintenance.pk}/disburse/"
    response = client.post(
        url,
        {"disbursed_on": "2026-02-01", "amount": "1234,50", "reference": ""},
        HTTP_ACCEPT_LANGUAGE="fr",
    )
    assert response.status_code == 302
    assert Disbursement.objects.get().amount == Decimal("1234.50")


def test_other_funders_officer_may_not_disburse(world, login):
    client = login(world.users["other_officer"])
    url = f"/tranches/{world.maintenance.pk}/disburse/"
    response = client.post(url, {"disbursed_on": "2026-02-01", "amount": "10", "reference": ""})
    assert response.status_code == 403
    assert not Disbursement.objects.exists()


def test_acknowledging_a_flag_records_who_and_why(world, login):
    client = login(world.users["officer"])
    response = client.post(
        f"/flags/{world.flag.pk}/acknowledge/", {"note": "Renewal signed next week.", "next": "/"}
    )
    assert response.status_code == 302 and response.url == "/"
    world.flag.refresh_from_db()
    assert world.flag.acknowledged_by == world.users["officer"]
    assert world.flag.acknowledgement_note == "Renewal signed next week."


def test_acknowledge_ignores_a_foreign_next_url(world, login):
    client = login(world.users["officer"])
    response = client.post(
        f"/flags/{world.flag.pk}/acknowledge/", {"note": "ok", "next": "https://evil.example/"}
    )
    assert response.url == world.project.get_absolute_url()


def test_evaluator_records_a_measurement_and_another_verifies_it(world, login):
    client = login(world.users["evaluator"])
    response = client.post(
        f"/projects/{world.project.pk}/measurements/new/",
        {
            "indicator": world.indicator.pk,
            "period_start": "2025-04-01",
            "period_end": "2025-06-30",
            "value": "150",
            "source": "Registry",
        },
    )
    assert response.status_code == 302
    recorded = Measurement.objects.get(period_start=date(2025, 4, 1))
    assert recorded.reported_by == world.users["evaluator"]

    # Reviewing one's own is not offered, and refused in plain words; someone else's is verified.
    response = client.get(f"/measurements/{recorded.pk}/review/")
    assert "Save decision" not in response.content.decode()
    response = client.post(f"/measurements/{recorded.pk}/review/", {"decision": "verify"})
    assert response.status_code == 403
    assert "reported or changed" in response.content.decode()
    recorded.refresh_from_db()
    assert recorded.status == MeasurementStatus.SUBMITTED
    response = client.post(f"/measurements/{world.measurement.pk}/review/", {"decision": "verify"})
    assert response.status_code == 302
    world.measurement.refresh_from_db()
    assert world.measurement.status == MeasurementStatus.VERIFIED


def test_rejecting_needs_a_reason(world, login):
    client = login(world.users["evaluator"])
    url = f"/measurements/{world.measurement.pk}/review/"
    response = client.post(url, {"decision": "reject", "rejection_reason": ""})
    assert response.status_code == 400
    assert response.context["form"].errors["rejection_reason"]
    response = client.post(url, {"decision": "reject", "rejection_reason": "No source."})
    assert response.status_code == 302
    world.measurement.refresh_from_db()
    assert world.measurement.status == MeasurementStatus.REJECTED


def test_evaluator_records_an_evaluation_with_recommendations(world, login):
    client = login(world.users["evaluator"])
    prefix = "recommendations"
    response = client.post(
        f"/projects/{world.project.pk}/evaluations/new/",
        {
            "kind": "mid_term",
            "evaluator": world.evaluator_org.pk,
            "completed_on": "2026-02-15",
            "relevance": "5",
            "summary": "Good start.",
            f"{prefix}-TOTAL_FORMS": "2",
            f"{prefix}-INITIAL_FORMS": "0",
            f"{prefix}-0-text": "Budget the maintenance before launch.",
            f"{prefix}-0-status": "open",
            f"{prefix}-1-status": "open",
        },
    )
    assert response.status_code == 302
    evaluation = Evaluation.objects.get()
    assert evaluation.relevance == 5
    assert [r.text for r in evaluation.recommendations.all()] == [
        "Budget the maintenance before launch."
    ]


def test_finance_adds_an_exchange_rate(world, login):
    client = login(world.users["finance"])
    data = {"currency": "GBP", "to_currency": "USD", "rate": "1.27", "valid_on": "2026-01-01"}
    assert client.post("/rates/", data).status_code == 302
    assert ExchangeRate.objects.filter(currency="GBP").exists()
    response = client.post("/rates/", {**data, "to_currency": "GBP"})
    assert response.status_code == 400  # nothing converts a currency into itself
    assert ExchangeRate.objects.filter(currency="GBP").count() == 1


def test_export_runs_and_reports_its_progress(world, login):
    client = login(world.users["finance"])
    response = client.post("/exports/", {"portfolio": world.project.portfolio_id})
    job = ExportJob.objects.get()
    assert response.url == f"/exports/{job.pk}/"
    assert client.get(response.url).status_code == 200
    progress = client.get(f"/exports/{job.pk}/progress/").json()
    assert progress["status"] == "done" and progress["progress"] == 100
    download = client.get(progress["download_url"])
    assert download.status_code == 200 and download["Content-Type"].startswith("application/vnd")
    # Somebody else's export stays theirs.
    client.force_login(world.users["officer"])
    assert client.get(f"/exports/{job.pk}/progress/").status_code == 404


def test_upload_lists_bad_cells_and_saves_nothing(world, login):
    client = login(world.users["officer"])
    template = client.get("/tranches/upload/template/")
    assert template.status_code == 200
    book = Workbook()
    sheet = book.active
    sheet.title = "Tranches"
    sheet.append(["nonsense"])
    sheet.append(["x"])
    upload = io.BytesIO()
    book.save(upload)
    upload.name = "tranches.xlsx"
    upload.seek(0)
    response = client.post("/tranches/upload/", {"workbook": upload})
    assert response.status_code == 400
    assert response.context["result"].errors
    assert "Nothing was saved" in response.content.decode()
    assert Tranche.objects.count() == 3


def test_dashboard_shows_a_new_tranche_the_same_day(world, login):
    """The coverage shown is cached per portfolio and day, but a saved tranche shows at once."""
    cache.clear()
    client = login(world.users["manager"])
    before = client.get("/").context["timeline"].rows[0].assessment.gaps
    Tranche.objects.create(
        project=world.project,
        funder=world.funder_a,
        instrument="grant",
        purpose="maintenance",
        amount=Decimal("1000.00"),
        currency="USD",
        status="committed",
        committed_on=date(2026, 2, 1),
        covers_from=date(2026, 5, 1),
        covers_until=date(2027, 12, 31),
    )
    after = client.get("/").context["timeline"].rows[0].assessment.gaps
    assert before != after and after == []


def test_a_duplicate_reference_is_refused_in_plain_words_next_to_it(world, login):
    client = login(world.users["officer"])
    data = tranche_data(**{"tranche-funder": world.funder_a.pk, "tranche-funder_reference": "A-1"})

    response = client.post(f"/projects/{world.project.pk}/tranches/new/", data)

    assert response.status_code == 400
    assert response.context["form"].errors == {
        "funder_reference": ["This funder already has a tranche with this reference."]
    }
    assert "tranche_funder_reference_unique" not in response.content.decode()
    assert Tranche.objects.filter(funder_reference="A-1").count() == 1


def test_an_officer_gives_each_cost_line_a_share_of_the_tranche_or_nothing_is_saved(world, login):
    from funding.models import Allocation
    from projects.models import CostLine

    for category in ("hosting", "cybersecurity"):
        CostLine.objects.create(
            project=world.project, category=category, annual_cost=Decimal("1000"), currency="USD"
        )
    client = login(world.users["officer"])
    url = f"/projects/{world.project.pk}/tranches/new/"
    page = client.get(url)
    assert "lines-share_hosting" in page.content.decode()

    too_much = tranche_data(
        **{
            "tranche-funder": world.funder_a.pk,
            "lines-share_hosting": "70",
            "lines-share_cybersecurity": "40",
        }
    )
    refused = client.post(url, too_much)
    assert refused.status_code == 400
    assert "more than the tranche" in refused.content.decode()
    assert not Tranche.objects.filter(funder_reference="A-9").exists()

    fine = dict(too_much, **{"lines-share_cybersecurity": "30"})
    assert client.post(url, fine).status_code == 302
    tranche = Tranche.objects.get(funder_reference="A-9")
    assert dict(Allocation.objects.filter(tranche=tranche).values_list("category", "share")) == {
        "hosting": Decimal("70.00"),
        "cybersecurity": Decimal("30.00"),
    }

    # Moving money between lines never passes through more than the tranche.
    moved = dict(fine, **{"lines-share_hosting": "30", "lines-share_cybersecurity": "70"})
    assert client.post(f"/tranches/{tranche.pk}/edit/", moved).status_code == 302
    emptied = dict(fine, **{"lines-share_hosting": "", "lines-share_cybersecurity": ""})
    assert client.post(f"/tranches/{tranche.pk}/edit/", emptied).status_code == 302
    assert not Allocation.objects.filter(tranche=tranche).exists()

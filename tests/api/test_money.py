"""Tranches with their loan terms and derived amounts, disbursements and repayment schedules."""

import threading
from collections import Counter
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection

from funding import services
from funding.models import Disbursement, LoanTerms, Tranche
from tests.evaluations.factories import PayoutTermsFactory
from tests.factories import DisbursementFactory, MembershipFactory, TrancheFactory

from .conftest import client_for

pytestmark = pytest.mark.django_db

LOAN = {
    "instrument": "loan",
    "purpose": "launch",
    "amount": "120000.00",
    "currency": "EUR",
    "status": "committed",
    "committed_on": "2025-02-01",
    "reference": "BANK-LOAN-7",
    "loan_terms": {
        "annual_rate_percent": "0.750",
        "tenor_months": 120,
        "grace_months": 24,
        "method": "annuity",
        "frequency_months": 6,
        "first_payment_date": "2026-06-30",
    },
}


def loan(world, **changes):
    return LOAN | {"project": world.project.pk, "funder": world.bank.pk} | changes


def test_an_officer_logs_a_loan_with_its_terms_in_one_request(api, world, people):
    response = api("officer").post("/api/v1/tranches/", loan(world), format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["reference"] == "BANK-LOAN-7"
    assert body["amount"] == "120000.00"
    assert body["loan_terms"]["tenor_months"] == 120
    assert (body["disbursed_amount"], body["undisbursed_amount"], body["payable_amount"]) == (
        "0.00",
        "120000.00",
        "120000.00",
    )
    tranche = Tranche.objects.get(pk=body["id"])
    assert tranche.funder_reference == "BANK-LOAN-7"
    assert tranche.history.latest().history_user == people["officer"]
    assert tranche.loan_terms.history.latest().history_user == people["officer"]


def test_bad_loan_terms_save_nothing_and_name_each_field(api, world):
    terms = LOAN["loan_terms"] | {"grace_months": 130, "frequency_months": 5}

    response = api("officer").post(
        "/api/v1/tranches/", loan(world, loan_terms=terms), format="json"
    )

    assert response.status_code == 400
    assert set(response.json()["loan_terms"]) == {"frequency_months"}
    assert not Tranche.objects.filter(funder_reference="BANK-LOAN-7").exists()


def test_terms_the_schedule_refuses_roll_back_the_tranche_too(api, world):
    terms = LOAN["loan_terms"] | {"grace_months": 130}

    response = api("officer").post(
        "/api/v1/tranches/", loan(world, loan_terms=terms), format="json"
    )

    assert response.status_code == 400
    assert "loan_terms" in response.json()
    assert not Tranche.objects.filter(funder_reference="BANK-LOAN-7").exists()


def test_every_bad_field_is_named_with_its_reason(api, world):
    body = loan(world, amount="-5", currency="XXQ", instrument="bond")
    del body["loan_terms"]

    response = api("officer").post("/api/v1/tranches/", body, format="json")

    assert response.status_code == 400
    errors = response.json()
    assert set(errors) == {"amount", "currency", "instrument"}
    assert all(isinstance(reasons, list) and reasons for reasons in errors.values())


def test_model_rules_come_back_under_the_api_field_names(api, world):
    body = loan(world, purpose="maintenance", reference="BANK-1")
    del body["loan_terms"]

    response = api("officer").post("/api/v1/tranches/", body, format="json")

    assert response.status_code == 400
    errors = response.json()
    assert "covers_from" in errors and "covers_until" in errors


def test_a_duplicate_reference_is_refused_in_plain_words_on_the_field(api, world):
    body = loan(world, reference="BANK-1")
    del body["loan_terms"]

    response = api("officer").post("/api/v1/tranches/", body, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "reference": ["This funder already has a tranche with this reference."]
    }
    assert Tranche.objects.filter(funder_reference="BANK-1").count() == 1


def test_null_loan_terms_remove_them(api, world):
    response = api("officer").patch(
        f"/api/v1/tranches/{world.tranche.pk}/", {"loan_terms": None}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["loan_terms"] is None
    assert not LoanTerms.objects.filter(tranche=world.tranche).exists()


def test_results_based_funding_shows_what_results_earned_and_what_is_still_payable(api, world):
    terms = PayoutTermsFactory(tranche__funder=world.bank, tranche__amount=Decimal("100000.00"))
    terms.eligible_amount = Decimal("25000.00")
    terms.save()
    DisbursementFactory(tranche=terms.tranche, amount=Decimal("10000.00"))

    body = api("finance").get(f"/api/v1/tranches/{terms.tranche_id}/").json()

    assert body["payout_terms"]["earned_amount"] == "25000.00"
    assert body["payable_amount"] == "15000.00"
    assert body["undisbursed_amount"] == "90000.00"
    assert body["payout_terms"]["rule"] == "pro_rata"


def test_a_planned_tranche_has_nothing_payable(api, world):
    planned = TrancheFactory(funder=world.bank, planned=True)

    body = api("finance").get(f"/api/v1/tranches/{planned.pk}/").json()

    assert (body["undisbursed_amount"], body["payable_amount"]) == (body["amount"], "0.00")


def test_a_tranche_with_disbursements_keeps_its_currency(api, world):
    response = api("officer").patch(
        f"/api/v1/tranches/{world.tranche.pk}/", {"currency": "EUR"}, format="json"
    )

    assert response.status_code == 400
    assert "keeps its currency (USD)" in response.json()["currency"][0]
    assert Tranche.objects.get(pk=world.tranche.pk).currency == "USD"


def test_a_tranche_with_disbursements_cannot_be_deleted(api, world):
    response = api("officer").delete(f"/api/v1/tranches/{world.tranche.pk}/")

    assert response.status_code == 400
    assert "disbursements" in response.json()["non_field_errors"][0]


def test_disbursing_through_the_api_goes_through_the_service(api, world, people):
    response = api("officer").post(
        "/api/v1/disbursements/",
        {"tranche": world.tranche.pk, "disbursed_on": "2025-04-01", "amount": "500.00"},
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["recorded_by"] == people["officer"].pk
    world.tranche.refresh_from_db()
    assert world.tranche.disbursed_amount == Decimal("1500.00")


def test_a_disbursement_past_the_amount_is_refused_with_the_reason(api, world):
    response = api("officer").post(
        "/api/v1/disbursements/",
        {"tranche": world.tranche.pk, "disbursed_on": "2025-04-01", "amount": "999999.00"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {
        "amount": ["Only 99,000.00 USD of this tranche remains undisbursed."]
    }


def test_undoing_a_disbursement_gives_its_amount_back(api, world, people):
    url = f"/api/v1/disbursements/{world.disbursement.pk}/"
    response = api("officer").delete(url, {"reason": "Entered twice"}, format="json")

    assert response.status_code == 204
    assert not Disbursement.objects.exists()
    world.tranche.refresh_from_db()
    assert world.tranche.disbursed_amount == Decimal("0.00")
    undone = Disbursement.history.filter(id=world.disbursement.pk, history_type="-").get()
    assert (undone.history_user, undone.history_change_reason) == (
        people["officer"],
        "Entered twice",
    )


def test_the_reason_may_come_as_a_query_parameter(api, world):
    url = f"/api/v1/disbursements/{world.disbursement.pk}/?reason=Wrong+tranche"
    response = api("officer").delete(url)

    assert response.status_code == 204
    undone = Disbursement.history.filter(id=world.disbursement.pk, history_type="-").get()
    assert undone.history_change_reason == "Wrong tranche"


def test_undoing_without_a_reason_is_refused(api, world):
    response = api("officer").delete(f"/api/v1/disbursements/{world.disbursement.pk}/")

    assert response.status_code == 400
    assert response.json() == {"reason": ["This field may not be blank."]}
    world.tranche.refresh_from_db()
    assert world.tranche.disbursed_amount == Decimal("1000.00")


def test_a_second_undo_is_a_404_and_moves_no_money(api, world):
    url = f"/api/v1/disbursements/{world.disbursement.pk}/"
    first = api("officer").delete(url, {"reason": "Entered twice"}, format="json")
    second = api("manager").delete(url, {"reason": "Entered twice"}, format="json")

    assert (first.status_code, second.status_code) == (204, 404)
    world.tranche.refresh_from_db()
    assert world.tranche.disbursed_amount == Decimal("0.00")


def test_a_disbursement_is_never_edited(api, world):
    response = api("manager").patch(
        f"/api/v1/disbursements/{world.disbursement.pk}/", {"amount": "1.00"}, format="json"
    )

    assert response.status_code == 405


def test_the_schedule_lists_the_loans_repayments(api, world):
    body = api("finance").get(f"/api/v1/tranches/{world.tranche.pk}/schedule/").json()

    assert body["currency"] == "USD"
    assert len(body["instalments"]) == 10  # 60 months, semi-annual
    assert body["instalments"][0]["principal"] == "0.00"  # still in grace
    assert body["instalments"][-1]["closing_balance"] == "0.00"


def test_a_tranche_without_loan_terms_has_no_schedule(api, world):
    response = api("finance").get(f"/api/v1/tranches/{world.other_tranche.pk}/schedule/")

    assert response.status_code == 404


def test_loan_terms_starting_past_the_calendar_are_a_400(api, world):
    terms = LOAN["loan_terms"] | {"first_payment_date": "9995-01-01"}

    response = api("officer").patch(
        f"/api/v1/tranches/{world.tranche.pk}/", {"loan_terms": terms}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["loan_terms"] == {
        "first_payment_date": ["Give a date from 1900-01-01 to 2200-12-31."]
    }


def test_a_launch_date_past_the_calendar_is_a_400(api, world):
    response = api("manager").patch(
        f"/api/v1/projects/{world.project.pk}/", {"launch_date": "9999-01-01"}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"launch_date": ["Give a date from 1900-01-01 to 2200-12-31."]}


@pytest.mark.django_db(transaction=True)
def test_parallel_deletes_of_one_disbursement_undo_it_once(postgres):
    # The probe: 20 parallel DELETEs per id each got two 204s, and the tranche paid
    # 1,090.00 of 1,000.00. Now one DELETE undoes it; every other one is a 404.
    officer = MembershipFactory().user
    tranche = TrancheFactory(funder=officer.memberships.get().organisation, amount=Decimal("1000"))
    paid = [
        services.disburse(tranche, Decimal(amount), date(2025, 3, 1))
        for amount in ("500.00", "400.00", "90.00")
    ]
    contenders = 8
    barrier = threading.Barrier(contenders)
    answers = []

    def delete(disbursement):
        try:
            client = client_for(officer)
            barrier.wait(timeout=10)
            response = client.delete(
                f"/api/v1/disbursements/{disbursement.pk}/", {"reason": "Race"}, format="json"
            )
            answers.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=delete, args=(paid[2],)) for _ in range(contenders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert Counter(answers) == {204: 1, 404: contenders - 1}
    tranche.refresh_from_db()
    rows = sum(Disbursement.objects.filter(tranche=tranche).values_list("amount", flat=True))
    assert tranche.disbursed_amount == rows == Decimal("900.00")
    over = client_for(officer).post(
        "/api/v1/disbursements/",
        {"tranche": tranche.pk, "amount": "190.00", "disbursed_on": "2025-03-02"},
        format="json",
    )
    assert over.status_code == 400

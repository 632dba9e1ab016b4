"""Repayments through the API, and a loan tranche's status on its detail."""

from datetime import date
from decimal import Decimal

import pytest
import time_machine

from funding.models import Repayment

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(date(2026, 11, 28), tick=False):
        yield


def test_finance_staff_record_a_repayment_and_the_tranche_shows_it(api, world):
    body = {
        "tranche": world.tranche.pk,
        "received_on": "2026-06-30",
        "principal": "200.00",
        "interest": "10.00",
        "reference": "RCV-7",
    }
    created = api("finance").post("/api/v1/repayments/", body, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["currency"] == "USD"

    detail = api("officer").get(f"/api/v1/tranches/{world.tranche.pk}/").json()
    status = detail["loan_status"]
    # 1,000.00 disbursed, 200.00 repaid; interest: 100.00 (the world's repayment) and 10.00.
    assert status["principal_disbursed"] == "1000.00"
    assert status["principal_repaid"] == "200.00"
    assert status["principal_outstanding"] == "800.00"
    assert status["interest_received"] == "110.00"
    # The two interest-only instalments of the grace year are paid by the 110.00 of interest
    # (1,000.00 at 2% from 1 Feb 2025 to 30 Jun 2026, then half a year); nothing is overdue.
    assert [line["state"] for line in status["instalments"]][-1] == "upcoming"
    assert [line["state"] for line in status["instalments"]][:2] == ["paid", "paid"]
    assert status["principal_in_arrears"] == status["interest_in_arrears"] == "0.00"
    assert status["days_overdue"] == 0
    assert status["first_overdue_on"] is None


def test_the_loan_status_is_a_snapshot_as_of_a_date(api, world):
    status = (
        api("finance")
        .get(f"/api/v1/tranches/{world.tranche.pk}/", {"as_of": "2025-02-15"})
        .json()["loan_status"]
    )
    assert status["interest_received"] == "0.00"  # the repayment came on 1 Mar 2025
    assert api("finance").get(
        f"/api/v1/tranches/{world.tranche.pk}/", {"as_of": "not a date"}
    ).json() == {"as_of": ["Date has wrong format. Use one of these formats instead: YYYY-MM-DD."]}


def test_a_grant_has_no_loan_status(api, world):
    assert (
        api("finance").get(f"/api/v1/tranches/{world.other_tranche.pk}/").json()["loan_status"]
        is None
    )


def test_over_repayment_is_a_400_naming_the_field_with_nothing_saved(api, world):
    body = {"tranche": world.tranche.pk, "received_on": "2026-06-30", "principal": "1000.01"}
    response = api("finance").post("/api/v1/repayments/", body, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "principal": ["Only 1,000.00 USD of principal is outstanding on this loan."]
    }
    assert Repayment.objects.count() == 1


def test_a_repayment_dated_after_today_is_a_400(api, world):
    body = {"tranche": world.tranche.pk, "received_on": "2026-11-29", "interest": "1.00"}
    response = api("finance").post("/api/v1/repayments/", body, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["received_on"]


def test_a_repayment_is_undone_once_with_a_reason(api, world):
    url = f"/api/v1/repayments/{world.repayment.pk}/"
    assert api("finance").delete(url, {}, format="json").status_code == 400
    assert api("finance").delete(url, {"reason": "Bounced"}, format="json").status_code == 204
    assert api("finance").delete(url, {"reason": "Again"}, format="json").status_code == 404
    assert not Repayment.objects.exists()


def test_repayments_are_filtered_by_tranche_and_date(api, world):
    client = api("officer")
    assert client.get("/api/v1/repayments/", {"tranche": world.tranche.pk}).json()["count"] == 1
    assert (
        client.get("/api/v1/repayments/", {"received_on__gte": "2025-03-02"}).json()["count"] == 0
    )
    assert client.get("/api/v1/repayments/", {"project": world.project.pk}).json()["count"] == 1

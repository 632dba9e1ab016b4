"""A disbursement is money already paid: one dated after today is refused through every door,
with a message that says what to do instead."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse
from rest_framework.test import APIClient

from funding import services
from funding.models import Disbursement
from tests.factories import MembershipFactory, TrancheFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 1)
TOMORROW = TODAY + timedelta(days=1)


@pytest.fixture
def tranche():
    with time_machine.travel(TODAY, tick=False):
        yield TrancheFactory(committed_on=date(2025, 1, 1))


@pytest.fixture
def officer(tranche):
    return MembershipFactory(organisation=tranche.funder).user


def nothing_paid(tranche):
    tranche.refresh_from_db()
    return not Disbursement.objects.exists() and tranche.disbursed_amount == Decimal("0.00")


def test_the_service_refuses_a_disbursement_dated_tomorrow(tranche):
    with pytest.raises(ValidationError) as refused:
        services.disburse(tranche, Decimal("10.00"), TOMORROW)

    [message] = refused.value.message_dict["disbursed_on"]
    assert "cannot be dated after today (2026-03-01)" in message
    assert "expected on the tranche" in message
    assert nothing_paid(tranche)


def test_a_disbursement_dated_today_is_recorded(tranche):
    services.disburse(tranche, Decimal("10.00"), TODAY)
    assert Disbursement.objects.get().disbursed_on == TODAY


def test_the_api_answers_400_naming_the_date(tranche, officer):
    api = APIClient()
    api.force_authenticate(officer)

    response = api.post(
        "/api/v1/disbursements/",
        {"tranche": tranche.pk, "disbursed_on": "2030-01-01", "amount": "10.00"},
        format="json",
    )

    assert response.status_code == 400
    assert "disbursed_on" in response.json()
    assert nothing_paid(tranche)


def test_the_page_shows_the_refusal_on_the_date(tranche, officer, client):
    client.force_login(officer)

    response = client.post(
        reverse("tranche-disburse", args=[tranche.pk]),
        {"disbursed_on": "2027-03-01", "amount": "10.00", "reference": ""},
    )

    assert response.status_code == 400
    assert "after today" in response.context["form"].errors["disbursed_on"][0]
    assert nothing_paid(tranche)


def test_the_admin_shows_the_refusal_on_the_date(tranche, admin_client):
    response = admin_client.post(
        reverse("admin:funding_disbursement_add"),
        {"tranche": tranche.pk, "disbursed_on": "2027-03-01", "amount": "10.00", "reference": ""},
    )

    assert response.status_code == 200
    assert "disbursed_on" in response.context["adminform"].form.errors
    assert nothing_paid(tranche)

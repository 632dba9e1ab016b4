"""Workflows that needed the API or the admin, now on the pages through the same services:
undoing a disbursement with a reason."""

from datetime import date
from decimal import Decimal

import pytest

from funding import services
from funding.models import Disbursement

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

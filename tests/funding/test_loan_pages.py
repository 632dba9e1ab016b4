"""The loan page: status beside the schedule, repayments recorded and undone by finance staff."""

from datetime import date
from decimal import Decimal

import pytest
import time_machine

from funding import services
from funding.models import Repayment, Tranche
from tests.factories import LoanTermsFactory, TrancheFactory

D = Decimal


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(date(2026, 11, 28), tick=False):
        yield


@pytest.fixture
def tranche(cast):
    loan = TrancheFactory(funder=cast.funder_a, instrument=Tranche.Instrument.LOAN)
    LoanTermsFactory(tranche=loan)
    services.disburse(loan, D("60000.00"), date(2025, 2, 1))
    return loan


def test_the_loan_page_shows_the_status_and_marks_overdue_lines(client, cast, tranche):
    client.force_login(cast.officer)
    response = client.get(f"/tranches/{tranche.pk}/loan/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Principal outstanding" in page and "60,000.00" in page
    assert 'class="loan-overdue"' in page  # 30 Jun 2026, interest unpaid
    assert "Record repayment" not in page  # officers do not record repayments


def test_the_project_page_links_to_the_loan(client, cast, tranche):
    client.force_login(cast.finance)
    page = client.get(tranche.project.get_absolute_url()).content.decode()
    assert f"/tranches/{tranche.pk}/loan/" in page


def test_finance_staff_record_a_repayment_on_the_loan_page(client, cast, tranche):
    client.force_login(cast.finance)
    body = {"received_on": "2026-06-30", "principal": "0", "interest": "700.00", "reference": "R1"}
    response = client.post(f"/tranches/{tranche.pk}/loan/", body)
    assert response.status_code == 302
    assert Repayment.objects.get().interest == D("700.00")


def test_a_refused_repayment_comes_back_with_the_reason_and_nothing_saved(client, cast, tranche):
    client.force_login(cast.finance)
    body = {"received_on": "2026-06-30", "principal": "60000.01"}
    response = client.post(f"/tranches/{tranche.pk}/loan/", body)
    assert response.status_code == 400
    assert "Only 60,000.00 USD of principal is outstanding" in response.content.decode()
    assert not Repayment.objects.exists()


def test_an_officer_may_not_post_a_repayment(client, cast, tranche):
    client.force_login(cast.officer)
    body = {"received_on": "2026-06-30", "interest": "1.00"}
    assert client.post(f"/tranches/{tranche.pk}/loan/", body).status_code == 403


def test_a_repayment_is_undone_once_with_a_reason(client, cast, tranche):
    repayment = services.record_repayment(tranche, date(2026, 6, 30), D("0"), D("10.00"))
    client.force_login(cast.finance)
    url = f"/repayments/{repayment.pk}/undo/"
    assert client.post(url, {"reason": ""}).status_code == 400
    assert client.post(url, {"reason": "Bounced"}).status_code == 302
    assert client.post(url, {"reason": "Again"}).status_code == 404
    assert not Repayment.objects.exists()

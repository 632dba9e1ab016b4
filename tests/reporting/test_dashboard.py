"""Dashboard figures: money by instrument and the leverage the workbook also reports."""

from datetime import date
from decimal import Decimal

import pytest

from funding.models import Tranche
from reporting import dashboard
from tests.factories import PortfolioFactory, ProjectFactory, TrancheFactory

pytestmark = pytest.mark.django_db

D = Decimal


def test_leverage_is_loan_and_results_based_money_per_unit_of_grant():
    portfolio = PortfolioFactory()
    project = ProjectFactory(portfolio=portfolio)
    for instrument, amount in (
        (Tranche.Instrument.GRANT, "200000.00"),
        (Tranche.Instrument.LOAN, "100000.00"),
        (Tranche.Instrument.RESULTS_BASED, "50000.00"),
    ):
        TrancheFactory(project=project, instrument=instrument, amount=D(amount))
    TrancheFactory(
        project=project,
        instrument=Tranche.Instrument.LOAN,
        amount=D("999999.00"),
        status=Tranche.Status.PLANNED,
        committed_on=None,
    )

    money = dashboard.money(portfolio, date(2026, 1, 1))

    assert money.leverage == D("0.75")
    assert money.committed == D("350000.00")


def test_leverage_is_absent_without_grant_money():
    portfolio = PortfolioFactory()
    TrancheFactory(project__portfolio=portfolio, instrument=Tranche.Instrument.LOAN)

    assert dashboard.money(portfolio, date(2026, 1, 1)).leverage is None

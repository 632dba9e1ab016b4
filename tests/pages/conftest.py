"""A small portfolio with one user per role, for the page tests."""

from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest
import time_machine

from funding import scan
from funding.models import Tranche
from portfolio.models import Role
from projects.models import Project
from tests.evaluations.factories import (
    EvaluatorFactory,
    IndicatorFactory,
    MeasurementFactory,
    TargetFactory,
)
from tests.factories import (
    EvaluatorOrgFactory,
    ExchangeRateFactory,
    FunderFactory,
    MembershipFactory,
    ProjectFactory,
    TrancheFactory,
    UserFactory,
)

TODAY = date(2026, 3, 1)


@pytest.fixture
def today():
    with time_machine.travel(TODAY, tick=False):
        yield TODAY


@pytest.fixture
def world(db, today):
    """Funder A's officer, funder B's officer, an evaluator, finance, a manager, and a user
    without a role; a launched project funded by A whose maintenance is at risk."""
    funder_a = FunderFactory(name="Funder A")
    funder_b = FunderFactory(name="Funder B")
    users = {
        "officer": MembershipFactory(
            user=UserFactory(username="officer"), organisation=funder_a
        ).user,
        "other_officer": MembershipFactory(
            user=UserFactory(username="officer2"), organisation=funder_b
        ).user,
        "evaluator": EvaluatorFactory(username="evaluator"),
        "finance": MembershipFactory(
            user=UserFactory(username="finance"), organisation=funder_a, role=Role.FINANCE
        ).user,
        "manager": MembershipFactory(
            user=UserFactory(username="manager", is_staff=True),
            organisation=funder_a,
            role=Role.PORTFOLIO_MANAGER,
        ).user,
        "nobody": UserFactory(username="nobody"),
    }
    project = ProjectFactory(
        code="KE-ID-01", status=Project.Status.LAUNCHED, launch_date=date(2025, 1, 1)
    )
    launch = TrancheFactory(project=project, funder=funder_a, funder_reference="A-1")
    maintenance = TrancheFactory(
        project=project,
        funder=funder_a,
        funder_reference="A-2",
        purpose=Tranche.Purpose.MAINTENANCE,
        covers_from=date(2025, 1, 1),
        covers_until=date(2026, 4, 30),
        amount=Decimal("50000.00"),
    )
    other = TrancheFactory(project=project, funder=funder_b, funder_reference="B-1")
    ExchangeRateFactory(currency="EUR", to_currency="USD", valid_on=date(2025, 1, 1))
    scan.scan_lapses(TODAY)
    indicator = IndicatorFactory(project=project, code="OUT-1")
    TargetFactory(indicator=indicator, value=Decimal("1000"))
    measurement = MeasurementFactory(indicator=indicator)
    return SimpleNamespace(
        users=users,
        funder_a=funder_a,
        funder_b=funder_b,
        project=project,
        launch=launch,
        maintenance=maintenance,
        other=other,
        flag=project.lapse_flags.get(),
        indicator=indicator,
        measurement=measurement,
        evaluator_org=EvaluatorOrgFactory(name="Meridian"),
    )


@pytest.fixture
def login(client):
    def as_(user):
        client.force_login(user)
        return client

    return as_

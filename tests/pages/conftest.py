"""A small portfolio around the shared cast (one user per role), for the page tests."""

from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest
import time_machine

from funding import scan
from funding.models import Tranche
from projects.models import Project
from tests.evaluations.factories import (
    IndicatorFactory,
    MeasurementFactory,
    TargetFactory,
)
from tests.factories import (
    ExchangeRateFactory,
    ProjectFactory,
    TrancheFactory,
)

TODAY = date(2026, 3, 1)


@pytest.fixture
def today():
    with time_machine.travel(TODAY, tick=False):
        yield TODAY


@pytest.fixture
def world(cast, today):
    """The shared cast (funder A's and funder B's officers, an evaluator, finance, a manager and
    a user without a role) around a launched project funded by A whose maintenance is at risk."""
    funder_a, funder_b = cast.funder_a, cast.funder_b
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
        users=cast.users,
        funder_a=funder_a,
        funder_b=funder_b,
        project=project,
        launch=launch,
        maintenance=maintenance,
        other=other,
        flag=project.lapse_flags.get(),
        indicator=indicator,
        measurement=measurement,
        evaluator_org=cast.evaluation_firm,
    )


@pytest.fixture
def login(client):
    def as_(user):
        client.force_login(user)
        return client

    return as_

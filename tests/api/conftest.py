"""A small portfolio around the shared cast (one user per role), and API clients that log in
with their tokens."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from funding.models import Allocation, LapseFlag, Repayment, Tranche
from projects.models import CostLine
from tests.evaluations.factories import (
    EvaluationFactory,
    IndicatorFactory,
    MeasurementFactory,
    PersonFactory,
    TargetFactory,
)
from tests.factories import (
    DisbursementFactory,
    ExchangeRateFactory,
    LoanTermsFactory,
    ProjectFactory,
    TrancheFactory,
)

ROLES = ["anonymous", "no_role", "officer", "other_officer", "evaluator", "finance", "manager"]


@pytest.fixture(autouse=True)
def fresh_throttles():
    """The failed-login throttle counts in the cache; each test starts with none."""
    cache.clear()
    yield
    cache.clear()


@dataclass
class World:
    bank: object
    other_funder: object
    evaluation_firm: object
    project: object
    tranche: object  # the bank's committed loan to the project, with terms
    other_tranche: object  # another funder's tranche to the project
    disbursement: object
    indicator: object
    target: object
    measurement: object  # reported by someone else, so evaluators may review it
    evaluation: object
    flag: object
    rate: object
    repayment: object = None  # interest received on the bank's loan
    cost_line: object = None  # a line of the project's sustainability plan
    allocation: object = None  # half of the other funder's maintenance tranche, to hosting


@pytest.fixture
def world(cast):
    """Funder A's (the bank's) loan to a launched project, with everything around it."""
    bank = cast.funder_a
    other_funder = cast.funder_b
    project = ProjectFactory(launched=True)
    tranche = TrancheFactory(
        project=project,
        funder=bank,
        instrument=Tranche.Instrument.LOAN,
        funder_reference="BANK-1",
    )
    LoanTermsFactory(tranche=tranche)
    # On another project, so the other funder's officer has no say about this project's flags.
    other_tranche = TrancheFactory(funder=other_funder, maintenance=True)
    disbursement = DisbursementFactory(tranche=tranche, amount=Decimal("1000.00"))
    Tranche.objects.filter(pk=tranche.pk).update(disbursed_amount=Decimal("1000.00"))
    indicator = IndicatorFactory(project=project)
    # A sustainability plan line, and the other funder's maintenance paying half of one.
    cost_line = CostLine.objects.create(
        project=project, category="licences", annual_cost=Decimal("1200.00"), currency="USD"
    )
    allocation = Allocation.objects.create(
        tranche=other_tranche, category="hosting", share=Decimal("50")
    )
    return World(
        bank=bank,
        other_funder=other_funder,
        evaluation_firm=cast.evaluation_firm,
        project=project,
        tranche=tranche,
        other_tranche=other_tranche,
        disbursement=disbursement,
        indicator=indicator,
        target=TargetFactory(indicator=indicator),
        measurement=MeasurementFactory(indicator=indicator, reported_by=PersonFactory()),
        evaluation=EvaluationFactory(project=project),
        flag=LapseFlag.objects.create(
            project=project,
            kind=LapseFlag.Kind.AT_RISK,
            gap_start=date(2026, 1, 1),
            gap_end=date(2027, 12, 31),
            raised_at="2025-12-01T00:00:00Z",
            last_seen_on=date(2025, 12, 1),
        ),
        rate=ExchangeRateFactory(),
        repayment=Repayment.objects.create(
            tranche=tranche, received_on=date(2025, 3, 1), interest=Decimal("100.00")
        ),
        cost_line=cost_line,
        allocation=allocation,
    )


@pytest.fixture
def people(world, cast):
    """The cast by role, and an anonymous visitor."""
    return {"anonymous": None, **cast.users}


def client_for(user):
    """An API client that sends `user`'s token, as a script would (anonymous for None)."""
    client = APIClient()
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def api(people):
    """api("manager") -> a client logged in as that person."""
    return lambda role: client_for(people[role])

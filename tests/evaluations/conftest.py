"""People in each role, and payout terms to earn against, for the results tests."""

from decimal import Decimal

import pytest

from portfolio.models import Role
from tests.factories import FunderFactory, MembershipFactory

from .factories import EvaluatorFactory, PayoutTermsFactory, PersonFactory


@pytest.fixture
def evaluator(db):
    return EvaluatorFactory(username="evaluator")


@pytest.fixture
def people(db, evaluator):
    """One person per role (and one without a role), by the names the role table uses."""

    def member(role):
        return MembershipFactory(user=PersonFactory(), organisation=FunderFactory(), role=role).user

    return {
        "evaluator": evaluator,
        "other_evaluator": EvaluatorFactory(),
        "manager": member(Role.PORTFOLIO_MANAGER),
        "officer": member(Role.DONOR_OFFICER),
        "finance": member(Role.FINANCE),
        "no_role": PersonFactory(),
    }


@pytest.fixture
def terms(db):
    """Pro-rata terms on a 100,000 tranche paying for 1,000 people (cumulative, baseline 0)."""
    return PayoutTermsFactory(target__value=Decimal("1000"))

"""A results-based tranche with its project's people: an implementer of the implementing
partner, two verifiers of firms independent of it, an evaluator, and an outsider."""

from decimal import Decimal
from types import SimpleNamespace

from portfolio.models import Role
from tests.factories import EvaluatorOrgFactory, MembershipFactory, ProjectFactory

from .factories import PayoutTermsFactory, PersonFactory


def member(organisation, role, username):
    person = PersonFactory(username=username)
    MembershipFactory(user=person, organisation=organisation, role=role)
    return person


def results_world():
    project = ProjectFactory()
    partner = project.implementing_partner
    other_project = ProjectFactory()
    firm, second_firm = EvaluatorOrgFactory(), EvaluatorOrgFactory()
    terms = PayoutTermsFactory(
        tranche__project=project, target__value=Decimal("1000"), target__indicator__project=project
    )
    return SimpleNamespace(
        project=project,
        other_project=other_project,
        partner=partner,
        terms=terms,
        indicator=terms.target.indicator,
        implementer=member(partner, Role.IMPLEMENTER, "implementer"),
        colleague=member(partner, Role.IMPLEMENTER, "colleague"),
        outsider=member(other_project.implementing_partner, Role.IMPLEMENTER, "outsider"),
        verifier=member(firm, Role.VERIFIER, "verifier"),
        firm_colleague=member(firm, Role.EVALUATOR, "firm_colleague"),
        second_verifier=member(second_firm, Role.VERIFIER, "second_verifier"),
        partner_verifier=member(partner, Role.VERIFIER, "partner_verifier"),
    )

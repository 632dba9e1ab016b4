"""Organisations (IATI identifier, the parts they play) and memberships (roles)."""

import pytest
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction

from portfolio.models import Membership, Organisation, Portfolio, Role
from tests.factories import (
    EvaluatorOrgFactory,
    FunderFactory,
    ImplementerFactory,
    MembershipFactory,
    OrganisationFactory,
    PortfolioFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "identifier",
    ["XM-DAC-41114", "GB-CHC-202918", "US-EIN-12-3456789", "NL-KVK-41149486", "DE-1-12.3/x_y"],
)
def test_iati_identifier_in_the_standard_shape_is_accepted(identifier):
    OrganisationFactory.build(iati_identifier=identifier).full_clean()


@pytest.mark.parametrize(
    "identifier",
    [
        "41114",  # no registration agency
        "XM-41114",  # agency prefix without the registry part
        "xm-dac-41114",  # the country prefix is upper case
        "XMDAC41114",
        "XM-DAC-",  # no number
        "XM DAC 41114",
        "XM-DAC-41 114",
        "XM-DAC-41114\n",  # a trailing newline is not part of an identifier
    ],
)
def test_iati_identifier_out_of_shape_is_refused(identifier):
    organisation = OrganisationFactory.build(iati_identifier=identifier)

    with pytest.raises(ValidationError) as raised:
        organisation.full_clean()

    assert "iati_identifier" in raised.value.message_dict
    assert "XM-DAC-41114" in raised.value.message_dict["iati_identifier"][0]


def test_iati_identifier_may_be_left_empty_by_many_organisations():
    OrganisationFactory(iati_identifier="")
    OrganisationFactory(iati_identifier="")

    assert Organisation.objects.filter(iati_identifier="").count() == 2


def test_iati_identifier_is_unique_when_given():
    OrganisationFactory(iati_identifier="XM-DAC-41114")

    with pytest.raises(ValidationError) as raised:
        OrganisationFactory.build(iati_identifier="XM-DAC-41114").full_clean()
    assert raised.value.messages
    with pytest.raises(IntegrityError), transaction.atomic():
        OrganisationFactory(iati_identifier="XM-DAC-41114")


def test_organisation_must_play_at_least_one_part():
    organisation = Organisation(name="Nobody in particular")

    with pytest.raises(ValidationError) as raised:
        organisation.full_clean()

    assert raised.value.message_dict[NON_FIELD_ERRORS] == [
        "An organisation must play at least one part."
    ]


@pytest.mark.parametrize(
    "part", [{"is_funder": True}, {"is_implementer": True}, {"is_evaluator": True}]
)
def test_organisation_playing_any_one_part_is_accepted(part):
    Organisation(name="Somebody", **part).full_clean()


def test_organisation_may_play_several_parts():
    Organisation(name="Both", is_funder=True, is_implementer=True, is_evaluator=True).full_clean()


def test_only_a_funder_has_a_funder_type():
    organisation = ImplementerFactory.build(funder_type=Organisation.FunderType.PHILANTHROPY)

    with pytest.raises(ValidationError) as raised:
        organisation.full_clean()

    assert "funder_type" in raised.value.message_dict


def test_donor_officer_of_a_funder_is_accepted():
    Membership(
        user=UserFactory(), organisation=FunderFactory(), role=Role.DONOR_OFFICER
    ).full_clean()


@pytest.mark.parametrize("organisation_factory", [ImplementerFactory, EvaluatorOrgFactory])
def test_donor_officer_membership_needs_a_funding_organisation(organisation_factory):
    membership = Membership(
        user=UserFactory(), organisation=organisation_factory(), role=Role.DONOR_OFFICER
    )

    with pytest.raises(ValidationError) as raised:
        membership.full_clean()

    assert raised.value.message_dict["organisation"] == [
        "A donor officer belongs to a funding organisation."
    ]


@pytest.mark.parametrize("role", [Role.EVALUATOR, Role.FINANCE, Role.PORTFOLIO_MANAGER])
def test_other_roles_may_belong_to_any_organisation(role):
    Membership(user=UserFactory(), organisation=EvaluatorOrgFactory(), role=role).full_clean()


def test_same_role_in_the_same_organisation_is_recorded_once():
    membership = MembershipFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        MembershipFactory(
            user=membership.user, organisation=membership.organisation, role=membership.role
        )
    # Another role for the same person and organisation is fine.
    MembershipFactory(user=membership.user, organisation=membership.organisation, role=Role.FINANCE)


def test_portfolio_reports_in_usd_with_a_90_day_warning_by_default():
    portfolio = Portfolio.objects.create(name="Default fund")

    assert (portfolio.reporting_currency, portfolio.lapse_warning_days) == ("USD", 90)
    assert portfolio.reminder_days == [180, 90, 30]


@pytest.mark.parametrize("reminder_days", [[0], [3651], "30", [30.5], [None]])
def test_portfolio_reminder_days_must_be_whole_days_in_range(reminder_days):
    portfolio = PortfolioFactory.build(reminder_days=reminder_days)

    with pytest.raises(ValidationError) as raised:
        portfolio.full_clean()

    assert "reminder_days" in raised.value.message_dict


def test_database_refuses_a_reporting_currency_that_is_not_three_capitals():
    with pytest.raises(IntegrityError), transaction.atomic():
        PortfolioFactory(reporting_currency="usd")

"""factory-boy factories for the whole domain."""

from datetime import date
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.db.models import F

from funding.models import Disbursement, LoanTerms, Tranche
from portfolio.models import ExchangeRate, Membership, Organisation, Portfolio, Role
from projects.models import CostLine, Project


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password("pw")


class PortfolioFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Portfolio

    name = factory.Sequence(lambda n: f"Digital Services Fund {n}")
    reporting_currency = "USD"


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"Organisation {n}")
    is_funder = True


class FunderFactory(OrganisationFactory):
    name = factory.Sequence(lambda n: f"Funder {n}")
    is_funder = True
    funder_type = Organisation.FunderType.BILATERAL_DONOR


class ImplementerFactory(OrganisationFactory):
    name = factory.Sequence(lambda n: f"Implementer {n}")
    is_funder = False
    is_implementer = True


class EvaluatorOrgFactory(OrganisationFactory):
    name = factory.Sequence(lambda n: f"Evaluation firm {n}")
    is_funder = False
    is_evaluator = True


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organisation = factory.SubFactory(FunderFactory)
    role = Role.DONOR_OFFICER


class ExchangeRateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ExchangeRate

    currency = "EUR"
    to_currency = "USD"
    rate = Decimal("1.10")
    valid_on = date(2026, 1, 1)


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project

    portfolio = factory.SubFactory(PortfolioFactory)
    code = factory.Sequence(lambda n: f"P-{n:04d}")
    title = factory.Sequence(lambda n: f"Digital service pilot {n}")
    country = "KE"
    sector_code = "22040"
    implementing_partner = factory.SubFactory(ImplementerFactory)
    status = Project.Status.IMPLEMENTING

    class Params:
        launched = factory.Trait(status=Project.Status.LAUNCHED, launch_date=date(2025, 1, 1))


class CostLineFactory(factory.django.DjangoModelFactory):
    """A line of a sustainability plan; by default what 0006 made of an annual maintenance
    cost: the plan's one "other" line, over the whole window."""

    class Meta:
        model = CostLine

    project = factory.SubFactory(ProjectFactory)
    category = CostLine.Category.OTHER
    annual_cost = Decimal("50000.00")
    currency = "USD"


class TrancheFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tranche

    project = factory.SubFactory(ProjectFactory)
    funder = factory.SubFactory(FunderFactory)
    instrument = Tranche.Instrument.GRANT
    purpose = Tranche.Purpose.LAUNCH
    amount = Decimal("100000.00")
    currency = "USD"
    status = Tranche.Status.COMMITTED
    committed_on = date(2025, 1, 1)

    class Params:
        maintenance = factory.Trait(
            purpose=Tranche.Purpose.MAINTENANCE,
            covers_from=date(2025, 1, 1),
            covers_until=date(2025, 12, 31),
        )
        planned = factory.Trait(status=Tranche.Status.PLANNED, committed_on=None)


class LoanTermsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LoanTerms

    tranche = factory.SubFactory(TrancheFactory, instrument=Tranche.Instrument.LOAN)
    annual_rate_percent = Decimal("2.000")
    tenor_months = 60
    grace_months = 12
    method = "annuity"
    frequency_months = 6
    first_payment_date = date(2026, 6, 30)


class DisbursementFactory(factory.django.DjangoModelFactory):
    """Writes the row directly, skipping the rules (tests of the rules go through
    services.disburse()), but keeps the tranche's stored total equal to the sum of its rows,
    as PostgreSQL insists at commit."""

    class Meta:
        model = Disbursement

    tranche = factory.SubFactory(TrancheFactory)
    disbursed_on = date(2025, 2, 1)
    amount = Decimal("1000.00")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        disbursement = super()._create(model_class, *args, **kwargs)
        Tranche.objects.filter(pk=disbursement.tranche_id).update(
            disbursed_amount=F("disbursed_amount") + disbursement.amount
        )
        disbursement.tranche.refresh_from_db(fields=["disbursed_amount"])
        return disbursement

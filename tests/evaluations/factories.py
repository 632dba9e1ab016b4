"""factory-boy factories for the results framework."""

from datetime import date
from decimal import Decimal

import factory
from django.utils import timezone

from evaluations.models import (
    Aggregation,
    Evaluation,
    EvaluationKind,
    Indicator,
    Level,
    Measurement,
    MeasurementStatus,
    PayoutRule,
    PayoutTerms,
    Recommendation,
    StandardIndicator,
    Target,
)
from funding.models import Tranche
from portfolio.models import Role
from tests.factories import EvaluatorOrgFactory, ProjectFactory, TrancheFactory, UserFactory


class PersonFactory(UserFactory):
    """A user who never logs in; skipping password hashing keeps the tests fast."""

    password = "!"


class EvaluatorFactory(PersonFactory):
    """A person holding the evaluator role at an evaluation firm."""

    class Meta:
        skip_postgeneration_save = True  # the membership row is saved on its own

    membership = factory.RelatedFactory(
        "tests.factories.MembershipFactory",
        factory_related_name="user",
        organisation=factory.SubFactory(EvaluatorOrgFactory),
        role=Role.EVALUATOR,
    )


class StandardIndicatorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StandardIndicator

    portfolio = factory.SubFactory("tests.factories.PortfolioFactory")
    code = factory.Sequence(lambda n: f"DPS-{n}")
    title = "People registered with a digital ID"
    definition = "Unique people holding an active digital ID credential, from the ID registry."
    unit = "people"
    aggregation = Aggregation.CUMULATIVE
    sdg_indicator = "16.9.1"


class IndicatorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Indicator

    project = factory.SubFactory(ProjectFactory)
    # Not "OUT-n": tests write such codes by hand beside factory indicators of the same
    # project, and a sequence that reached the same number broke the code's uniqueness.
    code = factory.Sequence(lambda n: f"IND-{n}")
    name = "People holding a digital ID"
    level = Level.OUTPUT
    aggregation = Aggregation.CUMULATIVE
    baseline_value = Decimal("0")
    baseline_date = date(2025, 1, 1)
    disaggregations = factory.LazyFunction(lambda: ["sex"])


class TargetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Target

    indicator = factory.SubFactory(IndicatorFactory)
    due_on = date(2026, 12, 31)
    value = Decimal("1000")


class MeasurementFactory(factory.django.DjangoModelFactory):
    """Writes the row directly; tests of the review rules go through the services."""

    class Meta:
        model = Measurement

    indicator = factory.SubFactory(IndicatorFactory)
    period_start = date(2025, 1, 1)
    period_end = date(2025, 3, 31)
    value = Decimal("100")
    source = "ID registry extract"
    reported_by = factory.SubFactory(EvaluatorFactory)

    class Params:
        verified = factory.Trait(
            status=MeasurementStatus.VERIFIED,
            verified_by=factory.SubFactory(PersonFactory),
            verified_at=factory.LazyFunction(timezone.now),
        )
        rejected = factory.Trait(
            status=MeasurementStatus.REJECTED,
            verified_by=factory.SubFactory(PersonFactory),
            verified_at=factory.LazyFunction(timezone.now),
            rejection_reason="Source does not support the figure.",
        )


class EvaluationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Evaluation

    project = factory.SubFactory(ProjectFactory)
    kind = EvaluationKind.MID_TERM
    evaluator = factory.SubFactory(EvaluatorOrgFactory)
    completed_on = date(2025, 11, 15)


class RecommendationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Recommendation

    evaluation = factory.SubFactory(EvaluationFactory)
    text = "Agree a maintenance budget before launch."
    owner = "Ministry of ICT"


class PayoutTermsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PayoutTerms

    tranche = factory.SubFactory(
        TrancheFactory,
        instrument=Tranche.Instrument.RESULTS_BASED,
        amount=Decimal("100000.00"),
    )
    target = factory.SubFactory(
        TargetFactory, indicator__project=factory.SelfAttribute("...tranche.project")
    )
    rule = PayoutRule.PRO_RATA


def reported(terms_or_indicator, value, start, end, category=""):
    """A measurement reported (not yet reviewed) for the indicator, or for the indicator the
    payout terms pay for, over the period from `start` to `end` (ISO dates)."""
    target = getattr(terms_or_indicator, "target", None)
    indicator = target.indicator if target else terms_or_indicator
    return MeasurementFactory(
        indicator=indicator,
        value=Decimal(value),
        period_start=date.fromisoformat(start),
        period_end=date.fromisoformat(end),
        disaggregation=category,
    )

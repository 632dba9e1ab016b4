"""The demo results: believable, partly earning the results-based tranche, and idempotent."""

from decimal import Decimal

import pytest
from dateutil.relativedelta import relativedelta
from django.utils import timezone

from devtools.demo_results import seed_results
from evaluations.models import (
    Evaluation,
    Indicator,
    Measurement,
    MeasurementStatus,
    PayoutTerms,
    Recommendation,
    Target,
)
from funding.models import Tranche
from projects.models import Project
from tests.evaluations.factories import EvaluatorFactory, PersonFactory
from tests.factories import EvaluatorOrgFactory, ProjectFactory, TrancheFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    identity = ProjectFactory(code="KE-ID-01", launched=True)
    births = ProjectFactory(
        code="SN-CRVS-01",
        status=Project.Status.LAUNCHED,
        launch_date=timezone.localdate() - relativedelta(months=8),
    )
    pipeline = ProjectFactory(code="RW-BIZ-01", status=Project.Status.PIPELINE)
    tranche = TrancheFactory(
        project=births,
        instrument=Tranche.Instrument.RESULTS_BASED,
        amount=Decimal("250000.00"),
        funder_reference="RBF-2025-01",
    )
    return {
        "projects": {project.code: project for project in (identity, births, pipeline)},
        "tranches": {"RBF-2025-01": tranche, "GR-1": TrancheFactory(project=identity)},
        "users": {
            "evaluator": EvaluatorFactory(username="eva"),
            "portfolio_manager": PersonFactory(username="pm", is_superuser=True),
        },
        "evaluator_org": EvaluatorOrgFactory(),
    }


def counts():
    return [
        model.objects.count()
        for model in (Indicator, Target, Measurement, Evaluation, Recommendation, PayoutTerms)
    ] + [PayoutTerms.history.count(), Target.history.count()]


def test_seed_results_builds_a_results_framework(world):
    seed_results(**world)

    assert Measurement.objects.filter(status=MeasurementStatus.VERIFIED).exists()
    assert Measurement.objects.filter(status=MeasurementStatus.REJECTED).count() == 1
    assert Evaluation.objects.count() == 2
    assert Indicator.objects.filter(project__code="RW-BIZ-01").exists()
    assert not Measurement.objects.filter(indicator__project__code="RW-BIZ-01").exists()
    terms = PayoutTerms.objects.get(tranche__funder_reference="RBF-2025-01")
    assert Decimal("0") < terms.eligible_amount < terms.tranche.amount


def test_seed_results_twice_changes_nothing(world):
    seed_results(**world)
    before = counts()
    seed_results(**world)
    assert counts() == before


def test_seed_results_skips_what_is_missing():
    project = ProjectFactory(code="KE-ID-01", launched=True)
    seed_results({project.code: project}, {}, {}, None)

    assert Indicator.objects.filter(project=project).exists()
    assert not Measurement.objects.exclude(status=MeasurementStatus.SUBMITTED).exists()
    assert not Evaluation.objects.exists()


def test_a_project_no_framework_names_gets_no_results(world):
    stranger = ProjectFactory(code="KE-TAX-03", launched=True)
    world["projects"][stranger.code] = stranger
    world["tranches"]["RBF-9"] = TrancheFactory(
        project=stranger, instrument=Tranche.Instrument.RESULTS_BASED
    )
    seed_results(**world)

    assert not Indicator.objects.filter(project=stranger).exists()
    assert not PayoutTerms.objects.filter(tranche__project=stranger).exists()


def test_results_are_dated_from_the_project_launch_and_none_not_yet_ended(world):
    births = world["projects"]["SN-CRVS-01"]
    seed_results(**world)

    # Launched eight months ago: births are reported from its first whole month of service,
    # and none of a period still running.
    first = Measurement.objects.filter(indicator__project=births, indicator__code="CR-OC-1")
    month_one = births.launch_date.replace(day=1) + relativedelta(months=1)
    if births.launch_date.day == 1:
        month_one = births.launch_date
    assert min(first.values_list("period_start", flat=True)) == month_one
    assert max(Measurement.objects.values_list("period_end", flat=True)) < timezone.localdate()
    for measurement in Measurement.objects.select_related("indicator"):
        assert measurement.period_start > measurement.indicator.baseline_date, measurement

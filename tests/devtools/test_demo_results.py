"""The demo results: believable, partly earning the results-based tranche, and idempotent."""

from decimal import Decimal

import pytest

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
    births = ProjectFactory(code="KE-CR-02", status=Project.Status.IMPLEMENTING)
    pipeline = ProjectFactory(code="KE-TAX-03", status=Project.Status.PIPELINE)
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
    assert not Measurement.objects.filter(indicator__project__code="KE-TAX-03").exists()
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

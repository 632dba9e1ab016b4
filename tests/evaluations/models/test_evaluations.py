"""Rules that belong to one evaluation: ratings on the OECD DAC scale, an evaluation firm."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from tests.factories import OrganisationFactory

from ..factories import EvaluationFactory

pytestmark = pytest.mark.django_db


def errors_of(excinfo):
    return excinfo.value.message_dict


def test_ratings_outside_one_to_six_are_refused():
    evaluation = EvaluationFactory()
    evaluation.relevance = 7
    with pytest.raises(ValidationError) as excinfo:
        evaluation.full_clean()
    assert "relevance" in errors_of(excinfo)
    with pytest.raises(IntegrityError), transaction.atomic():
        EvaluationFactory(sustainability=0)


def test_evaluating_organisation_must_be_an_evaluation_firm():
    evaluation = EvaluationFactory()
    evaluation.evaluator = OrganisationFactory(is_funder=True, is_evaluator=False)
    with pytest.raises(ValidationError) as excinfo:
        evaluation.full_clean()
    assert "evaluator" in errors_of(excinfo)

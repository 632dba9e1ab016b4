"""Evaluations and their recommendations, saved through the services every door calls."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from evaluations import services
from evaluations.models import Evaluation, FollowUp, Recommendation
from tests.factories import EvaluatorOrgFactory, ProjectFactory

from ..factories import RecommendationFactory

pytestmark = pytest.mark.django_db


def new_evaluation(**fields):
    return Evaluation(
        project=ProjectFactory(),
        kind=Evaluation.Kind.MID_TERM,
        evaluator=EvaluatorOrgFactory(),
        completed_on=date(2025, 11, 15),
        **fields,
    )


def test_an_evaluation_is_stored_with_its_recommendations_and_who_recorded_them(evaluator):
    evaluation = new_evaluation(relevance=5, summary="Good start.")

    services.save_evaluation(
        evaluation,
        evaluator,
        recommendations=[
            Recommendation(text="Budget the upkeep before launch.", owner="Ministry of ICT"),
            Recommendation(text="Train the help desk.", status=FollowUp.IN_PROGRESS),
        ],
    )

    stored = Evaluation.objects.get(pk=evaluation.pk)
    assert (stored.relevance, stored.summary) == (5, "Good start.")
    assert stored.history.first().history_user == evaluator
    assert [(r.text, r.status) for r in stored.recommendations.order_by("id")] == [
        ("Budget the upkeep before launch.", FollowUp.OPEN),
        ("Train the help desk.", FollowUp.IN_PROGRESS),
    ]
    assert {r.history.first().history_user for r in stored.recommendations.all()} == {evaluator}


def test_a_bad_recommendation_saves_nothing_at_all(evaluator):
    evaluation = new_evaluation()

    with pytest.raises(ValidationError) as excinfo:
        services.save_evaluation(evaluation, evaluator, recommendations=[Recommendation(text="")])
    assert "text" in excinfo.value.message_dict
    assert not Evaluation.objects.exists()


def test_an_evaluation_cannot_be_completed_in_the_future(evaluator):
    evaluation = new_evaluation()
    evaluation.completed_on = timezone.localdate() + timedelta(days=1)

    with pytest.raises(ValidationError) as excinfo:
        services.save_evaluation(evaluation, evaluator)
    assert "completed_on" in excinfo.value.message_dict
    assert not Evaluation.objects.exists()


@pytest.mark.parametrize("role", ["officer", "finance", "no_role"])
def test_only_evaluators_and_managers_record_evaluations(people, role):
    with pytest.raises(PermissionDenied):
        services.save_evaluation(new_evaluation(), people[role])
    assert not Evaluation.objects.exists()


def test_a_recommendations_follow_up_is_updated(people):
    recommendation = Recommendation.objects.get(pk=RecommendationFactory().pk)
    recommendation.status = FollowUp.DONE

    services.save_recommendation(recommendation, people["manager"])

    stored = Recommendation.objects.get(pk=recommendation.pk)
    assert stored.status == FollowUp.DONE
    assert stored.history.first().history_user == people["manager"]


def test_officers_do_not_touch_recommendations(people):
    recommendation = RecommendationFactory()

    with pytest.raises(PermissionDenied):
        services.delete_recommendation(recommendation, people["officer"])
    services.delete_recommendation(recommendation, people["evaluator"])
    assert not Recommendation.objects.filter(pk=recommendation.pk).exists()
    assert Evaluation.objects.filter(pk=recommendation.evaluation_id).exists()

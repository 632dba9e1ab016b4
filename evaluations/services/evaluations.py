"""Writes of evaluations and their recommendations."""

from django.db import transaction

from portfolio import access

from ..models import Evaluation, Recommendation


@transaction.atomic
def save_evaluation(evaluation, user, recommendations=()) -> Evaluation:
    """Save a new or changed evaluation, then each of the given recommendations under it."""
    access.check(user, access.CHANGE if evaluation.pk else access.ADD, evaluation)
    evaluation._history_user = user
    evaluation.full_clean()
    evaluation.save()
    for recommendation in recommendations:
        recommendation.evaluation = evaluation
        save_recommendation(recommendation, user)
    return evaluation


@transaction.atomic
def save_recommendation(recommendation, user) -> Recommendation:
    """Save a new or changed recommendation, or its follow-up status."""
    access.check(user, access.CHANGE if recommendation.pk else access.ADD, recommendation)
    recommendation._history_user = user
    recommendation.full_clean()
    recommendation.save()
    return recommendation


@transaction.atomic
def delete_recommendation(recommendation, user):
    """Delete a recommendation; its history keeps who deleted it."""
    access.check(user, access.DELETE, recommendation)
    recommendation._history_user = user
    recommendation.delete()

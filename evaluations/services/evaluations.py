"""Writes of evaluations and their recommendations."""

from django.db import transaction

from portfolio import access

from ..models import Evaluation, Recommendation, RecommendationUpdate


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


@transaction.atomic
def follow_up_recommendation(recommendation, user, text, status) -> RecommendationUpdate:
    """Record what was done on a recommendation, and move its follow-up status."""
    locked = Recommendation.objects.select_for_update().get(pk=recommendation.pk)
    access.check(user, access.CHANGE, locked)
    update = RecommendationUpdate(recommendation=locked, author=user, text=text, status=status)
    update.full_clean()
    update.save()
    if locked.status != status:
        locked.status = status
        locked._history_user = user
        locked.full_clean()
        locked.save(update_fields=["status", "updated_at"])
    recommendation.status = status
    return update

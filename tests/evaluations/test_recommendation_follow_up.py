"""Recommendations: management response, owner organisation, follow-up updates, and the
overdue ones on the dashboard."""

from datetime import date

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from evaluations import services
from evaluations.models import FollowUp, ManagementResponse, Recommendation

from .factories import RecommendationFactory
from .verification import results_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db):
    return results_world()


def test_a_partial_or_rejecting_response_says_why(world):
    recommendation = RecommendationFactory(evaluation__project=world.project)
    recommendation.response = ManagementResponse.PARTLY_ACCEPTED
    with pytest.raises(ValidationError) as excinfo:
        services.save_recommendation(recommendation, world.firm_colleague)
    assert "response_text" in excinfo.value.message_dict
    recommendation.response_text = "Budget only for the first year."
    services.save_recommendation(recommendation, world.firm_colleague)


def test_the_owner_organisation_follows_a_recommendation_up(world):
    recommendation = RecommendationFactory(
        evaluation__project=world.project, owner_organisation=world.partner
    )
    services.follow_up_recommendation(
        recommendation, world.implementer, "Budget line agreed.", FollowUp.IN_PROGRESS
    )
    stored = Recommendation.objects.get(pk=recommendation.pk)
    assert stored.status == FollowUp.IN_PROGRESS
    assert list(stored.updates.values_list("text", "author__username")) == [
        ("Budget line agreed.", "implementer")
    ]
    with pytest.raises(PermissionDenied):
        services.follow_up_recommendation(
            recommendation, world.outsider, "Not mine.", FollowUp.DONE
        )


@time_machine.travel(date(2026, 6, 1))
def test_overdue_recommendations_are_on_the_dashboard(world, client):
    overdue = RecommendationFactory(
        evaluation__project=world.project, due_on=date(2026, 3, 31), text="Agree a budget."
    )
    RecommendationFactory(
        evaluation__project=world.project,
        due_on=date(2026, 3, 31),
        status=FollowUp.DONE,
        text="Already done.",
    )
    RecommendationFactory(
        evaluation__project=world.project, due_on=date(2026, 12, 31), text="Later."
    )

    assert list(Recommendation.objects.overdue(date(2026, 6, 1))) == [overdue]
    client.force_login(world.verifier)
    page = client.get(f"/?portfolio={world.project.portfolio_id}").content.decode()
    assert "Overdue recommendations" in page
    assert "Agree a budget." in page
    assert "Already done." not in page
    assert "Later." not in page

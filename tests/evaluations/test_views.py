"""The results pages: they offer a review only where the role table allows it, and save
through the services."""

from datetime import date
from decimal import Decimal

import pytest

from evaluations.models import Evaluation, Measurement, MeasurementStatus

from .factories import IndicatorFactory, MeasurementFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client):
    def sign_in(user):
        client.force_login(user)
        return client

    return sign_in


def review_links(page, measurement):
    return page.count(f'href="/measurements/{measurement.pk}/review/"')


def test_the_queue_offers_a_review_of_others_measurements_only(signed_in, people):
    own = MeasurementFactory(reported_by=people["evaluator"])
    others = MeasurementFactory(indicator=own.indicator, disaggregation="sex:female")

    page = signed_in(people["evaluator"]).get("/measurements/review/").content.decode()

    assert review_links(page, own) == 0
    assert review_links(page, others) == 1


def test_ones_own_measurement_opens_without_a_decision_to_make(signed_in, people):
    own = MeasurementFactory(reported_by=people["evaluator"])

    response = signed_in(people["evaluator"]).get(f"/measurements/{own.pk}/review/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "reported or changed" in page
    assert 'name="decision"' not in page
    assert "Save decision" not in page


def test_someone_elses_measurement_offers_the_decision(signed_in, people):
    measurement = MeasurementFactory()

    response = signed_in(people["evaluator"]).get(f"/measurements/{measurement.pk}/review/")

    assert response.status_code == 200
    assert 'name="decision"' in response.content.decode()


def test_a_decision_posted_on_ones_own_measurement_is_refused(signed_in, people):
    own = MeasurementFactory(reported_by=people["manager"])

    response = signed_in(people["manager"]).post(
        f"/measurements/{own.pk}/review/", {"decision": "verify"}
    )

    assert response.status_code == 403
    assert "reported or changed" in response.content.decode()
    assert Measurement.objects.get(pk=own.pk).status == MeasurementStatus.SUBMITTED


def test_a_rejection_is_stored_with_its_reason_and_reviewer(signed_in, people):
    measurement = MeasurementFactory()

    response = signed_in(people["evaluator"]).post(
        f"/measurements/{measurement.pk}/review/",
        {"decision": "reject", "rejection_reason": "Extract is unsigned."},
    )

    assert response.status_code == 302
    stored = Measurement.objects.get(pk=measurement.pk)
    assert (stored.status, stored.verified_by, stored.rejection_reason) == (
        MeasurementStatus.REJECTED,
        people["evaluator"],
        "Extract is unsigned.",
    )


def test_a_recorded_measurement_is_stored_as_reported_by_whoever_records_it(signed_in, people):
    indicator = IndicatorFactory()

    response = signed_in(people["evaluator"]).post(
        f"/projects/{indicator.project_id}/measurements/new/",
        {
            "indicator": indicator.pk,
            "period_start": "2025-04-01",
            "period_end": "2025-06-30",
            "disaggregation": "",
            "value": "150",
            "source": "Registry",
        },
    )

    assert response.status_code == 302
    stored = Measurement.objects.get(indicator=indicator)
    assert (stored.period_start, stored.value, stored.source) == (
        date(2025, 4, 1),
        Decimal("150"),
        "Registry",
    )
    assert (stored.status, stored.reported_by) == (MeasurementStatus.SUBMITTED, people["evaluator"])
    assert stored.history.first().history_user == people["evaluator"]


def test_a_recorded_evaluation_is_stored_with_its_recommendations(signed_in, people):
    project = IndicatorFactory().project
    firm = people["evaluator"].memberships.get().organisation

    response = signed_in(people["evaluator"]).post(
        f"/projects/{project.pk}/evaluations/new/",
        {
            "kind": "final",
            "evaluator": firm.pk,
            "completed_on": "2025-11-15",
            "sustainability": "3",
            "recommendations-TOTAL_FORMS": "2",
            "recommendations-INITIAL_FORMS": "0",
            "recommendations-0-text": "Budget the upkeep before launch.",
            "recommendations-0-status": "open",
            "recommendations-1-status": "open",
        },
    )

    assert response.status_code == 302
    evaluation = Evaluation.objects.get(project=project)
    assert (evaluation.kind, evaluation.evaluator, evaluation.sustainability) == ("final", firm, 3)
    assert evaluation.history.first().history_user == people["evaluator"]
    assert [r.text for r in evaluation.recommendations.all()] == [
        "Budget the upkeep before launch."
    ]

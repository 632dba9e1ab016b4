"""Measurements verified or rejected through the API, targets changed with a reason."""

from decimal import Decimal

import pytest

from evaluations.models import Measurement, Target

pytestmark = pytest.mark.django_db


def test_an_evaluator_verifies_a_measurement_someone_else_reported(api, world, people):
    response = api("evaluator").post(f"/api/v1/measurements/{world.measurement.pk}/verify/")

    assert response.status_code == 200
    assert response.json()["status"] == "verified"
    assert response.json()["verified_by"] == people["evaluator"].pk


def test_nobody_verifies_their_own_measurement(api, world, people):
    Measurement.objects.filter(pk=world.measurement.pk).update(reported_by=people["evaluator"])

    response = api("evaluator").post(f"/api/v1/measurements/{world.measurement.pk}/verify/")

    assert response.status_code == 403
    assert "reported or changed" in response.json()["detail"]
    assert Measurement.objects.get(pk=world.measurement.pk).status == "submitted"


def test_a_rejection_needs_a_reason(api, world):
    response = api("evaluator").post(
        f"/api/v1/measurements/{world.measurement.pk}/reject/", {"reason": ""}, format="json"
    )

    assert response.status_code == 400
    assert set(response.json()) == {"reason"}


def test_a_rejected_measurement_keeps_its_reason(api, world):
    response = api("evaluator").post(
        f"/api/v1/measurements/{world.measurement.pk}/reject/",
        {"reason": "Extract is unsigned."},
        format="json",
    )

    assert response.json()["status"] == "rejected"
    assert response.json()["rejection_reason"] == "Extract is unsigned."


def test_a_reviewed_measurement_is_not_reviewed_again(api, world):
    api("evaluator").post(f"/api/v1/measurements/{world.measurement.pk}/verify/")

    response = api("manager").post(f"/api/v1/measurements/{world.measurement.pk}/verify/")

    assert response.status_code == 400
    assert "status" in response.json()


def test_a_new_measurement_is_reported_by_whoever_sends_it(api, world, people):
    response = api("evaluator").post(
        "/api/v1/measurements/",
        {
            "indicator": world.indicator.pk,
            "period_start": "2025-04-01",
            "period_end": "2025-06-30",
            "value": "250",
            "source": "Registry extract",
        },
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["reported_by"] == people["evaluator"].pk
    assert response.json()["status"] == "submitted"


def test_a_target_change_without_a_reason_is_refused(api, world):
    response = api("evaluator").patch(
        f"/api/v1/targets/{world.target.pk}/", {"value": "2000"}, format="json"
    )

    assert response.status_code == 400
    assert "change_reason" in response.json()
    world.target.refresh_from_db()
    assert world.target.value == Decimal("1000")


def test_a_target_change_keeps_its_reason_in_history(api, world):
    response = api("evaluator").patch(
        f"/api/v1/targets/{world.target.pk}/",
        {"value": "2000", "change_reason": "Scaled up."},
        format="json",
    )

    assert response.status_code == 200
    assert "change_reason" not in response.json()
    latest = Target.history.filter(id=world.target.pk).latest("history_date")
    assert latest.history_change_reason == "Scaled up."


def test_evaluations_carry_their_recommendations(api, world):
    world.evaluation.recommendations.create(text="Budget upkeep before launch.")

    body = api("finance").get(f"/api/v1/evaluations/{world.evaluation.pk}/").json()

    assert [r["text"] for r in body["recommendations"]] == ["Budget upkeep before launch."]

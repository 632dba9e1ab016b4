"""The admin's verify and reject actions and target form go through the rules, never around them."""

from decimal import Decimal

import pytest
from django.urls import reverse

from evaluations.models import Measurement, MeasurementStatus, PayoutTerms, Target

from .factories import (
    EvaluationFactory,
    IndicatorFactory,
    MeasurementFactory,
    PayoutTermsFactory,
    PersonFactory,
    RecommendationFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_user():
    return PersonFactory(username="admin", is_staff=True, is_superuser=True)


@pytest.fixture
def client(client, admin_user):
    client.force_login(admin_user)
    return client


def act(client, action, measurements, reason=""):
    return client.post(
        reverse("admin:evaluations_measurement_changelist"),
        {
            "action": action,
            "_selected_action": [each.pk for each in measurements],
            "reason": reason,
        },
        follow=True,
    )


def test_every_results_page_opens(client):
    terms = PayoutTermsFactory()
    measurement = MeasurementFactory(indicator=terms.target.indicator)
    recommendation = RecommendationFactory()
    for name, obj in [
        ("indicator", terms.target.indicator),
        ("target", terms.target),
        ("measurement", measurement),
        ("evaluation", recommendation.evaluation),
        ("recommendation", recommendation),
        ("payoutterms", terms),
    ]:
        assert client.get(reverse(f"admin:evaluations_{name}_changelist")).status_code == 200
        assert (
            client.get(reverse(f"admin:evaluations_{name}_change", args=[obj.pk])).status_code
            == 200
        )
        assert (
            client.get(reverse(f"admin:evaluations_{name}_history", args=[obj.pk])).status_code
            == 200
        )


def test_verify_action_verifies_and_releases_the_payout(client):
    terms = PayoutTermsFactory(target__value=Decimal("1000"))
    measurement = MeasurementFactory(indicator=terms.target.indicator, value=Decimal("500"))

    response = act(client, "verify_selected", [measurement])

    assert response.status_code == 200
    assert Measurement.objects.get(pk=measurement.pk).status == MeasurementStatus.VERIFIED
    assert PayoutTerms.objects.get(pk=terms.pk).eligible_amount == Decimal("50000.00")


def test_verify_action_refuses_self_verification(client, admin_user):
    measurement = MeasurementFactory(reported_by=admin_user)

    response = act(client, "verify_selected", [measurement])

    assert "Nobody may verify a measurement they reported" in response.content.decode()
    assert Measurement.objects.get(pk=measurement.pk).status == MeasurementStatus.REPORTED


def test_reject_action_needs_the_reason(client):
    measurement = MeasurementFactory()

    act(client, "reject_selected", [measurement])
    assert Measurement.objects.get(pk=measurement.pk).status == MeasurementStatus.REPORTED

    act(client, "reject_selected", [measurement], reason="Figure not in the registry extract.")
    stored = Measurement.objects.get(pk=measurement.pk)
    assert stored.status == MeasurementStatus.REJECTED
    assert stored.rejection_reason == "Figure not in the registry extract."


def test_target_form_asks_for_a_reason_before_changing_a_target(client):
    target = PayoutTermsFactory().target
    url = reverse("admin:evaluations_target_change", args=[target.pk])
    data = {
        "indicator": target.indicator_id,
        "due_on": "2026-12-31",
        "value": "1500",
        "disaggregation": "",
        "change_reason": "",
    }

    response = client.post(url, data)
    assert response.status_code == 200  # the form again, with the error
    assert "Say why" in response.content.decode()
    assert Target.objects.get(pk=target.pk).value == Decimal("1000")

    response = client.post(url, {**data, "change_reason": "Second province added."})
    assert response.status_code == 302
    assert target.history.first().history_change_reason == "Second province added."


def test_evaluation_inlines_open_under_an_evaluation(client):
    evaluation = EvaluationFactory(relevance=5)
    RecommendationFactory(evaluation=evaluation)
    response = client.get(reverse("admin:evaluations_evaluation_change", args=[evaluation.pk]))
    assert "Agree a maintenance budget before launch." in response.content.decode()


def test_project_page_lists_its_indicators_and_evaluations(client):
    indicator = IndicatorFactory(name="Women holding a digital ID")
    EvaluationFactory(project=indicator.project, kind="final")
    response = client.get(reverse("admin:projects_project_change", args=[indicator.project.pk]))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Women holding a digital ID" in page
    assert "Final" in page


def test_indicator_is_added_with_its_targets_through_the_rules(client):
    project = IndicatorFactory().project
    data = {
        "project": project.pk,
        "code": "OC-2",
        "name": "% of births registered online",
        "level": "outcome",
        "measure": "percentage",
        "direction": "increase",
        "aggregation": "non_cumulative",
        "baseline_value": "12",
        "baseline_date": "2025-01-01",
        "disaggregations": '["location"]',
        "targets-TOTAL_FORMS": "2",
        "targets-INITIAL_FORMS": "0",
        "targets-0-due_on": "2026-12-31",
        "targets-0-value": "60",
        "targets-0-disaggregation": "",
        "targets-1-due_on": "2026-12-31",
        "targets-1-value": "5",  # below the baseline of an increasing indicator
        "targets-1-disaggregation": "location:rural",
    }
    url = reverse("admin:evaluations_indicator_add")

    response = client.post(url, data)
    assert response.status_code == 200
    assert "must be above the baseline" in response.content.decode()
    assert not Target.objects.filter(indicator__code="OC-2").exists()

    response = client.post(url, {**data, "targets-1-value": "45"})
    assert response.status_code == 302
    assert Target.objects.filter(indicator__code="OC-2").count() == 2

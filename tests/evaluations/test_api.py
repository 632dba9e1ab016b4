"""The results API: each write goes through the services, answers with an exact status, and
stores what it says it stored."""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from evaluations import services
from evaluations.models import Evaluation, Indicator, Measurement, MeasurementStatus, PayoutTerms

from .factories import EvaluatorFactory, IndicatorFactory, MeasurementFactory, reported

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(people):
    """api("evaluator") -> a client signed in as that person; api(None) -> anonymous."""

    def client(role):
        client = APIClient()
        if role is not None:
            client.force_authenticate(people[role])
        return client

    return client


def eligible(terms):
    return PayoutTerms.objects.get(pk=terms.pk).eligible_amount


# Reporting


def test_a_reported_measurement_is_stored_with_its_reporter(api, people):
    indicator = IndicatorFactory()

    response = api("evaluator").post(
        "/api/v1/measurements/",
        {
            "indicator": indicator.pk,
            "period_start": "2025-04-01",
            "period_end": "2025-06-30",
            "value": "250",
            "source": "Registry extract",
        },
        format="json",
    )

    assert response.status_code == 201
    stored = Measurement.objects.get(pk=response.json()["id"])
    assert (stored.indicator, stored.value, stored.source) == (
        indicator,
        Decimal("250"),
        "Registry extract",
    )
    assert (stored.status, stored.reported_by) == (MeasurementStatus.SUBMITTED, people["evaluator"])
    assert stored.history.first().history_user == people["evaluator"]


def test_a_bad_report_is_a_400_naming_the_field_and_stores_nothing(api):
    indicator = IndicatorFactory()

    response = api("evaluator").post(
        "/api/v1/measurements/",
        {
            "indicator": indicator.pk,
            "period_start": "2025-04-01",
            "period_end": "2025-03-01",
            "value": "250",
            "source": "Registry extract",
        },
        format="json",
    )

    assert response.status_code == 400
    assert set(response.json()) == {"period_end"}
    assert not Measurement.objects.filter(indicator=indicator).exists()


@pytest.mark.parametrize(("role", "status"), [(None, 401), ("officer", 403), ("finance", 403)])
def test_only_evaluators_and_managers_report(api, role, status):
    indicator = IndicatorFactory()

    response = api(role).post(
        "/api/v1/measurements/",
        {
            "indicator": indicator.pk,
            "period_start": "2025-04-01",
            "period_end": "2025-06-30",
            "value": "250",
            "source": "Registry extract",
        },
        format="json",
    )

    assert response.status_code == status
    assert not Measurement.objects.filter(indicator=indicator).exists()


# Review


def test_an_evaluator_verifies_what_somebody_else_reported(api, people):
    measurement = MeasurementFactory()

    response = api("evaluator").post(f"/api/v1/measurements/{measurement.pk}/verify/")

    assert response.status_code == 200
    stored = Measurement.objects.get(pk=measurement.pk)
    assert (stored.status, stored.verified_by) == (MeasurementStatus.VERIFIED, people["evaluator"])


@pytest.mark.parametrize("action", ["verify", "reject"])
@pytest.mark.parametrize(
    ("role", "status"),
    [(None, 401), ("no_role", 404), ("officer", 403), ("finance", 403), ("reporter", 403)],
)
def test_who_may_not_review_gets_an_exact_refusal(api, people, action, role, status):
    measurement = MeasurementFactory(reported_by=people["evaluator"])
    role = "evaluator" if role == "reporter" else role

    response = api(role).post(
        f"/api/v1/measurements/{measurement.pk}/{action}/", {"reason": "Typo"}, format="json"
    )

    assert response.status_code == status
    stored = Measurement.objects.get(pk=measurement.pk)
    assert (stored.status, stored.verified_by) == (MeasurementStatus.SUBMITTED, None)


def test_the_reporter_is_told_why(api, people):
    measurement = MeasurementFactory(reported_by=people["manager"])

    response = api("manager").post(f"/api/v1/measurements/{measurement.pk}/verify/")

    assert response.status_code == 403
    assert response.json() == {
        "detail": "Nobody may verify, return or reject a measurement they reported or changed."
    }


# Payouts follow


def test_an_indicator_change_moves_its_payouts(api, terms):
    services.verify_measurement(
        reported(terms, "500", "2025-01-01", "2025-03-31"), EvaluatorFactory()
    )
    indicator = terms.target.indicator

    response = api("evaluator").patch(
        f"/api/v1/indicators/{indicator.pk}/", {"baseline_value": "250"}, format="json"
    )

    assert response.status_code == 200
    assert Indicator.objects.get(pk=indicator.pk).baseline_value == Decimal("250")
    assert eligible(terms) == Decimal("33333.33")


def test_deleting_a_verified_measurement_takes_back_its_payout(api, terms):
    measurement = reported(terms, "500", "2025-01-01", "2025-03-31")
    services.verify_measurement(measurement, EvaluatorFactory())
    assert eligible(terms) == Decimal("50000.00")

    response = api("evaluator").delete(f"/api/v1/measurements/{measurement.pk}/")

    assert response.status_code == 204
    assert not Measurement.objects.filter(pk=measurement.pk).exists()
    assert eligible(terms) == Decimal("0.00")


def test_an_officer_deletes_no_measurement(api, terms):
    measurement = reported(terms, "500", "2025-01-01", "2025-03-31")
    services.verify_measurement(measurement, EvaluatorFactory())

    response = api("officer").delete(f"/api/v1/measurements/{measurement.pk}/")

    assert response.status_code == 403
    assert Measurement.objects.filter(pk=measurement.pk).exists()
    assert eligible(terms) == Decimal("50000.00")


# Evaluations


def test_an_evaluation_is_stored_as_sent(api, people):
    indicator = IndicatorFactory()
    firm = people["evaluator"].memberships.get().organisation

    response = api("evaluator").post(
        "/api/v1/evaluations/",
        {
            "project": indicator.project_id,
            "kind": "final",
            "evaluator": firm.pk,
            "completed_on": "2025-11-15",
            "relevance": 5,
            "findings": "Uptake doubled in rural districts.",
        },
        format="json",
    )

    assert response.status_code == 201
    stored = Evaluation.objects.get(pk=response.json()["id"])
    assert (stored.project_id, stored.kind, stored.evaluator, stored.relevance) == (
        indicator.project_id,
        "final",
        firm,
        5,
    )
    assert stored.findings == "Uptake doubled in rural districts."
    assert stored.history.first().history_user == people["evaluator"]


def test_an_evaluation_by_a_firm_that_does_not_evaluate_is_a_400(api, people):
    indicator = IndicatorFactory()
    funder = people["officer"].memberships.get().organisation

    response = api("evaluator").post(
        "/api/v1/evaluations/",
        {"project": indicator.project_id, "kind": "final", "evaluator": funder.pk},
        format="json",
    )

    assert response.status_code == 400
    assert "evaluator" in response.json()
    assert not Evaluation.objects.exists()


def test_a_percentage_too_large_to_store_is_a_400_naming_the_numerator(api):
    # The probe: numerator / denominator overflowed the stored value, a 500
    # ("numeric field overflow"); the page already said 400.
    indicator = IndicatorFactory(measure="percentage")

    response = api("evaluator").post(
        "/api/v1/measurements/",
        {
            "indicator": indicator.pk,
            "period_start": "2025-04-01",
            "period_end": "2025-06-30",
            "numerator": "9999999999999999",
            "denominator": "0.0001",
            "source": "Registry extract",
        },
        format="json",
    )

    assert response.status_code == 400
    assert set(response.json()) == {"numerator"}
    assert not Measurement.objects.filter(indicator=indicator).exists()


def test_a_large_percentage_that_fits_is_stored(api):
    indicator = IndicatorFactory(measure="percentage")

    response = api("evaluator").post(
        "/api/v1/measurements/",
        {
            "indicator": indicator.pk,
            "period_start": "2025-04-01",
            "period_end": "2025-06-30",
            "numerator": "99999999999999",
            "denominator": "1",
            "source": "Registry extract",
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert response.json()["value"] == "9999999999999900.0000"

"""The API of standard indicators, disaggregation dimensions and results across the portfolio."""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from evaluations.models import Indicator, Measurement, StandardIndicator
from tests.factories import PortfolioFactory, ProjectFactory

from .factories import IndicatorFactory, MeasurementFactory, StandardIndicatorFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(people):
    def client(role):
        client = APIClient()
        client.force_authenticate(people[role])
        return client

    return client


def test_a_manager_adds_a_standard_indicator_with_its_references(api):
    portfolio = PortfolioFactory()
    response = api("manager").post(
        "/api/v1/standard-indicators/",
        {
            "portfolio": portfolio.pk,
            "code": "DPS-ID-1",
            "title": "People registered with a digital ID",
            "definition": "Unique people holding an active digital ID.",
            "unit": "people",
            "measure": "number",
            "aggregation": "cumulative",
            "sdg_indicator": "16.9.1",
            "iati_vocabulary": "99",
            "iati_code": "DPS-ID-1",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert StandardIndicator.objects.get().references() == [("9", "16.9.1"), ("99", "DPS-ID-1")]


def test_an_incomplete_iati_reference_is_a_400_naming_the_field(api):
    response = api("manager").post(
        "/api/v1/standard-indicators/",
        {
            "portfolio": PortfolioFactory().pk,
            "code": "X",
            "title": "X",
            "definition": "X",
            "iati_vocabulary": "9",
        },
        format="json",
    )
    assert response.status_code == 400
    assert "iati_code" in response.json()


def test_an_evaluator_does_not_change_the_library(api):
    response = api("evaluator").post(
        "/api/v1/standard-indicators/",
        {"portfolio": PortfolioFactory().pk, "code": "X", "title": "X", "definition": "X"},
        format="json",
    )
    assert response.status_code == 403


def indicator_body(project, standard, **extra):
    return {
        "project": project.pk,
        "code": "OUT-1",
        "level": "output",
        "baseline_value": "0",
        "baseline_date": "2025-01-01",
        "standard": standard.pk,
        **extra,
    }


def test_adopting_a_standard_through_the_api_inherits_its_definition(api):
    standard = StandardIndicatorFactory()
    project = ProjectFactory(portfolio=standard.portfolio)
    response = api("evaluator").post(
        "/api/v1/indicators/", indicator_body(project, standard), format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["definition"] == standard.definition
    assert body["name"] == standard.title
    assert (body["unit"], body["measure"]) == ("people", "number")


def test_contradicting_the_standards_unit_is_a_400_naming_the_field(api):
    standard = StandardIndicatorFactory()
    project = ProjectFactory(portfolio=standard.portfolio)
    response = api("evaluator").post(
        "/api/v1/indicators/",
        indicator_body(project, standard, unit="households", measure="percentage"),
        format="json",
    )
    assert response.status_code == 400
    assert {"unit", "measure"} <= set(response.json())
    assert not Indicator.objects.exists()


def test_a_dimension_round_trips_through_the_api(api):
    project = ProjectFactory()
    manager = api("manager")
    dimension = manager.post(
        "/api/v1/disaggregation-dimensions/",
        {"portfolio": project.portfolio.pk, "code": "device", "name": "Device"},
        format="json",
    ).json()
    value = manager.post(
        "/api/v1/disaggregation-values/",
        {"dimension": dimension["id"], "code": "feature_phone", "name": "Feature phone"},
        format="json",
    )
    assert value.status_code == 201, value.json()
    listed = manager.get(
        f"/api/v1/disaggregation-dimensions/?portfolio={project.portfolio.pk}&code=device"
    ).json()["results"]
    assert listed[0]["values"][0]["code"] == "feature_phone"

    evaluator = api("evaluator")
    indicator = evaluator.post(
        "/api/v1/indicators/",
        {
            "project": project.pk,
            "code": "OUT-9",
            "name": "People using the service",
            "level": "output",
            "baseline_value": "0",
            "baseline_date": "2025-01-01",
            "disaggregations": ["device", "location"],
        },
        format="json",
    )
    assert indicator.status_code == 201, indicator.json()
    measurement = evaluator.post(
        "/api/v1/measurements/",
        {
            "indicator": indicator.json()["id"],
            "period_start": "2025-01-01",
            "period_end": "2025-03-31",
            "value": "12",
            "disaggregation": "location:rural+device:feature_phone",
            "source": "Survey",
        },
        format="json",
    )
    assert measurement.status_code == 201, measurement.json()
    assert measurement.json()["disaggregation"] == "device:feature_phone+location:rural"
    read = evaluator.get(
        "/api/v1/measurements/?disaggregation=device:feature_phone%2Blocation:rural"
    ).json()
    assert read["count"] == 1


def test_an_unknown_category_is_a_400_naming_the_field(api):
    indicator = IndicatorFactory()
    response = api("evaluator").post(
        "/api/v1/measurements/",
        {
            "indicator": indicator.pk,
            "period_start": "2025-01-01",
            "period_end": "2025-03-31",
            "value": "12",
            "disaggregation": "sex:unknown",
            "source": "Survey",
        },
        format="json",
    )
    assert response.status_code == 400
    assert "not a value of the dimension sex" in str(response.json()["disaggregation"])
    assert not Measurement.objects.exists()


def test_results_across_the_portfolio_through_the_api(api):
    standard = StandardIndicatorFactory()
    for value in ("100", "250"):
        indicator = IndicatorFactory(
            project=ProjectFactory(portfolio=standard.portfolio), standard=standard
        )
        MeasurementFactory(indicator=indicator, value=Decimal(value), verified=True)
        MeasurementFactory(
            indicator=indicator, value=Decimal("30"), disaggregation="sex:female", verified=True
        )

    response = api("finance").get(
        f"/api/v1/standard-indicators/{standard.pk}/results/?as_of=2026-01-01"
    )

    assert response.status_code == 200
    body = response.json()
    assert body["adds_up"] is True
    total, women = body["categories"]
    assert (total["category"], total["total"]["value"], total["total"]["projects"]) == (
        "",
        "350",
        2,
    )
    assert (women["label"], women["total"]["value"]) == ("Sex: Female", "60")
    assert len(women["projects"]) == 2


def test_a_bad_as_of_date_is_a_400(api):
    standard = StandardIndicatorFactory()
    response = api("finance").get(f"/api/v1/standard-indicators/{standard.pk}/results/?as_of=soon")
    assert response.status_code == 400
    assert "as_of" in response.json()

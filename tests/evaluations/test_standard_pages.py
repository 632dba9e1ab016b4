"""The standard indicators pages: the library, and results across the portfolio with a chart."""

from decimal import Decimal

import pytest

from tests.factories import ProjectFactory

from .factories import IndicatorFactory, MeasurementFactory, StandardIndicatorFactory

pytestmark = pytest.mark.django_db


def test_the_library_lists_the_standards(client, people):
    standard = StandardIndicatorFactory(code="DPS-ID-1")
    client.force_login(people["finance"])
    body = client.get("/standard-indicators/").content.decode()
    assert "DPS-ID-1" in body and standard.title in body


def test_results_page_shows_totals_by_group_and_a_chart_without_inline_style(client, people):
    standard = StandardIndicatorFactory()
    for value in ("100", "250"):
        indicator = IndicatorFactory(
            project=ProjectFactory(portfolio=standard.portfolio), standard=standard
        )
        MeasurementFactory(indicator=indicator, value=Decimal(value), verified=True)
        MeasurementFactory(
            indicator=indicator, value=Decimal("30"), disaggregation="sex:female", verified=True
        )
    client.force_login(people["finance"])

    response = client.get(f"/standard-indicators/{standard.pk}/")

    body = response.content.decode()
    assert response.status_code == 200
    assert "<svg" in body and "Sex: Female: <strong>60</strong>" in body
    assert "Total: <strong>350</strong>" in body
    assert 'width="100.0"' in body and 'width="17.1"' in body  # 60 of 350
    assert "style=" not in body and "<script>" not in body
    assert "16.9.1" in body


def test_a_median_is_charted_per_project_and_not_added(client, people):
    standard = StandardIndicatorFactory(
        unit="days", aggregation="non_cumulative", across_projects="none"
    )
    for value in ("12", "30"):
        indicator = IndicatorFactory(
            project=ProjectFactory(portfolio=standard.portfolio),
            standard=standard,
            unit="days",
            aggregation="non_cumulative",
        )
        MeasurementFactory(indicator=indicator, value=Decimal(value), verified=True)
    client.force_login(people["finance"])

    body = client.get(f"/standard-indicators/{standard.pk}/").content.decode()

    assert "not added up" in body
    assert "Projects counted" not in body  # no total column

    french = client.get(
        f"/standard-indicators/{standard.pk}/", HTTP_ACCEPT_LANGUAGE="fr"
    ).content.decode()
    # The chart's title and why nothing is added up come from Python, not the template.
    assert "Valeur de chaque projet (non additionnée)" in french
    assert "Les médianes et moyennes de projets différents ne s&#x27;additionnent pas." in french


def test_pages_name_groups_in_the_portfolios_words(client, people):
    indicator = IndicatorFactory(disaggregations=["sex", "location"])
    measurement = MeasurementFactory(
        indicator=indicator, disaggregation="location:rural+sex:female"
    )
    client.force_login(people["other_evaluator"])

    review = client.get(f"/measurements/{measurement.pk}/review/").content.decode()
    queue = client.get("/measurements/review/").content.decode()
    form = client.get(f"/projects/{indicator.project.pk}/measurements/new/").content.decode()

    assert "Urban / rural: Rural, Sex: Female" in review
    assert "Urban / rural: Rural, Sex: Female" in queue
    assert 'value="location:rural+sex:female"' in form
    assert 'value="age_group:under_18"' not in form  # no indicator of the project reports ages

"""Standard indicators and the portfolio's disaggregation dimensions, through the services."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from evaluations import selectors, services
from evaluations.models import (
    AcrossProjects,
    DisaggregationDimension,
    DisaggregationValue,
    Indicator,
    Level,
    Measure,
    Measurement,
)
from tests.evaluations.factories import (
    IndicatorFactory,
    MeasurementFactory,
    StandardIndicatorFactory,
)
from tests.factories import PortfolioFactory, ProjectFactory

pytestmark = pytest.mark.django_db


def adopting(standard, **fields):
    fields.setdefault("project", ProjectFactory(portfolio=standard.portfolio))
    fields.setdefault("code", "OUT-1")
    fields.setdefault("level", Level.OUTPUT)
    fields.setdefault("baseline_value", Decimal("0"))
    fields.setdefault("baseline_date", date(2025, 1, 1))
    return Indicator.adopting(standard, **fields)


def test_a_new_portfolio_has_the_default_dimensions():
    portfolio = PortfolioFactory()
    codes = list(portfolio.disaggregation_dimensions.values_list("code", flat=True))
    assert codes == [
        "sex",
        "age_group",
        "disability",
        "location",
        "region",
        "language",
        "income_quintile",
    ]
    assert set(
        DisaggregationValue.objects.filter(
            dimension__portfolio=portfolio, dimension__code="sex"
        ).values_list("code", flat=True)
    ) == {"female", "male"}


def test_an_adopting_indicator_inherits_the_standards_definition_and_unit(evaluator):
    standard = StandardIndicatorFactory()
    indicator = services.save_indicator(adopting(standard, definition="", unit=""), evaluator)
    indicator.refresh_from_db()
    assert indicator.definition == standard.definition
    assert indicator.unit == "people"
    assert indicator.name == standard.title
    assert indicator.aggregation == standard.aggregation


def test_an_adopting_indicator_cannot_contradict_the_unit(evaluator):
    standard = StandardIndicatorFactory()
    with pytest.raises(ValidationError) as refused:
        services.save_indicator(adopting(standard, unit="households"), evaluator)
    assert "unit" in refused.value.message_dict
    assert not Indicator.objects.exists()


def test_an_adopting_indicator_cannot_contradict_the_measure(evaluator):
    standard = StandardIndicatorFactory()
    with pytest.raises(ValidationError) as refused:
        services.save_indicator(adopting(standard, measure=Measure.PERCENTAGE), evaluator)
    assert "measure" in refused.value.message_dict


def test_a_standard_of_another_portfolio_cannot_be_adopted(evaluator):
    standard = StandardIndicatorFactory()
    with pytest.raises(ValidationError) as refused:
        services.save_indicator(adopting(standard, project=ProjectFactory()), evaluator)
    assert "standard" in refused.value.message_dict


def test_an_indicator_reports_only_the_portfolios_dimensions(evaluator):
    indicator = IndicatorFactory.build(
        project=ProjectFactory(), disaggregations=["sex", "religion"]
    )
    with pytest.raises(ValidationError) as refused:
        services.save_indicator(indicator, evaluator)
    assert "religion" in str(refused.value.message_dict["disaggregations"])


def test_a_dimension_the_portfolio_adds_can_be_reported(evaluator, people):
    project = ProjectFactory()
    dimension = services.save_dimension(
        DisaggregationDimension(portfolio=project.portfolio, code="device", name="Device"),
        people["manager"],
    )
    services.save_dimension_value(
        DisaggregationValue(dimension=dimension, code="feature_phone", name="Feature phone"),
        people["manager"],
    )
    indicator = IndicatorFactory(project=project, disaggregations=["sex", "device"])
    measurement = services.report_measurement(
        Measurement(
            indicator=indicator,
            period_start=date(2025, 1, 1),
            period_end=date(2025, 3, 31),
            value=Decimal("10"),
            disaggregation="sex:female+device:feature_phone",
            source="Survey",
        ),
        evaluator,
    )
    assert measurement.disaggregation == "device:feature_phone+sex:female"


def test_only_managers_change_the_dimensions(evaluator):
    with pytest.raises(Exception, match="portfolio managers"):
        services.save_dimension(
            DisaggregationDimension(portfolio=PortfolioFactory(), code="device", name="Device"),
            evaluator,
        )


def test_a_value_in_use_is_not_deleted(people):
    indicator = IndicatorFactory()
    MeasurementFactory(indicator=indicator, disaggregation="sex:female")
    female = DisaggregationValue.objects.get(
        dimension__portfolio=indicator.project.portfolio, dimension__code="sex", code="female"
    )
    with pytest.raises(ValidationError):
        services.delete_dimension_value(female, people["manager"])
    assert DisaggregationValue.objects.filter(pk=female.pk).exists()


def report(indicator, user, category="", value="100", **fields):
    return services.report_measurement(
        Measurement(
            indicator=indicator,
            period_start=date(2025, 1, 1),
            period_end=date(2025, 3, 31),
            value=None if value is None else Decimal(value),
            disaggregation=category,
            source="Registry",
            **fields,
        ),
        user,
    )


def test_a_part_above_its_total_is_refused_naming_the_cell(evaluator):
    indicator = IndicatorFactory(disaggregations=["sex", "location"])
    report(indicator, evaluator, "", "100")
    report(indicator, evaluator, "sex:female", "60")
    with pytest.raises(ValidationError) as refused:
        report(indicator, evaluator, "sex:male", "50")
    message = str(refused.value.message_dict["value"])
    assert "Sex: Female + Sex: Male add up to 110" in message
    with pytest.raises(ValidationError) as refused:
        report(indicator, evaluator, "location:rural+sex:female", "70")
    assert "Urban / rural: Rural, Sex: Female (70) is above Sex: Female (60)" in str(
        refused.value.message_dict["value"]
    )
    assert Measurement.objects.count() == 2


def test_a_total_below_its_parts_is_refused(evaluator):
    indicator = IndicatorFactory()
    report(indicator, evaluator, "sex:female", "60")
    with pytest.raises(ValidationError) as refused:
        report(indicator, evaluator, "", "50")
    assert "is above Total (50)" in str(refused.value.message_dict["value"])


def test_percentage_parts_are_checked_on_numerator_and_denominator(evaluator):
    indicator = IndicatorFactory(measure=Measure.PERCENTAGE, aggregation="non_cumulative")
    report(indicator, evaluator, "", None, numerator=Decimal(40), denominator=Decimal(100))
    with pytest.raises(ValidationError) as refused:
        report(
            indicator,
            evaluator,
            "sex:female",
            None,
            numerator=Decimal(30),
            denominator=Decimal(120),
        )
    assert "denominator" in refused.value.message_dict


def test_medians_are_not_checked_against_the_total(evaluator):
    standard = StandardIndicatorFactory(
        unit="days", aggregation="non_cumulative", across_projects=AcrossProjects.NOT_ADDED
    )
    indicator = IndicatorFactory(
        project=ProjectFactory(portfolio=standard.portfolio),
        standard=standard,
        unit="days",
        aggregation="non_cumulative",
        disaggregations=["location"],
    )
    report(indicator, evaluator, "", "10")
    rural = report(indicator, evaluator, "location:rural", "25")  # a median may be higher
    assert rural.pk is not None


def test_results_across_the_portfolio_count_only_verified_values():
    standard = StandardIndicatorFactory()
    first, second = (
        IndicatorFactory(project=ProjectFactory(portfolio=standard.portfolio), standard=standard)
        for _ in range(2)
    )
    MeasurementFactory(indicator=first, value=Decimal("100"), verified=True)
    MeasurementFactory(
        indicator=first, value=Decimal("40"), disaggregation="sex:female", verified=True
    )
    MeasurementFactory(indicator=second, value=Decimal("300"), verified=True)
    MeasurementFactory(
        indicator=second,
        value=Decimal("999"),
        period_start=date(2025, 4, 1),
        period_end=date(2025, 6, 30),
    )  # reported, not verified

    found = selectors.results_of(standard, as_of=date(2026, 1, 1))

    assert found.values.totals[""].value == Decimal("400")
    assert found.values.totals["sex:female"].value == Decimal("40")
    assert found.label("sex:female") == "Sex: Female"


def test_results_across_the_portfolio_cost_the_same_queries_for_more_projects():
    standard = StandardIndicatorFactory()

    def adopt(count):
        for _ in range(count):
            indicator = IndicatorFactory(
                project=ProjectFactory(portfolio=standard.portfolio), standard=standard
            )
            MeasurementFactory(indicator=indicator, verified=True)
            MeasurementFactory(indicator=indicator, disaggregation="sex:female", verified=True)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            selectors.results_of(standard, as_of=date(2026, 1, 1))
        return len(captured)

    adopt(2)
    few = queries()
    adopt(6)
    assert queries() == few

"""Writes to the portfolio's results vocabulary: standard indicators, disaggregation dimensions
and their values; and the check that a measurement's parts stay within its total."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from portfolio import access

from .. import disaggregation
from ..models import (
    DEFAULT_DIMENSIONS,
    AcrossProjects,
    DisaggregationDimension,
    DisaggregationValue,
    Indicator,
    Measure,
    Measurement,
    MeasurementStatus,
    StandardIndicator,
    Target,
    category_names,
)


def add_default_dimensions(portfolio):
    """Give a portfolio the default dimensions (and values) it does not have yet."""
    have = set(portfolio.disaggregation_dimensions.values_list("code", flat=True))
    for position, (code, name, values) in enumerate(DEFAULT_DIMENSIONS):
        if code in have:
            continue
        dimension = DisaggregationDimension.objects.create(
            portfolio=portfolio, code=code, name=name, position=position
        )
        DisaggregationValue.objects.bulk_create(
            DisaggregationValue(dimension=dimension, code=value, name=label, position=index)
            for index, (value, label) in enumerate(values)
        )


@transaction.atomic
def save_standard_indicator(standard, user) -> StandardIndicator:
    """Save a new or changed standard indicator; the indicators adopting it must still agree."""
    changed = standard.pk is not None
    access.check(user, access.CHANGE if changed else access.ADD, standard)
    standard._history_user = user
    standard.full_clean()
    if changed:
        adopting = Indicator.objects.filter(standard=standard)
        if adopting.exclude(measure=standard.measure).exists():
            raise ValidationError(
                {"measure": _("Project indicators adopting this standard measure it the old way.")}
            )
        if adopting.exclude(unit=standard.unit).exists():
            raise ValidationError(
                {"unit": _("Project indicators adopting this standard count in the old unit.")}
            )
    standard.save()
    return standard


@transaction.atomic
def save_dimension(dimension, user) -> DisaggregationDimension:
    changed = dimension.pk is not None
    access.check(user, access.CHANGE if changed else access.ADD, dimension)
    if changed:
        stored = DisaggregationDimension.objects.select_for_update().get(pk=dimension.pk)
        if stored.code != dimension.code and dimension_in_use(stored):
            raise ValidationError(
                {
                    "code": _(
                        "Indicators report by this dimension; its code stays (rename it instead)."
                    )
                }
            )
    dimension.full_clean()
    dimension.save()
    return dimension


@transaction.atomic
def save_dimension_value(value, user) -> DisaggregationValue:
    changed = value.pk is not None
    access.check(user, access.CHANGE if changed else access.ADD, value)
    if changed:
        stored = DisaggregationValue.objects.select_for_update().get(pk=value.pk)
        if stored.code != value.code and value_in_use(stored):
            raise ValidationError(
                {
                    "code": _(
                        "Results are recorded for this value; its code stays (rename it instead)."
                    )
                }
            )
    value.full_clean()
    value.save()
    return value


@transaction.atomic
def delete_dimension_value(value, user):
    access.check(user, access.DELETE, value)
    if value_in_use(value):
        raise ValidationError({"code": _("Results or targets are recorded for this value.")})
    value.delete()


@transaction.atomic
def delete_dimension(dimension, user):
    access.check(user, access.DELETE, dimension)
    if dimension_in_use(dimension):
        raise ValidationError({"code": _("Indicators of this portfolio report by this dimension.")})
    dimension.delete()


def dimension_in_use(dimension) -> bool:
    """Do indicators report by this dimension, or results or targets name it?"""
    # Read in Python: not every database looks inside a JSON list.
    chosen = Indicator.objects.filter(project__portfolio_id=dimension.portfolio_id).values_list(
        "disaggregations", flat=True
    )
    return any(dimension.code in (each or []) for each in chosen) or _key_in_use(
        dimension.portfolio_id, f"{dimension.code}:"
    )


def value_in_use(value) -> bool:
    """Do results or targets name this value?"""
    return _key_in_use(value.dimension.portfolio_id, f"{value.dimension.code}:{value.code}")


def _key_in_use(portfolio_id, fragment):
    # A key holds the fragment at its start or after a "+": look for both.
    joined = f"{disaggregation.JOIN}{fragment}"
    for model in (Measurement, Target):
        rows = model.objects.filter(indicator__project__portfolio_id=portfolio_id)
        if rows.filter(disaggregation__startswith=fragment).exists():
            return True
        if rows.filter(disaggregation__contains=joined).exists():
            return True
    return False


def parts_are_checkable(indicator) -> bool:
    """Counts and the numerators and denominators of percentages nest; scores and medians do not."""
    if indicator.measure == Measure.QUALITATIVE:
        return False
    standard = indicator.standard
    return standard is None or standard.across_projects == AcrossProjects.ADD


def check_parts_within_total(measurement):
    """Refuse a measurement whose cell breaks the nesting of its period's cells, naming the cell.

    Rejected and superseded measurements do not count; the others of the same indicator and
    period do, whether verified or still on their way to review.
    """
    indicator = measurement.indicator
    if not parts_are_checkable(indicator):
        return
    siblings = (
        Measurement.objects.filter(
            indicator=indicator,
            period_start=measurement.period_start,
            period_end=measurement.period_end,
        )
        .exclude(status=MeasurementStatus.REJECTED)
        .exclude(superseded_by__isnull=False)
        .exclude(pk=measurement.pk)
    )
    rows = [*siblings, measurement]
    names = None

    def describe(key):
        nonlocal names
        if names is None:
            names = category_names(indicator.project.portfolio_id)
        return disaggregation.label(key, names)

    if indicator.measure == Measure.PERCENTAGE:
        measures = {"numerator": "numerator", "denominator": "denominator"}
    else:
        measures = {"value": "value"}
    for field, attribute in measures.items():
        cells = {row.disaggregation: getattr(row, attribute) for row in rows}
        if any(value is None for value in cells.values()):
            continue
        found = disaggregation.problems_about(
            measurement.disaggregation, disaggregation.part_problems(cells, describe)
        )
        if found:
            prefix = "" if field == "value" else f"{field.capitalize()}s: "
            raise ValidationError({field: [prefix + each.message for each in found]})

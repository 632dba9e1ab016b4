"""Read models of results across the portfolio: what the projects adopting each standard
indicator add up to, from verified measurements only, read in a fixed number of queries; and
what one person may report on (the measurement import template)."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from django.db.models import Prefetch
from django.utils import timezone

from portfolio import access
from portfolio.models import Membership, Portfolio

from . import portfolio_results
from .models import (
    DisaggregationDimension,
    Indicator,
    Measurement,
    StandardIndicator,
    category_label,
    category_names,
)


@dataclass(frozen=True)
class StandardResults:
    standard: StandardIndicator
    values: portfolio_results.PortfolioValues
    indicators: dict  # series name -> the project indicator it comes from
    names: dict  # category key -> words

    def label(self, category):
        return category_label(category, self.names)

    def rows(self):
        """One row per category: its label, the portfolio total, and each project's cell."""
        for category in self.values.categories:
            yield (
                category,
                self.label(category),
                self.values.totals.get(category),
                [(each.name, each.cells.get(category)) for each in self.values.projects],
            )


def standard_results(standards, as_of: date | None = None, projects=None) -> list[StandardResults]:
    """Results across the portfolio for each of ``standards`` (a queryset), as of a date:
    a measurement whose period ends after it does not count yet. ``projects`` (a queryset),
    when given, limits the adopting indicators to those projects (an export's filters)."""
    as_of = as_of or timezone.localdate()
    standards = list(standards)
    verified = Measurement.objects.verified().filter(period_end__lte=as_of)
    indicators = Indicator.objects.filter(standard__in=standards)
    if projects is not None:
        indicators = indicators.filter(project__in=projects.values("pk"))
    indicators = (
        indicators.select_related("project")
        .prefetch_related(Prefetch("measurements", queryset=verified, to_attr="counted"))
        .order_by("project__code", "code")
    )
    by_standard = defaultdict(list)
    for indicator in indicators:
        by_standard[indicator.standard_id].append(indicator)
    names_by_portfolio = {}
    result = []
    for standard in standards:
        if standard.portfolio_id not in names_by_portfolio:
            names_by_portfolio[standard.portfolio_id] = category_names(standard.portfolio_id)
        adopting = by_standard[standard.pk]
        series = [
            portfolio_results.Series(
                name=_name(indicator),
                observations=tuple(each.as_observation() for each in indicator.counted),
            )
            for indicator in adopting
        ]
        result.append(
            StandardResults(
                standard=standard,
                values=portfolio_results.aggregate(standard.rule, series),
                indicators={_name(indicator): indicator for indicator in adopting},
                names=names_by_portfolio[standard.portfolio_id],
            )
        )
    return result


def results_of(standard, as_of=None) -> StandardResults:
    return standard_results(StandardIndicator.objects.filter(pk=standard.pk), as_of)[0]


def _name(indicator):
    return f"{indicator.project.code} {indicator.code}"


def with_review_facts(measurements) -> list:
    """The measurements, each holding its authors and its reporter's organisations (what
    `access.may_verify` reads), in two queries for all of them instead of two per row."""
    measurements = list(measurements)
    history = defaultdict(list)
    rows = (
        Measurement.history.filter(id__in=[m.pk for m in measurements])
        .order_by("id", "history_date", "history_id")
        .values("id", "history_user_id", *Measurement.RECORDED_FIELDS)
    )
    for row in rows:
        history[row["id"]].append(row)
    organisations = defaultdict(set)
    reporters = {m.reported_by_id for m in measurements} - {None}
    for user_id, organisation_id in Membership.objects.filter(user_id__in=reporters).values_list(
        "user_id", "organisation_id"
    ):
        organisations[user_id].add(organisation_id)
    for measurement in measurements:
        measurement.remember_review_facts(
            Measurement.authors_in(measurement.reported_by_id, history[measurement.pk]),
            organisations[measurement.reported_by_id],
        )
    return measurements


def indicators_to_report(user) -> list:
    """The indicators `user` may report measurements on (an implementer: its own
    organisation's projects), by project code and indicator code."""
    found = access.visible(
        user, Indicator.objects.select_related("project").order_by("project__code", "code")
    )
    return [each for each in found if access.may(user, access.ADD, Measurement(indicator=each))]


def dimensions_seen(user):
    """The disaggregation dimensions, with their values, of the portfolios `user` sees."""
    return (
        DisaggregationDimension.objects.filter(
            portfolio__in=access.visible(user, Portfolio.objects.all())
        )
        .select_related("portfolio")
        .prefetch_related("values")
        .order_by("portfolio__name", "position", "code")
    )

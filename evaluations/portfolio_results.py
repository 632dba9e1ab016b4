"""Results across the portfolio: what the projects adopting one standard indicator add up to.

Plain values in, plain values out; the selector loads the verified measurements. For each
project indicator and each disaggregation cell, the value that counts follows the standard's
cumulative rule (`progress.current_value`): the latest period, or the sum of all periods.

The portfolio total of a cell, where adding up is meaningful:

- a number that adds up (people, payments, tickets): the sum of the projects' values;
- a percentage: recomputed from the sum of the numerators over the sum of the denominators,
  never an average of percentages;
- a number that does not add up (a median, an average, a time) and a qualitative score: no
  total; each project's value stands on its own.

Each cell says how many projects it comes from: a total for women from three projects of five
is not the portfolio's women.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.utils.translation import gettext_noop

from .disaggregation import TOTAL
from .progress import CUMULATIVE, IndicatorSpec, Observation, current_value

NUMBER = "number"
PERCENTAGE = "percentage"
QUALITATIVE = "qualitative"

ADD = "add"
NOT_ADDED = "none"

ZERO = Decimal("0")
HUNDRED = Decimal("100")


@dataclass(frozen=True)
class Rule:
    """How one standard indicator's values are counted and combined."""

    measure: str
    aggregation: str
    across_projects: str = ADD

    @property
    def adds_up(self) -> bool:
        return self.measure != QUALITATIVE and self.across_projects == ADD

    def why_not_added(self) -> str:
        """In English, marked for the catalogues: the page says it in the reader's language."""
        if self.measure == QUALITATIVE:
            return gettext_noop("Scores on a scale are not added up across projects.")
        if self.across_projects != ADD:
            return gettext_noop("Medians and averages of different projects are not added up.")
        return ""


@dataclass(frozen=True)
class Series:
    """One project indicator's verified observations, all cells together."""

    name: str
    observations: tuple[Observation, ...]


@dataclass(frozen=True)
class Cell:
    value: Decimal
    numerator: Decimal | None = None
    denominator: Decimal | None = None
    measured_until: date | None = None
    projects: int = 1


@dataclass(frozen=True)
class ProjectValues:
    name: str
    cells: dict  # category -> Cell


@dataclass(frozen=True)
class PortfolioValues:
    rule: Rule
    projects: list[ProjectValues]
    totals: dict = field(default_factory=dict)  # category -> Cell; empty when not added up
    not_added: str = ""

    @property
    def categories(self) -> list[str]:
        """Every cell reported by any project, the total first."""
        found = {category for each in self.projects for category in each.cells}
        return sorted(found, key=lambda category: (category != TOTAL, category))


def project_cell(rule: Rule, observations: Iterable[Observation]) -> Cell | None:
    """The value that counts for one cell of one project, by the standard's cumulative rule."""
    observations = list(observations)
    if not observations:
        return None
    spec = IndicatorSpec(
        direction="increase",
        aggregation=rule.aggregation,
        baseline_value=ZERO,
        baseline_date=date.min,
        is_percentage=rule.measure == PERCENTAGE,
    )
    value = current_value(spec, observations)
    measured_until = max(each.period_end for each in observations)
    if rule.measure != PERCENTAGE:
        return Cell(value=value, measured_until=measured_until)
    if rule.aggregation == CUMULATIVE:
        counted = observations
    else:
        counted = [max(observations, key=lambda each: (each.period_end, each.period_start))]
    return Cell(
        value=value,
        numerator=sum((each.numerator for each in counted), ZERO),
        denominator=sum((each.denominator for each in counted), ZERO),
        measured_until=measured_until,
    )


def project_values(rule: Rule, series: Series) -> ProjectValues:
    by_category = {}
    for each in series.observations:
        by_category.setdefault(each.category, []).append(each)
    cells = {category: project_cell(rule, found) for category, found in by_category.items()}
    return ProjectValues(series.name, cells)


def combine(rule: Rule, cells: list[Cell]) -> Cell:
    """The portfolio total of one category from the projects' cells. Refuses what does not add."""
    if not rule.adds_up:
        raise ValueError(rule.why_not_added())
    measured_until = max(
        (each.measured_until for each in cells if each.measured_until), default=None
    )
    if rule.measure == PERCENTAGE:
        numerator = sum((each.numerator for each in cells), ZERO)
        denominator = sum((each.denominator for each in cells), ZERO)
        value = numerator / denominator * HUNDRED if denominator else ZERO
        return Cell(value, numerator, denominator, measured_until, len(cells))
    return Cell(sum((each.value for each in cells), ZERO), None, None, measured_until, len(cells))


def aggregate(rule: Rule, series: Iterable[Series]) -> PortfolioValues:
    """Each project's values, and the portfolio totals per category where they add up."""
    projects = [project_values(rule, each) for each in series]
    result = PortfolioValues(rule, projects, {}, rule.why_not_added())
    if not rule.adds_up:
        return result
    for category in result.categories:
        cells = [each.cells[category] for each in projects if category in each.cells]
        result.totals[category] = combine(rule, cells)
    return result

"""Coverage of a sustainability plan line by line: which days each cost line is paid for, its
gaps, its cost against the money allocated to it, and the flags that follow. Pure: plain data in,
plain data out, so the rules are tested without a database (like `coverage`).

A line is a category of recurrent cost (hosting, cybersecurity, ...). Its costs are rows, each
an amount a year from a date (`LineCost`); the line is due on the days its rows cover inside
the obligation window. A maintenance tranche pays the lines it has allocations for, over its
cover period; a tranche with no allocation pays every line, as it paid "maintenance" before
plans existed, its money split among the lines in proportion to their cost over its period.

Flags (inside the window only, as for the service-wide kinds; see `coverage`):

- ``line_unfunded``: a line's secured gaps that are not gaps of the whole service (those are
  ``lapsed``, ``at_risk`` or ``unsecured`` already), the first one not over by ``as_of`` per
  line. The flag names every such line with the day its gap starts; its gap is the earliest.
- ``no_handover_plan``: the window ends within ``horizon_months`` of ``as_of`` and a line due
  on its last day has nobody to take it over. The gap starts the day after the window.
- ``closed_within_window``: the project was closed or cancelled while its window runs; the
  gap ends with the window.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property

from dateutil.relativedelta import relativedelta

from . import coverage
from .coverage import ONE_DAY, Flag, Interval, clip, gaps, merge

HANDOVER_HORIZON_MONTHS = 12
CENT = Decimal("0.01")
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class LineCost:
    """One row of a line: its annual cost (in one currency for all rows given together: the
    reporting currency where it is set against tranches) from `start` to `end`; an open end
    runs to the window's edge."""

    category: str
    annual_cost: Decimal = ZERO
    start: date | None = None
    end: date | None = None

    def period(self, window: Interval) -> Interval | None:
        start = max(self.start or window.start, window.start)
        end = min(self.end or window.end, window.end)
        return Interval(start, end) if start <= end else None


@dataclass(frozen=True)
class Allocation:
    """What a tranche gives one line: an amount (reporting currency) or a share in percent."""

    category: str
    amount: Decimal | None = None
    share: Decimal | None = None


@dataclass(frozen=True)
class LineTranche:
    """A maintenance tranche (not cancelled), its amount in the reporting currency."""

    start: date
    end: date
    secured: bool
    amount: Decimal = ZERO
    allocations: tuple[Allocation, ...] = ()

    @property
    def period(self) -> Interval:
        return Interval(self.start, self.end)

    @cached_property
    def _paid(self) -> frozenset[str]:
        return frozenset(a.category for a in self.allocations)

    def pays(self, category: str) -> bool:
        return not self.allocations or category in self._paid


@dataclass
class LineCoverage:
    category: str
    due: list[Interval]  # the days the line costs money, inside the window
    secured: list[Interval]  # of those, the days paid by signed tranches
    pipeline: list[Interval]  # the days paid by signed or planned tranches
    gaps: list[Interval]  # due days with no signed money
    months: list["LineMonth"] = field(default_factory=list)


@dataclass(frozen=True)
class LineMonth:
    """One cell of the line x month grid: what most of the month's due days are."""

    month: date
    state: str  # "funded", "planned", "gap" or "none" (not due that month)


@dataclass(frozen=True)
class LineYear:
    """A line's cost and secured money over one calendar year of the window (pro rata by days)."""

    category: str
    year: int
    cost: Decimal
    secured: Decimal

    @property
    def shortfall(self) -> Decimal:
        return max(self.cost - self.secured, ZERO)


def categories(costs: Iterable[LineCost]) -> list[str]:
    """The plan's lines, in the order they were first given."""
    return list(dict.fromkeys(cost.category for cost in costs))


def due(window: Interval, costs: Iterable[LineCost], category: str) -> list[Interval]:
    periods = [c.period(window) for c in costs if c.category == category]
    return merge(p for p in periods if p is not None)


def intersect(first: list[Interval], second: list[Interval]) -> list[Interval]:
    """Days in both of two merged, sorted lists of intervals."""
    if len(second) == 1:
        # Most lines are due over one period (the window): clipping a merged list to it keeps
        # it merged, with no pairs to try or merge again.
        return clip(first, second[0])
    found = []
    for a in first:
        for b in second:
            start, end = max(a.start, b.start), min(a.end, b.end)
            if start <= end:
                found.append(Interval(start, end))
    return merge(found)


def subtract(intervals: list[Interval], removed: list[Interval]) -> list[Interval]:
    """Days of `intervals` (merged) outside `removed`."""
    found = []
    for interval in intervals:
        found += gaps(interval, removed) if removed else [interval]
    return found


def line_coverage(
    window: Interval, costs: Iterable[LineCost], tranches: Iterable[LineTranche]
) -> list[LineCoverage]:
    """Per line: the days it is due, paid for (secured, pipeline) and left as gaps. For each
    line, secured and gaps exactly partition its due days."""
    costs, tranches = list(costs), list(tranches)
    # Lines due on the same days and paid by the same tranches share their coverage (most
    # lines of a plan, where tranches pay the whole plan): worked out once.
    worked_out = {}
    result = []
    whole_window = all(c.start is None and c.end is None for c in costs)
    for category in categories(costs):
        line_due = [window] if whole_window else due(window, costs, category)
        paying = tuple(n for n, t in enumerate(tranches) if t.pays(category))
        key = (tuple(line_due), paying)
        if key not in worked_out:
            paid = [tranches[n] for n in paying]
            secured = intersect(merge(t.period for t in paid if t.secured), line_due)
            pipeline = intersect(merge(t.period for t in paid), line_due)
            worked_out[key] = (secured, pipeline, subtract(line_due, secured))
        secured, pipeline, line_gaps = worked_out[key]
        result.append(
            LineCoverage(
                category=category,
                due=line_due,
                secured=list(secured),
                pipeline=list(pipeline),
                gaps=list(line_gaps),
            )
        )
    return result


def same_as_service(costs: Iterable[LineCost], tranches: Iterable[LineTranche]) -> bool:
    """Whether every line is due the whole window and every tranche pays the whole plan: then
    each line is covered exactly as the service is, and no line can be unfunded on its own."""
    return all(c.start is None and c.end is None for c in costs) and not any(
        t.allocations for t in tranches
    )


def cost_over(costs: Iterable[LineCost], category: str | None, period: Interval) -> Decimal:
    """What a line (every line when `category` is None) costs over `period`, pro rata by days
    (a year is 365 days), unrounded."""
    total = Decimal(0)
    for cost in costs:
        if category is not None and cost.category != category:
            continue
        start = max(cost.start or period.start, period.start)
        end = min(cost.end or period.end, period.end)
        if start <= end:
            total += cost.annual_cost * ((end - start).days + 1) / coverage.DAYS_PER_YEAR
    return total


def money_for(
    tranche: LineTranche, category: str, costs: Iterable[LineCost], plan_cost=None
) -> Decimal:
    """What a tranche gives a line over its whole cover period, unrounded. `plan_cost`, when
    the caller has it: what every line costs over the tranche's period (`cost_over`)."""
    if tranche.allocations:
        for allocation in tranche.allocations:
            if allocation.category == category:
                if allocation.amount is not None:
                    return allocation.amount
                return tranche.amount * (allocation.share or 0) / 100
        return Decimal(0)
    # A whole-plan tranche is shared in proportion to what each line costs over its period.
    costs = list(costs)
    period = tranche.period
    total = cost_over(costs, None, period) if plan_cost is None else plan_cost
    if total == 0:
        return Decimal(0)
    return tranche.amount * cost_over(costs, category, period) / total


def money_over(
    tranches: Iterable[LineTranche], costs: Iterable[LineCost], category: str, period: Interval
) -> Decimal:
    """Secured money a line has for `period`: each signed tranche's money for it, times the
    share of the tranche's days that fall in the period."""
    costs = list(costs)
    signed = _signed(tranches)
    return _spread(_line_money(signed, costs, category, _plan_costs(signed, costs)), period)


def _signed(tranches: Iterable[LineTranche]) -> list[LineTranche]:
    """The signed tranches in a fixed order, so a sum is identical however the caller ordered
    them."""
    return sorted((t for t in tranches if t.secured), key=lambda t: (t.start, t.end, t.amount))


def _plan_costs(signed: list[LineTranche], costs: list[LineCost]) -> list:
    """What every line costs over each whole-plan tranche's period (None for a tranche with
    allocations): the same for every line, so worked out once."""
    return [None if t.allocations else cost_over(costs, None, t.period) for t in signed]


def _line_money(signed: list[LineTranche], costs: list[LineCost], category: str, plan_costs):
    """(cover period, money for the line) of each of the signed tranches."""
    return [
        (t.period, money_for(t, category, costs, plan_cost))
        for t, plan_cost in zip(signed, plan_costs, strict=True)
    ]


def _spread(money: list[tuple[Interval, Decimal]], period: Interval) -> Decimal:
    total = Decimal(0)
    for paid_for, amount in money:
        overlap = _overlap_days(paid_for, period)
        if overlap:
            total += amount * overlap / paid_for.days()
    return total


def yearly(
    window: Interval, costs: Iterable[LineCost], tranches: Iterable[LineTranche]
) -> list[LineYear]:
    """Cost and secured money per line per calendar year of the window, in cents (half up)."""
    costs = list(costs)
    signed = _signed(tranches)
    plan_costs = _plan_costs(signed, costs)
    found = []
    for category in categories(costs):
        own = [cost for cost in costs if cost.category == category]
        money = _line_money(signed, costs, category, plan_costs)  # once a line, not a year
        for year in range(window.start.year, window.end.year + 1):
            period = Interval(
                max(date(year, 1, 1), window.start), min(date(year, 12, 31), window.end)
            )
            found.append(
                LineYear(
                    category,
                    year,
                    _cents(cost_over(own, category, period)),
                    _cents(_spread(money, period)),
                )
            )
    return found


def months(line: LineCoverage, first_month: date, count: int) -> list[LineMonth]:
    """The line x month grid row: a month is a gap when any due day of it has no money at all,
    planned when some due day is paid only by planned money, else funded."""
    found = []
    for month in coverage.calendar_months(first_month, count):
        due_days = _days(intersect(line.due, [month]))
        if not due_days:
            state = "none"
        elif _days(intersect(line.pipeline, [month])) < due_days:
            state = "gap"
        elif _days(intersect(line.secured, [month])) < due_days:
            state = "planned"
        else:
            state = "funded"
        found.append(LineMonth(month.start, state))
    return found


def unfunded_flag(
    window: Interval, lines: list[LineCoverage], service_gaps: list[Interval], as_of: date
) -> Flag | None:
    if not window.contains(as_of):
        return None
    found = []
    for line in lines:
        if line.gaps == service_gaps:
            continue  # the service's own gaps: lapsed, at_risk or unsecured say so already
        for gap in subtract(line.gaps, service_gaps):
            if gap.end >= as_of:
                found.append((gap.start, gap.end, line.category))
                break
    if not found:
        return None
    found.sort()
    start, end, _ = found[0]
    names = "; ".join(f"{_words(category)} from {day.isoformat()}" for day, _, category in found)
    return Flag(coverage.LINE_UNFUNDED, start, end, (start - as_of).days, lines=names)


def without_successor(
    window: Interval,
    costs: Iterable[LineCost],
    successors: dict[str, bool],
    as_of: date,
    horizon_months: int = HANDOVER_HORIZON_MONTHS,
) -> list[str]:
    """The lines nobody takes over, when the window ends within the horizon (inside it only):
    those due on its last day. `successors`: line -> whether somebody takes it over."""
    if not window.contains(as_of) or (window.end - as_of).days > 31 * horizon_months:
        return []  # the quick answer for most windows, before the calendar arithmetic
    if window.end >= as_of + relativedelta(months=horizon_months):
        return []
    costs = list(costs)
    return [
        category
        for category in categories(costs)
        if not successors.get(category)
        and any(p.contains(window.end) for p in due(window, costs, category))
    ]


def handover_flag(
    window: Interval,
    costs: Iterable[LineCost],
    successors: dict[str, bool],
    as_of: date,
    horizon_months: int = HANDOVER_HORIZON_MONTHS,
) -> Flag | None:
    missing = without_successor(window, costs, successors, as_of, horizon_months)
    if not missing:
        return None
    after = window.end + ONE_DAY
    return Flag(
        coverage.NO_HANDOVER_PLAN,
        after,
        None,
        (after - as_of).days,
        lines=", ".join(_words(category) for category in missing),
    )


def closed_flag(window: Interval, as_of: date) -> Flag | None:
    """For a project closed or cancelled: a flag while its window still runs."""
    if not window.contains(as_of):
        return None
    return Flag(coverage.CLOSED_WITHIN_WINDOW, None, window.end, 0)


def _words(category: str) -> str:
    return category.replace("_", " ")


def _overlap_days(first: Interval, second: Interval) -> int:
    start = max(first.start, second.start)
    end = min(first.end, second.end)
    return max((end - start).days + 1, 0)


def _days(intervals: list[Interval]) -> int:
    return sum(each.days() for each in intervals)


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)

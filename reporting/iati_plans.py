"""A project's money over time as IATI reports it: planned disbursements and budgets by year.

Pure: it takes plain tranche figures, a sustainability plan's cost rows and a date, so the rules
are tested without a database. This is the one place where the IATI file's forward money is
worked out; what a plan's line costs in a year is `funding.lines`' rule, used here as it is.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from funding import lines
from funding.coverage import Interval

CENT = Decimal("0.01")
ZERO = Decimal("0.00")

# BudgetType (also the type of a planned disbursement) and BudgetStatus codes.
ORIGINAL, REVISED = "1", "2"
INDICATIVE, COMMITTED = "1", "2"


@dataclass(frozen=True)
class TrancheMoney:
    """What the plans need to know of one tranche (not cancelled)."""

    key: object  # handed back untouched, so the caller knows which tranche a line is for
    amount: Decimal
    currency: str
    committed: bool  # signed on or before the day of the report
    undisbursed: Decimal  # what is still to pay on that day
    planned_on: date | None  # expected disbursement, else signature, else unknown
    covers: tuple[date, date] | None = None  # maintenance: the service period it pays for
    maintenance: bool = False  # pays the service's recurrent cost, which a plan budgets


@dataclass(frozen=True)
class PlanCost:
    """One row of a sustainability plan: a line's cost a year in its own currency, from `start`
    to `end` (open ends run to the edges of the obligation window)."""

    category: str
    annual_cost: Decimal
    currency: str
    start: date | None = None
    end: date | None = None


@dataclass(frozen=True)
class Plan:
    """A launched service's sustainability plan: its cost rows over its obligation window."""

    window: Interval
    costs: tuple[PlanCost, ...]

    @property
    def years(self) -> range:
        """The calendar years the plan covers: those its window touches (as the workbook's
        Sustainability sheet has them); none for a plan without a cost."""
        if not self.costs:
            return range(0)
        return range(self.window.start.year, self.window.end.year + 1)


@dataclass(frozen=True)
class PlannedDisbursement:
    key: object
    type: str  # ORIGINAL or REVISED
    period_start: date
    period_end: date
    value_date: date
    amount: Decimal
    currency: str
    defines: bool  # the first line of its tranche (an import reads the tranche from it)


@dataclass(frozen=True)
class Budget:
    period_start: date
    period_end: date
    status: str  # INDICATIVE or COMMITTED
    currency: str
    amount: Decimal

    type = ORIGINAL

    @property
    def value_date(self):
        return self.period_start


def quarter(day: date) -> tuple[date, date]:
    """The calendar quarter holding `day`: IATI's usual period for a planned disbursement."""
    first_month = 3 * ((day.month - 1) // 3) + 1
    start = date(day.year, first_month, 1)
    if first_month == 10:
        end = date(day.year, 12, 31)
    else:
        end = date(day.year, first_month + 3, 1) - timedelta(days=1)
    return start, end


def planned_disbursements(tranches, today: date) -> list[PlannedDisbursement]:
    """When each tranche's money was and is expected.

    - The plan: the whole amount in the quarter of the expected disbursement date, valued at
      that date (type Original). A plan whose quarter has passed stays in that quarter, so a
      reader sees a past plan as past, next to the disbursements that followed it.
    - What a passed plan left unpaid is expected now: a Revised line for the current quarter,
      valued today (the date undisbursed money is converted at).
    - A tranche with no date at all is expected from now: one Original line for this quarter.
    """
    lines = []
    for tranche in tranches:
        own = []
        if tranche.planned_on is not None:
            start, end = quarter(tranche.planned_on)
            own.append((ORIGINAL, start, end, tranche.planned_on, tranche.amount))
            if end < today and tranche.undisbursed > 0:
                now_start, now_end = quarter(today)
                own.append((REVISED, now_start, now_end, today, tranche.undisbursed))
        elif tranche.undisbursed > 0:
            start, end = quarter(today)
            own.append((ORIGINAL, start, end, today, tranche.undisbursed))
        for number, (kind, start, end, valued_on, amount) in enumerate(own):
            lines.append(
                PlannedDisbursement(
                    tranche.key, kind, start, end, valued_on, amount, tranche.currency, number == 0
                )
            )
    lines.sort(key=lambda line: (line.period_start, line.type, line.value_date))
    return lines


def budgets(tranches, today: date, plan: Plan | None = None) -> list[Budget]:
    """The project's budget per calendar year, per status and currency.

    Committed tranches make committed budgets and planned ones indicative budgets, each in the
    tranche's own currency (IATI values carry their currency; nothing is converted here). A
    maintenance tranche pays for its service period, so its amount is spread over the years of
    that period in proportion to the days; any other tranche counts in the year it is expected
    to be paid (this year when no date is known).

    A launched service with a sustainability plan (issue 21): in the years the plan covers,
    the service's recurrent cost is the plan's cost of the year, per currency, in place of the
    maintenance tranches' money for the days of its window (that money pays the cost; counting
    both would count it twice). What maintenance pays outside the window (before the launch,
    after the handover) and the other tranches (the launch, capacity, results-based payments)
    are not the plan's and count as before. Years outside the plan are the tranches' alone, so
    a project without a plan has exactly the budgets it had before plans existed.
    """
    plan_years = set(plan.years) if plan is not None else set()
    totals = defaultdict(lambda: ZERO)
    for tranche in tranches:
        status = COMMITTED if tranche.committed else INDICATIVE
        for year, amount in _by_year(tranche, today):
            if tranche.maintenance and year in plan_years:
                amount = _outside(tranche.covers, year, plan.window, amount)
            totals[(year, status, tranche.currency)] += amount
    if plan is not None:
        # Indicative: a plan is the service's estimate of what it will cost, which nobody has
        # signed to pay. The signed money that pays it is reported as commitments and planned
        # disbursements; showing the part of each year it pays as committed would mean
        # converting tranches into the plan's currencies, which the file does not do.
        for (year, currency), cost in plan_cost(plan).items():
            totals[(year, INDICATIVE, currency)] += cost
    return [
        Budget(date(year, 1, 1), date(year, 12, 31), status, currency, amount)
        for (year, status, currency), amount in sorted(totals.items())
        if amount > 0
    ]


def plan_cost(plan: Plan) -> dict[tuple[int, str], Decimal]:
    """The plan's cost per calendar year it covers and currency: each line's cost of the year as
    the Sustainability sheet has it (`funding.lines.yearly`: pro rata by days inside the window,
    to the cent), added up over the lines of that currency."""
    found = defaultdict(lambda: ZERO)
    for currency in sorted({cost.currency for cost in plan.costs}):
        rows = [
            lines.LineCost(cost.category, cost.annual_cost, cost.start, cost.end)
            for cost in plan.costs
            if cost.currency == currency
        ]
        for line_year in lines.yearly(plan.window, rows, ()):
            found[(line_year.year, currency)] += line_year.cost
    return dict(found)


def _outside(covers, year, window: Interval, amount: Decimal) -> Decimal:
    """What of a maintenance tranche's money for `year` pays days outside the plan's window,
    by days, to the cent; none of it when no cover period says which days it pays."""
    if covers is None:
        return ZERO
    start, end = max(covers[0], date(year, 1, 1)), min(covers[1], date(year, 12, 31))
    inside = (min(end, window.end) - max(start, window.start)).days + 1
    if inside <= 0:
        return amount
    covered = (end - start).days + 1
    return (amount * (covered - inside) / covered).quantize(CENT, rounding=ROUND_HALF_UP)


def _by_year(tranche, today):
    if tranche.covers is None:
        return [((tranche.planned_on or today).year, tranche.amount)]
    first, last = tranche.covers
    days = (last - first).days + 1
    shares = []
    for year in range(first.year, last.year + 1):
        start, end = max(first, date(year, 1, 1)), min(last, date(year, 12, 31))
        shares.append((year, (end - start).days + 1))
    # Each year its share of the days, rounded half-up; the last year takes what rounding
    # left, so the years add up to the amount exactly.
    spread, given = [], ZERO
    for year, covered in shares[:-1]:
        part = (tranche.amount * covered / days).quantize(CENT, rounding=ROUND_HALF_UP)
        spread.append((year, part))
        given += part
    spread.append((shares[-1][0], tranche.amount - given))
    return spread

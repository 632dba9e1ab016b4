"""Which days of a launched project's obligation window are paid for, and which lapse flags follow.

All intervals are inclusive of both ends. Secured coverage comes from committed or
disbursed maintenance tranches; pipeline coverage adds planned ones. Cancelled tranches
are never passed in.

Flags are raised only when ``as_of`` lies inside the obligation window; before launch
or once the window has ended ``assess`` still works out coverage and gaps but raises
nothing. The caller leaves out projects that are not launched.

- ``lapsed``: ``as_of`` is not in secured coverage. The flag names the gap that contains
  ``as_of`` (never beyond the window end); ``days_to_lapse`` is zero or negative.
- Otherwise, take the first secured gap that starts after ``as_of``. When there is one
  and ``0 < days_to_lapse <= warning_days`` (reaching the horizon exactly counts):
  ``unsecured`` if planned tranches cover the whole gap, else ``at_risk``. Nothing when
  the gap is farther away, or when secured coverage runs to the window end.
  So ``lapsed``, ``at_risk`` and ``unsecured`` exclude one another.
- ``no_maintenance``: the project has no maintenance tranche that is not cancelled.
  The flag names the whole window. It comes on top of the others, since such a
  project has also lapsed.
- ``underfunded``: only for a service with a sustainability plan (``plan_cost`` given). The
  next 12 months are ``as_of`` up to a year later less one day, cut at the window end. The
  need is what the plan costs over that period (``plan_cost``: ``funding.lines.cost_over``
  of its lines, pro rata by days over 365). Secured money is each funded period's amount
  times the share of its days that fall in that period. Both are rounded to cents (half up)
  before they are compared; when the money falls short the flag names that period,
  ``days_to_lapse`` is 0 and ``shortfall`` is need minus money.

Flags come in that order: the lapse flag, then ``no_maintenance``, then ``underfunded``.

This module is also the one home of three rules every door shows: the obligation window
(``obligation_window``; its last day is ``projects.obligation``'s, which the project's page
reads too), how long maintenance is secured (``secured_until``) and the kinds of flag with
their urgency and escalation (``FLAG_KINDS``).
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from dateutil.relativedelta import relativedelta
from django.utils.translation import gettext_noop

from projects import obligation

LAPSED = "lapsed"
AT_RISK = "at_risk"
UNSECURED = "unsecured"
NO_MAINTENANCE = "no_maintenance"
UNDERFUNDED = "underfunded"
DISBURSEMENT_OVERDUE = "disbursement_overdue"  # raised by the scan from expected payment dates
REPAYMENT_OVERDUE = "repayment_overdue"  # raised by the scan from loans in arrears (funding.loans)
# Sustainability plans (funding/lines.py): per cost line, and a service closed too early.
LINE_UNFUNDED = "line_unfunded"
NO_HANDOVER_PLAN = "no_handover_plan"
CLOSED_WITHIN_WINDOW = "closed_within_window"

ONE_DAY = timedelta(days=1)
DAYS_PER_YEAR = 365
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Interval:
    start: date
    end: date

    def __post_init__(self):
        if self.start > self.end:
            raise ValueError(f"interval starts {self.start} after it ends {self.end}")

    def days(self) -> int:
        return (self.end - self.start).days + 1

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end


@dataclass(frozen=True)
class FundedPeriod:
    """A secured maintenance tranche, its amount already in the reporting currency."""

    start: date
    end: date
    amount: Decimal

    def __post_init__(self):
        if self.start > self.end:
            raise ValueError(f"funded period starts {self.start} after it ends {self.end}")


@dataclass(frozen=True)
class Flag:
    kind: str
    gap_start: date | None
    gap_end: date | None
    days_to_lapse: int
    shortfall: Decimal | None = None
    lines: str = ""  # the cost lines concerned, in words ("cybersecurity from 2026-03-01")


@dataclass(frozen=True)
class Assessment:
    window: Interval
    secured: list[Interval]
    pipeline: list[Interval]
    gaps: list[Interval]
    next_gap: Interval | None
    days_to_lapse: int | None
    flags: list[Flag]


@dataclass(frozen=True)
class FlagKindRule:
    """One kind of lapse flag: its code, its label, how urgent it is and what it escalates to."""

    value: str
    label: str
    urgency: int  # 0 first: a lapse now, then lapses to come, then money matters
    # When a flag of this kind is open and the scan raises `escalates_to` in its place, the
    # new flag is announced as an escalation rather than as news.
    escalates_to: str | None = None


# Every kind of flag, in the order the database has always listed them; `urgency` orders them
# for people (dashboard, API, workbook, digests).
FLAG_KINDS = (
    FlagKindRule(LAPSED, gettext_noop("Lapsed"), urgency=0),
    FlagKindRule(AT_RISK, gettext_noop("At risk"), urgency=2, escalates_to=LAPSED),
    FlagKindRule(UNSECURED, gettext_noop("Unsecured"), urgency=3, escalates_to=LAPSED),
    FlagKindRule(NO_MAINTENANCE, gettext_noop("No maintenance funding"), urgency=1),
    FlagKindRule(UNDERFUNDED, gettext_noop("Underfunded"), urgency=4),
    FlagKindRule(DISBURSEMENT_OVERDUE, gettext_noop("Disbursement overdue"), urgency=5),
    FlagKindRule(REPAYMENT_OVERDUE, gettext_noop("Repayment overdue"), urgency=6),
    FlagKindRule(LINE_UNFUNDED, gettext_noop("Cost line unfunded"), urgency=2),
    FlagKindRule(NO_HANDOVER_PLAN, gettext_noop("No handover plan"), urgency=4),
    FlagKindRule(CLOSED_WITHIN_WINDOW, gettext_noop("Closed within its window"), urgency=1),
)
_KIND = {kind.value: kind for kind in FLAG_KINDS}


def flag_urgency(kind: str) -> int:
    """How urgent a kind of flag is: 0 is the most urgent; an unknown kind comes last."""
    found = _KIND.get(kind)
    return found.urgency if found is not None else len(FLAG_KINDS)


def by_urgency(kinds: Iterable[str]) -> list[str]:
    """Flag kinds, most urgent first."""
    return sorted(kinds, key=flag_urgency)


def escalates_to(kind: str) -> str | None:
    """The kind that, raised in place of an open flag of `kind`, is an escalation."""
    found = _KIND.get(kind)
    return found.escalates_to if found is not None else None


@dataclass(frozen=True)
class MonthCoverage:
    month: date
    secured_days: int
    pipeline_only_days: int
    uncovered_days: int
    outside_window_days: int


def obligation_window(launch_date: date, sustainability_months: int) -> Interval:
    """From launch to the last day the service must stay funded (projects.obligation)."""
    return Interval(launch_date, obligation.obligation_end(launch_date, sustainability_months))


def secured_until(assessment: Assessment, as_of: date) -> date | None:
    """The last day of secured maintenance running unbroken from `as_of` (from the window start
    when the service has not launched yet); None when that day itself is not secured."""
    gap = assessment.next_gap
    if gap is None:
        return assessment.secured[-1].end if assessment.secured else None
    if gap.start <= as_of or gap.start == assessment.window.start:
        return None
    return gap.start - ONE_DAY


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for interval in sorted(intervals, key=lambda each: (each.start, each.end)):
        # Touching intervals merge too: paid until 31 Jan and from 1 Feb leaves no gap.
        if merged and (interval.start - merged[-1].end).days <= 1:
            last = merged[-1]
            merged[-1] = Interval(last.start, max(last.end, interval.end))
        else:
            merged.append(interval)
    return merged


def clip(intervals: Iterable[Interval], window: Interval) -> list[Interval]:
    clipped = []
    for interval in intervals:
        start = max(interval.start, window.start)
        end = min(interval.end, window.end)
        if start <= end:
            clipped.append(Interval(start, end))
    return clipped


def gaps(window: Interval, coverage: Iterable[Interval]) -> list[Interval]:
    found = []
    first_uncovered = window.start
    for covered in clip(merge(coverage), window):
        if first_uncovered < covered.start:
            found.append(Interval(first_uncovered, covered.start - ONE_DAY))
        if covered.end == window.end:
            return found
        first_uncovered = covered.end + ONE_DAY
    found.append(Interval(first_uncovered, window.end))
    return found


def assess(
    window: Interval,
    secured: Iterable[Interval],
    planned: Iterable[Interval],
    as_of: date,
    *,
    warning_days: int = 90,
    has_maintenance: bool = True,
    plan_cost: Callable[[Interval], Decimal] | None = None,
    funded: Iterable[FundedPeriod] = (),
) -> Assessment:
    """`plan_cost`: what the service's plan costs over a period (reporting currency), or None
    for a service without a plan."""
    # Callers may pass generators, and secured intervals are read twice.
    secured = list(secured)
    secured_coverage = clip(merge(secured), window)
    pipeline_coverage = clip(merge([*secured, *planned]), window)
    secured_gaps = gaps(window, secured_coverage)
    next_gap = _next_gap(secured_gaps, as_of)
    days_to_lapse = None if next_gap is None else (next_gap.start - as_of).days

    flags = []
    if window.contains(as_of):
        lapse = _lapse_flag(next_gap, as_of, pipeline_coverage, warning_days)
        if lapse is not None:
            flags.append(lapse)
        if not has_maintenance:
            flags.append(
                Flag(NO_MAINTENANCE, window.start, window.end, (window.start - as_of).days)
            )
        if plan_cost is not None:
            underfunded = _underfunded_flag(window, as_of, plan_cost, funded)
            if underfunded is not None:
                flags.append(underfunded)

    return Assessment(
        window=window,
        secured=secured_coverage,
        pipeline=pipeline_coverage,
        gaps=secured_gaps,
        next_gap=next_gap,
        days_to_lapse=days_to_lapse,
        flags=flags,
    )


def forecast(
    window: Interval,
    secured: Iterable[Interval],
    planned: Iterable[Interval],
    first_month: date,
    months: int = 24,
) -> list[MonthCoverage]:
    secured = list(secured)
    secured_coverage = clip(merge(secured), window)
    pipeline_coverage = clip(merge([*secured, *planned]), window)
    result = []
    for month in calendar_months(first_month, months):
        window_days = _overlap_days(month, window)
        secured_days = _covered_days(secured_coverage, month)
        pipeline_days = _covered_days(pipeline_coverage, month)
        result.append(
            MonthCoverage(
                month=month.start,
                secured_days=secured_days,
                # Pipeline coverage includes secured coverage, so the difference is planned only.
                pipeline_only_days=pipeline_days - secured_days,
                uncovered_days=window_days - pipeline_days,
                outside_window_days=month.days() - window_days,
            )
        )
    return result


@lru_cache(maxsize=64)
def calendar_months(first_month: date, months: int) -> tuple[Interval, ...]:
    """The calendar months from the one holding `first_month`, each first to last day.
    Cached: an export forecasts every launched project over the same months, and month
    arithmetic is most of the cost of a forecast."""
    first_day = first_month.replace(day=1)
    found = []
    for offset in range(months):
        start = first_day + relativedelta(months=offset)
        found.append(Interval(start, start + relativedelta(months=1) - ONE_DAY))
    return tuple(found)


def _next_gap(sorted_gaps: list[Interval], as_of: date) -> Interval | None:
    # Gaps are sorted and disjoint, so the first one not over yet either holds as_of
    # or is the next to come.
    for gap in sorted_gaps:
        if gap.end >= as_of:
            return gap
    return None


def _lapse_flag(
    next_gap: Interval | None,
    as_of: date,
    pipeline_coverage: list[Interval],
    warning_days: int,
) -> Flag | None:
    if next_gap is None:
        return None
    days_to_lapse = (next_gap.start - as_of).days
    if days_to_lapse <= 0:
        return Flag(LAPSED, next_gap.start, next_gap.end, days_to_lapse)
    if days_to_lapse > warning_days:
        return None
    # Pipeline coverage is merged, so one interval holds the whole gap or none does.
    planned_for = any(
        covered.start <= next_gap.start and next_gap.end <= covered.end
        for covered in pipeline_coverage
    )
    kind = UNSECURED if planned_for else AT_RISK
    return Flag(kind, next_gap.start, next_gap.end, days_to_lapse)


def _underfunded_flag(
    window: Interval,
    as_of: date,
    plan_cost: Callable[[Interval], Decimal],
    funded: Iterable[FundedPeriod],
) -> Flag | None:
    year_end = min(as_of + relativedelta(years=1) - ONE_DAY, window.end)
    next_year = Interval(as_of, year_end)
    need = plan_cost(next_year)

    money = Decimal(0)
    # A fixed order keeps the sum identical however the caller ordered the periods.
    for period in sorted(funded, key=lambda each: (each.start, each.end, each.amount)):
        paid_for = Interval(period.start, period.end)
        overlap = _overlap_days(paid_for, next_year)
        if overlap:
            money += period.amount * overlap / paid_for.days()

    need = need.quantize(CENT, rounding=ROUND_HALF_UP)
    money = money.quantize(CENT, rounding=ROUND_HALF_UP)
    if money >= need:
        return None
    return Flag(UNDERFUNDED, next_year.start, next_year.end, 0, shortfall=need - money)


def _overlap_days(first: Interval, second: Interval) -> int:
    start = max(first.start, second.start)
    end = min(first.end, second.end)
    return max((end - start).days + 1, 0)


def _covered_days(coverage: list[Interval], period: Interval) -> int:
    # Written out (no call a pair): forecasts run it twice a month for every service.
    start, end = period.start, period.end
    days = 0
    for covered in coverage:
        if covered.start <= end and start <= covered.end:
            days += (min(covered.end, end) - max(covered.start, start)).days + 1
    return days


@dataclass(frozen=True)
class PortfolioMonth:
    """One month of the portfolio forecast, in shares of the days services must be funded."""

    month: date
    secured: float
    pipeline_only: float
    uncovered: float


def portfolio_forecast(forecasts: Iterable[list[MonthCoverage]]) -> list[PortfolioMonth]:
    """Add up per-project forecasts month by month (shares are for a chart, hence floats)."""
    totals: dict[date, list[int]] = {}
    for months in forecasts:
        for m in months:
            row = totals.setdefault(m.month, [0, 0, 0])
            row[0] += m.secured_days
            row[1] += m.pipeline_only_days
            row[2] += m.uncovered_days
    result = []
    for month, (secured, pipeline_only, uncovered) in sorted(totals.items()):
        due = secured + pipeline_only + uncovered
        if due == 0:
            result.append(PortfolioMonth(month, 0.0, 0.0, 0.0))
        else:
            result.append(
                PortfolioMonth(month, secured / due, pipeline_only / due, uncovered / due)
            )
    return result

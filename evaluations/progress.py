"""Progress of an indicator toward its targets, and what a results-based payout has earned.

Everything here works on plain values; the caller loads the data. Only verified
measurements may be passed in as observations: reported and rejected ones never count.

Each disaggregation category ("sex:female", or ``TOTAL`` for the whole) is worked out on
its own; disaggregated values are not added up into the total, which is reported as its
own measurement.

Current value of a category:

- non-cumulative: the value of the latest period (latest end, then latest start).
- cumulative: the sum of the values of all periods.
- percentages come from numerators and denominators, never from averaging percentages:
  non-cumulative takes the latest period's numerator / denominator × 100; cumulative
  takes sum(numerators) / sum(denominators) × 100 over all periods.

Achievement toward a target is ``(actual − baseline) / (target − baseline)``, which reads
the same for indicators that should rise and for those that should fall: 1 means the
target is met, 0 means no change since the baseline, below 0 means worse than the
baseline. (A target equal to its baseline is met, 1, once the actual is at least as good
in the indicator's direction, and otherwise 0.)

Status, as of a date:

- ``no_data``: no verified value yet, or no target to measure it against.
- ``achieved``: achievement is 1 or more.
- ``on_track``: achievement is at least the share of time elapsed between the baseline
  date and the target's due date, as of that date (clipped to 0..1). The target is
  assumed to be approached in a straight line from the baseline, so an indicator
  halfway through its time needs half its change. A value that is not refreshed drifts
  off track as time passes, which is deliberate: old evidence should not reassure.
- ``off_track``: otherwise, and always once the due date has passed without the target met.

The target measured against is the next one due on or after the as-of date, or the last
one when all are past due.

Payouts (``earned_amount``):

- ``all_or_nothing``: the whole amount once achievement reaches 1, otherwise nothing.
- ``pro_rata``: the amount times achievement capped at 1; nothing below the optional
  minimum achievement. Rounded down to the cent, so a payout never exceeds what was earned.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, Decimal

from django.utils.translation import gettext_noop

INCREASE = "increase"
DECREASE = "decrease"

NON_CUMULATIVE = "non_cumulative"
CUMULATIVE = "cumulative"

ACHIEVED = "achieved"
ON_TRACK = "on_track"
OFF_TRACK = "off_track"
NO_DATA = "no_data"
# Each status in words, for people (pages, workbook), translated where it is shown.
STATUS_WORDS = {
    ACHIEVED: gettext_noop("achieved"),
    ON_TRACK: gettext_noop("on track"),
    OFF_TRACK: gettext_noop("off track"),
    NO_DATA: gettext_noop("no data yet"),
}

ALL_OR_NOTHING = "all_or_nothing"
PRO_RATA = "pro_rata"

TOTAL = ""

ZERO = Decimal("0")
ONE = Decimal("1")
HUNDRED = Decimal("100")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class IndicatorSpec:
    direction: str
    aggregation: str
    baseline_value: Decimal
    baseline_date: date
    is_percentage: bool = False


@dataclass(frozen=True)
class Observation:
    """A verified measurement."""

    period_start: date
    period_end: date
    value: Decimal
    numerator: Decimal | None = None
    denominator: Decimal | None = None
    category: str = TOTAL

    def __post_init__(self):
        if self.period_start > self.period_end:
            raise ValueError(f"period starts {self.period_start} after it ends {self.period_end}")


@dataclass(frozen=True)
class Goal:
    """A target: the value to reach by a due date."""

    due_on: date
    value: Decimal
    category: str = TOTAL


@dataclass(frozen=True)
class Progress:
    category: str
    actual: Decimal | None
    measured_until: date | None
    target: Goal | None
    achievement: Decimal | None
    time_elapsed: Decimal | None
    status: str


def current_value(spec: IndicatorSpec, observations: Iterable[Observation]) -> Decimal | None:
    """The value that counts for one category, or None without observations."""
    observations = list(observations)
    if not observations:
        return None
    if spec.aggregation == NON_CUMULATIVE:
        latest = max(observations, key=lambda each: (each.period_end, each.period_start))
        if spec.is_percentage:
            return _percentage(_numerator(latest), _denominator(latest))
        return latest.value
    if spec.aggregation == CUMULATIVE:
        if spec.is_percentage:
            return _percentage(
                sum((_numerator(each) for each in observations), ZERO),
                sum((_denominator(each) for each in observations), ZERO),
            )
        return sum((each.value for each in observations), ZERO)
    raise ValueError(f"unknown aggregation {spec.aggregation!r}")


def achievement(direction: str, baseline: Decimal, target: Decimal, actual: Decimal) -> Decimal:
    """How far the actual has come from the baseline toward the target; 1 means met."""
    if target == baseline:
        met = actual >= target if direction == INCREASE else actual <= target
        return ONE if met else ZERO
    return (actual - baseline) / (target - baseline)


def achievement_toward(
    spec: IndicatorSpec, observations: Iterable[Observation], goal: Goal
) -> Decimal | None:
    """Achievement toward one target, from the observations of the target's category."""
    actual = current_value(spec, [each for each in observations if each.category == goal.category])
    if actual is None:
        return None
    return achievement(spec.direction, spec.baseline_value, goal.value, actual)


def share_of_time_elapsed(start: date, due_on: date, as_of: date) -> Decimal:
    if due_on <= start:
        return ONE
    share = Decimal((as_of - start).days) / Decimal((due_on - start).days)
    return min(max(share, ZERO), ONE)


def next_goal(goals: Iterable[Goal], as_of: date) -> Goal | None:
    """The first target due on or after ``as_of``, or the last one when all are past due."""
    ordered = sorted(goals, key=lambda goal: goal.due_on)
    if not ordered:
        return None
    return next((goal for goal in ordered if goal.due_on >= as_of), ordered[-1])


def status(achievement: Decimal | None, time_elapsed: Decimal | None) -> str:
    if achievement is None or time_elapsed is None:
        return NO_DATA
    if achievement >= ONE:
        return ACHIEVED
    if achievement >= time_elapsed:
        return ON_TRACK
    return OFF_TRACK


def indicator_progress(
    spec: IndicatorSpec,
    observations: Iterable[Observation],
    goals: Iterable[Goal],
    as_of: date,
) -> list[Progress]:
    """Progress per category that has observations or targets; the total comes first."""
    observations = list(observations)
    goals = list(goals)
    categories = {each.category for each in observations} | {goal.category for goal in goals}

    result = []
    for category in sorted(categories, key=lambda name: (name != TOTAL, name)):
        counted = [each for each in observations if each.category == category]
        actual = current_value(spec, counted)
        goal = next_goal((goal for goal in goals if goal.category == category), as_of)
        reached = elapsed = None
        if actual is not None and goal is not None:
            reached = achievement(spec.direction, spec.baseline_value, goal.value, actual)
            elapsed = share_of_time_elapsed(spec.baseline_date, goal.due_on, as_of)
        result.append(
            Progress(
                category=category,
                actual=actual,
                measured_until=max((each.period_end for each in counted), default=None),
                target=goal,
                achievement=reached,
                time_elapsed=elapsed,
                status=status(reached, elapsed),
            )
        )
    return result


def earned_amount(
    amount: Decimal,
    achievement: Decimal | None,
    rule: str,
    minimum_achievement: Decimal | None = None,
) -> Decimal:
    """What a results-based tranche of ``amount`` has earned at this achievement."""
    if achievement is None or achievement <= ZERO:
        return ZERO.quantize(CENT)
    if rule == ALL_OR_NOTHING:
        return amount if achievement >= ONE else ZERO.quantize(CENT)
    if rule == PRO_RATA:
        if minimum_achievement is not None and achievement < minimum_achievement:
            return ZERO.quantize(CENT)
        return (amount * min(achievement, ONE)).quantize(CENT, rounding=ROUND_DOWN)
    raise ValueError(f"unknown payout rule {rule!r}")


def _numerator(observation: Observation) -> Decimal:
    if observation.numerator is None:
        raise ValueError("a percentage observation needs its numerator")
    return observation.numerator


def _denominator(observation: Observation) -> Decimal:
    if observation.denominator is None or observation.denominator <= 0:
        raise ValueError("a percentage observation needs a positive denominator")
    return observation.denominator


def _percentage(numerator: Decimal, denominator: Decimal) -> Decimal:
    return numerator / denominator * HUNDRED

"""Writes to the results framework: indicators and targets (measurements: `measurements`)."""

from django.db import transaction

from portfolio import access

from ..models import Indicator, Target
from .payouts import recalculate_payouts


@transaction.atomic
def save_indicator(indicator, user) -> Indicator:
    """Save a new or changed indicator; the payouts measured from a changed one follow it."""
    changed = indicator.pk is not None
    access.check(user, access.CHANGE if changed else access.ADD, indicator)
    indicator._history_user = user
    indicator.full_clean()
    indicator.save()
    if changed:
        # A new baseline changes every achievement measured from it.
        recalculate_payouts(indicator, reason="Indicator changed.", user=user)
    return indicator


@transaction.atomic
def save_target(target, *, reason="", user=None) -> Target:
    """Save a new or changed target. A change to its value or due date needs a reason, which
    is kept in the target's history; payouts for the target follow the change."""
    target.change_reason = reason
    if user is not None:
        access.check(user, access.CHANGE if target.pk else access.ADD, target)
        target._history_user = user
    target.full_clean()
    target.save()
    recalculate_payouts(
        target, reason=f"Target changed: {reason}" if reason else "Target saved.", user=user
    )
    return target

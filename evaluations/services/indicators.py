"""Writes to the results framework: indicators, targets, and measurements from report to review."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from portfolio import access

from ..models import Aggregation, Indicator, Measurement, MeasurementStatus, Target
from .payouts import recalculate_payouts
from .standards import check_parts_within_total


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


@transaction.atomic
def report_measurement(measurement, user) -> Measurement:
    """Record a new measurement as reported by `user`, or save a change to a recorded one.

    It counts toward targets and payouts only once somebody else verifies it; a reviewed
    measurement keeps its evidence (the model refuses changes to it).
    """
    if measurement.pk is None:
        measurement.reported_by = user
    access.check(user, access.CHANGE if measurement.pk else access.ADD, measurement)
    measurement._history_user = user
    measurement.full_clean()
    check_parts_within_total(measurement)
    measurement.save()
    return measurement


@transaction.atomic
def verify_measurement(measurement, user) -> Measurement:
    """Mark a reported measurement verified, so it counts, and update the payouts it earns."""
    locked = Measurement.objects.select_for_update().get(pk=measurement.pk)
    access.check(user, access.REVIEW, locked)
    _check_awaits_review(locked)
    # One verification per indicator at a time, so two overlapping periods of a cumulative
    # indicator cannot both slip past the overlap check below.
    indicator = Indicator.objects.select_for_update().get(pk=locked.indicator_id)
    locked.full_clean()
    if indicator.aggregation == Aggregation.CUMULATIVE:
        overlapping = (
            Measurement.objects.verified()
            .filter(
                indicator=indicator,
                disaggregation=locked.disaggregation,
                period_start__lte=locked.period_end,
                period_end__gte=locked.period_start,
            )
            .exclude(pk=locked.pk)
            .first()
        )
        if overlapping is not None:
            raise ValidationError(
                {
                    "period_start": f"The period overlaps the verified measurement for {overlapping.period_start}..{overlapping.period_end}; a cumulative indicator would count it twice."
                }
            )

    locked.status = MeasurementStatus.VERIFIED
    locked.verified_by = user
    locked.verified_at = timezone.now()
    locked._history_user = user
    locked.save(update_fields=["status", "verified_by", "verified_at"])
    _copy_review(locked, measurement)
    recalculate_payouts(indicator, reason=f"Measurement {locked.pk} verified.", user=user)
    return locked


@transaction.atomic
def reject_measurement(measurement, user, reason) -> Measurement:
    """Mark a reported measurement rejected, with the reason; it never counts."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"rejection_reason": "Say why the measurement is rejected."})
    locked = Measurement.objects.select_for_update().get(pk=measurement.pk)
    access.check(user, access.REVIEW, locked)
    _check_awaits_review(locked)
    locked.status = MeasurementStatus.REJECTED
    locked.verified_by = user
    locked.verified_at = timezone.now()
    locked.rejection_reason = reason
    locked._history_user = user
    locked.save(update_fields=["status", "verified_by", "verified_at", "rejection_reason"])
    _copy_review(locked, measurement)
    # A reported measurement never counted, so no payout changes.
    return locked


@transaction.atomic
def delete_measurement(measurement, user):
    """Delete a measurement; if it was verified, what it earned is worked out again."""
    locked = Measurement.objects.select_for_update().get(pk=measurement.pk)
    access.check(user, access.DELETE, locked)
    counted = locked.status == MeasurementStatus.VERIFIED
    indicator = locked.indicator
    locked._history_user = user
    locked.delete()
    if counted:
        recalculate_payouts(
            indicator, reason=f"Verified measurement {measurement.pk} deleted.", user=user
        )


def _check_awaits_review(measurement):
    # Who may review is the role table's answer (access.REVIEW); this is the measurement's state.
    if measurement.status != MeasurementStatus.REPORTED:
        raise ValidationError(
            {
                "status": f"Only a reported measurement can be reviewed; this one is already {measurement.get_status_display().lower()}."
            }
        )


def _copy_review(source, destination):
    for name in ("status", "verified_by", "verified_at", "rejection_reason"):
        setattr(destination, name, getattr(source, name))

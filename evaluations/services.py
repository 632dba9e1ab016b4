"""Operations on results that span rows or need locks: verifying measurements, releasing payouts."""

from collections import defaultdict

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from funding.models import Tranche
from portfolio import access

from . import progress
from .models import (
    VALUE_PLACES,
    Aggregation,
    Indicator,
    Measurement,
    MeasurementStatus,
    PayoutTerms,
    Target,
)


@transaction.atomic
def verify_measurement(measurement, user) -> Measurement:
    """Mark a reported measurement verified, so it counts, and update the payouts it earns."""
    locked = Measurement.objects.select_for_update().get(pk=measurement.pk)
    _check_reviewable(locked, user, "verify")
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
    _check_reviewable(locked, user, "reject")
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
def recalculate_payouts(subject, reason="Recalculated.", user=None) -> list[PayoutTerms]:
    """Work out again what the results-based tranches paying for this indicator or target earn.

    The eligible amount follows the payout rule, never exceeds the tranche amount and never
    falls below what has already been disbursed.
    """
    if isinstance(subject, Target):
        terms = PayoutTerms.objects.filter(target=subject)
    elif isinstance(subject, Indicator):
        terms = PayoutTerms.objects.filter(target__indicator=subject)
    else:
        raise TypeError(f"payouts are recalculated for an indicator or a target, not {subject!r}")
    tranche_ids = list(terms.values_list("tranche_id", flat=True))
    if not tranche_ids:
        return []

    # The tranche rows first, as disburse() locks them: a disbursement waits for the new
    # eligibility, and is checked against it.
    tranches = {
        tranche.pk: tranche
        for tranche in Tranche.objects.select_for_update().filter(pk__in=tranche_ids).order_by("pk")
    }
    locked_terms = list(
        PayoutTerms.objects.select_for_update().filter(tranche_id__in=tranche_ids).order_by("pk")
    )
    targets = Target.objects.select_related("indicator").in_bulk(
        {each.target_id for each in locked_terms}
    )
    observations = defaultdict(list)
    for measurement in Measurement.objects.verified().filter(
        indicator_id__in={target.indicator_id for target in targets.values()}
    ):
        observations[measurement.indicator_id].append(measurement.as_observation())

    for each in locked_terms:
        target = targets[each.target_id]
        tranche = tranches[each.tranche_id]
        achievement = progress.achievement_toward(
            target.indicator.as_spec(), observations[target.indicator_id], target.as_goal()
        )
        earned = progress.earned_amount(
            tranche.amount, achievement, each.rule, each.minimum_achievement
        )
        eligible = max(min(earned, tranche.amount), tranche.disbursed_amount)
        reached = None if achievement is None else achievement.quantize(VALUE_PLACES)
        if (eligible, reached) == (each.eligible_amount, each.achievement):
            continue  # nothing changed, so no history row either
        each.eligible_amount = eligible
        each.achievement = reached
        each._change_reason = reason
        if user is not None:
            each._history_user = user
        each.save(update_fields=["eligible_amount", "achievement"])
    return locked_terms


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
def save_payout_terms(terms, *, user=None) -> PayoutTerms:
    """Save payout terms and work out at once what verified results have already earned."""
    if terms.tranche_id:
        # Under the tranche lock, so the check against the tranche amount holds.
        Tranche.objects.select_for_update().get(pk=terms.tranche_id)
    if user is not None:
        access.check(user, access.CHANGE if terms.pk else access.ADD, terms)
        terms._history_user = user
    terms.full_clean()
    terms.save()
    recalculate_payouts(terms.target, reason="Payout terms saved.", user=user)
    terms.refresh_from_db(fields=["eligible_amount", "achievement"])
    return terms


def _check_reviewable(measurement, user, verb):
    access.check(user, access.REVIEW, measurement)
    if measurement.status != MeasurementStatus.REPORTED:
        raise ValidationError(
            {
                "status": f"Only a reported measurement can be reviewed; this one is already {measurement.get_status_display().lower()}."
            }
        )
    if measurement.reported_by_id is not None and measurement.reported_by_id == user.pk:
        raise ValidationError(
            {"verified_by": f"Nobody may {verb} a measurement they reported themselves."}
        )


def _copy_review(source, destination):
    for name in ("status", "verified_by", "verified_at", "rejection_reason"):
        setattr(destination, name, getattr(source, name))

"""Results-based payouts: what the tranches paying for a target have earned, kept up to date."""

from collections import defaultdict

from django.db import transaction

from funding.models import Tranche
from portfolio import access

from .. import progress
from ..models import VALUE_PLACES, Indicator, Measurement, PayoutTerms, Target


@transaction.atomic
def recalculate_payouts(subject, reason="Recalculated.", user=None) -> list[PayoutTerms]:
    """Work out again what the results-based tranches paying for this indicator or target earn.

    The one place that moves an eligible amount: verifying or deleting a measurement, changing
    an indicator, a target or payout terms all end here. The eligible amount follows the
    payout rule, never exceeds the tranche amount and never falls below what has already been
    disbursed.
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

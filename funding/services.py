"""Money writes: tranches with their loan terms, disbursements, loan repayments and their
undoing, each checked against the role table and done under the tranche's row lock."""

from datetime import date
from decimal import Decimal

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from portfolio import access
from portfolio.bulk import copy_to_history, update_rows

from .models import (
    Allocation,
    Disbursement,
    Instrument,
    LoanTerms,
    Repayment,
    Tranche,
    TrancheStatus,
)

UNCHANGED = object()  # save_tranche(loan_terms=UNCHANGED): leave the loan terms as they are


class LoanTermsRefused(ValidationError):
    """The loan terms given with a tranche were refused; the tranche was not saved either.

    Its messages name the loan-term fields, so a door can show them beside its terms."""


@transaction.atomic
def save_tranche(tranche, user=None, *, loan_terms=UNCHANGED) -> Tranche:
    """Create or change a tranche, and with it its loan terms, as `user` may: the API, the
    pages and the admin all save tranches here (the import saves thousands at once through
    `save_tranches`).

    A change locks the stored row first, so a disbursement recorded meanwhile cannot slip
    under a lowered amount, and is checked against the stored funder as well as the new one,
    so nobody moves another funder's tranche to their own organisation or away from it.

    `loan_terms` is a dict of `LoanTerms.TERM_FIELDS` values to write on the tranche's terms
    (created if it has none; a dict may name only some fields when terms exist), None to remove
    them, or left out to leave them as they are. Tranche and terms are saved together or not
    at all: terms that fail raise `LoanTermsRefused` and take the tranche back with them.
    """
    if tranche.pk is not None:
        stored = Tranche.objects.select_for_update().get(pk=tranche.pk)
        if user is not None:
            access.check(user, access.CHANGE, stored)
        tranche.disbursed_amount = stored.disbursed_amount
    if user is not None:
        access.check(user, access.CHANGE if tranche.pk else access.ADD, tranche)
        tranche._history_user = user
    tranche.full_clean()
    tranche.save()
    if loan_terms is not UNCHANGED:
        try:
            if loan_terms is None:
                remove_loan_terms(tranche, user)
            else:
                terms = LoanTerms.objects.filter(tranche=tranche).first() or LoanTerms()
                for name, value in loan_terms.items():
                    setattr(terms, name, value)
                save_loan_terms(terms, tranche, user)
        except ValidationError as error:
            raise LoanTermsRefused(error) from error
    return tranche


SAVE_BATCH = 1000


@transaction.atomic
def save_tranches(tranches, user=None):
    """Create or change many tranches at once, as `user` may: the import's form of
    `save_tranche`, which costs 2 to 3 ms of CPU a row (two model saves, a savepoint, and
    simple_history's per-save work) where the import must take 20,000 rows in 20 s.

    The same rules, set-based: the stored rows are locked and read again in one query; each
    tranche is checked against the role table with its stored funder and its new one; the
    stored disbursed total is kept; every row gets its history, with the user. The caller
    has validated every instance (`full_clean`), and queues the coverage rescans of the
    projects it touched: no post_save signal is sent.
    """
    new = [t for t in tranches if t.pk is None]
    changed = [t for t in tranches if t.pk is not None]
    stored = (
        Tranche.objects.select_for_update()
        .only("id", "funder_id", "project_id", "currency", "disbursed_amount")
        .in_bulk([t.pk for t in changed])
    )
    for tranche in changed:
        previous = stored.get(tranche.pk)
        if previous is None:
            raise ValidationError(_("A tranche was deleted meanwhile; upload the file again."))
        if user is not None:
            access.check(user, access.CHANGE, previous)
        tranche.disbursed_amount = previous.disbursed_amount
        refused = tranche.currency_refused(previous.currency)  # paid since the file was read
        if refused:
            raise ValidationError({"currency": refused})
    if user is not None:
        for tranche in tranches:
            access.check(user, access.CHANGE if tranche.pk else access.ADD, tranche)
    now = timezone.now()
    for tranche in changed:
        tranche.updated_at = now
    Tranche.objects.bulk_create(new, batch_size=SAVE_BATCH)
    written = [
        f.name
        for f in Tranche._meta.concrete_fields
        if not f.primary_key and f.name not in ("disbursed_amount", "created_at", "project")
    ]
    update_rows(Tranche, changed, written, batch_size=SAVE_BATCH)
    copy_to_history(Tranche, [t.pk for t in new], "+", user, now)
    copy_to_history(Tranche, [t.pk for t in changed], "~", user, now)
    return len(new), len(changed)


def save_loan_terms(terms, tranche, user=None) -> LoanTerms:
    """Create or change the loan terms of `tranche`, as `user` may.

    The tranche row is locked, as for every change to a tranche, so its amount (from which the
    repayment schedule follows) cannot change under the check. Terms moved from another
    tranche are checked against that one too.
    """
    Tranche.objects.select_for_update().values_list("pk").get(pk=tranche.pk)
    if terms.pk is not None and user is not None:
        stored = LoanTerms.objects.select_related("tranche").get(pk=terms.pk)
        access.check(user, access.CHANGE, stored)
    terms.tranche = tranche
    if user is not None:
        access.check(user, access.CHANGE if terms.pk else access.ADD, terms)
        terms._history_user = user
    terms.full_clean(exclude=["tranche"])
    terms.save()
    return terms


@transaction.atomic
def remove_loan_terms(tranche, user=None):
    """Remove the loan terms of `tranche`, if it has any, as `user` may."""
    existing = LoanTerms.objects.filter(tranche=tranche).first()
    if existing is None:
        return
    if user is not None:
        access.check(user, access.DELETE, existing)
        existing._history_user = user
    existing.delete()


@transaction.atomic
def disburse(tranche, amount, disbursed_on: date, reference="", recorded_by=None) -> Disbursement:
    """Record a disbursement, never taking the tranche past what it may pay.

    The tranche row is locked for the rest of the transaction, so two concurrent requests
    are checked one after the other against the same running total.
    """
    if recorded_by is not None:
        access.check(recorded_by, access.ADD, Disbursement(tranche=tranche))
    locked = Tranche.objects.select_for_update().get(pk=tranche.pk)
    amount = Decimal(amount)
    if amount <= 0:
        raise ValidationError({"amount": _("A disbursement must be a positive amount.")})
    if locked.status != TrancheStatus.COMMITTED:
        raise ValidationError(
            {
                "tranche": _("Only a committed tranche can be disbursed; this one is %(status)s.")
                % {"status": locked.get_status_display().lower()}
            }
        )
    if locked.committed_on and disbursed_on < locked.committed_on:
        raise ValidationError(
            {
                "disbursed_on": _(
                    "A disbursement cannot be dated before the commitment (%(committed_on)s)."
                )
                % {"committed_on": locked.committed_on}
            }
        )
    remaining = locked.payable_amount
    if amount > remaining:
        limit = locked.disbursable_limit
        if locked.instrument == Instrument.RESULTS_BASED and limit < locked.amount:
            reason = _(
                "Verified results have earned %(earned)s %(currency)s; only %(remaining)s remains payable."
            ) % {"earned": f"{limit:,}", "currency": locked.currency, "remaining": f"{remaining:,}"}
        else:
            reason = _("Only %(remaining)s %(currency)s of this tranche remains undisbursed.") % {
                "remaining": f"{remaining:,}",
                "currency": locked.currency,
            }
        raise ValidationError({"amount": reason})

    disbursement = Disbursement(
        tranche=locked,
        amount=amount,
        disbursed_on=disbursed_on,
        reference=reference,
        recorded_by=recorded_by,
    )
    disbursement.full_clean(exclude=["tranche"])
    if recorded_by is not None:
        disbursement._history_user = recorded_by  # history names the user outside requests too
    disbursement.save()
    Tranche.objects.filter(pk=locked.pk).update(disbursed_amount=F("disbursed_amount") + amount)
    locked.refresh_from_db(fields=["disbursed_amount"])
    tranche.disbursed_amount = locked.disbursed_amount
    return disbursement


UNDO_REASON_MAX = 100  # the history's change reason holds this many characters


class AlreadyUndone(ObjectDoesNotExist):
    """The disbursement or repayment was undone meanwhile (by another request): nothing moves
    twice. Its message names which."""


@transaction.atomic
def undo_disbursement(disbursement, user=None, reason="") -> Disbursement:
    """Remove a disbursement recorded in error, and give its amount back to the tranche.

    The tranche is locked first (as `disburse()` locks it), then the disbursement is locked
    and read again: two undos of the same payment run one after the other, and the second
    finds nothing left to undo (`AlreadyUndone`) instead of giving the amount back twice.
    The deletion stays in the disbursement's history, with who undid it and why.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why this disbursement is undone.")})
    if len(reason) > UNDO_REASON_MAX:
        raise ValidationError(
            {"reason": _("At most %(limit)d characters.") % {"limit": UNDO_REASON_MAX}}
        )
    if user is not None:
        access.check(user, access.DELETE, disbursement)
    tranche = Tranche.objects.select_for_update().get(pk=disbursement.tranche_id)
    locked = Disbursement.objects.select_for_update().filter(pk=disbursement.pk).first()
    if locked is None:
        raise AlreadyUndone(_("This disbursement has already been undone."))
    repaid = _principal_repaid(tranche)
    if tranche.disbursed_amount - locked.amount < repaid:
        raise ValidationError(
            _(
                "%(repaid)s %(currency)s of principal has been repaid on this loan; undo "
                "repayments first, so no more is repaid than disbursed."
            )
            % {"repaid": f"{repaid:,}", "currency": tranche.currency}
        )
    Tranche.objects.filter(pk=locked.tranche_id).update(
        disbursed_amount=F("disbursed_amount") - locked.amount
    )
    locked._change_reason = reason
    if user is not None:
        locked._history_user = user
    locked.delete()
    return locked


def _principal_repaid(tranche) -> Decimal:
    total = Repayment.objects.filter(tranche=tranche).aggregate(total=Sum("principal"))["total"]
    return (total or Decimal("0.00")).quantize(Decimal("0.01"))


@transaction.atomic
def record_repayment(
    tranche, received_on: date, principal=0, interest=0, reference="", recorded_by=None
) -> Repayment:
    """Record principal and interest received on a loan tranche.

    The tranche row is locked (as `disburse()` locks it) and read again, so two concurrent
    repayments are checked one after the other: nobody repays more principal than is
    outstanding, and a disbursement undone meanwhile is seen.
    """
    if recorded_by is not None:
        access.check(recorded_by, access.ADD, Repayment(tranche=tranche))
    locked = Tranche.objects.select_for_update().get(pk=tranche.pk)
    principal, interest = Decimal(principal or 0), Decimal(interest or 0)
    if locked.instrument != Instrument.LOAN:
        raise ValidationError({"tranche": _("Only a loan tranche is repaid.")})
    repayment = Repayment(
        tranche=locked,
        received_on=received_on,
        principal=principal,
        interest=interest,
        reference=reference,
        recorded_by=recorded_by,
    )
    repayment.full_clean(exclude=["tranche"])
    outstanding = locked.disbursed_amount - _principal_repaid(locked)
    if principal > outstanding:
        raise ValidationError(
            {
                "principal": _(
                    "Only %(outstanding)s %(currency)s of principal is outstanding on this loan."
                )
                % {"outstanding": f"{outstanding:,}", "currency": locked.currency}
            }
        )
    first = locked.disbursements.order_by("disbursed_on").values_list("disbursed_on", flat=True)
    first = first.first()
    if first is None or received_on < first:
        raise ValidationError(
            {
                "received_on": _(
                    "A repayment cannot be dated before the loan's first disbursement (%(first)s)."
                )
                % {"first": first.isoformat() if first else _("none yet")}
            }
        )
    if recorded_by is not None:
        repayment._history_user = recorded_by
    repayment.save()
    return repayment


@transaction.atomic
def undo_repayment(repayment, user=None, reason="") -> Repayment:
    """Remove a repayment recorded in error. As `undo_disbursement`: the tranche is locked
    first, the repayment locked and read again, and a second undo finds nothing
    (`AlreadyUndone`). The deletion stays in the history, with who and why."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why this repayment is undone.")})
    if len(reason) > UNDO_REASON_MAX:
        raise ValidationError(
            {"reason": _("At most %(limit)d characters.") % {"limit": UNDO_REASON_MAX}}
        )
    if user is not None:
        access.check(user, access.DELETE, repayment)
    Tranche.objects.select_for_update().get(pk=repayment.tranche_id)
    locked = Repayment.objects.select_for_update().filter(pk=repayment.pk).first()
    if locked is None:
        raise AlreadyUndone(_("This repayment has already been undone."))
    locked._change_reason = reason
    if user is not None:
        locked._history_user = user
    locked.delete()
    return locked


# --- Sustainability plans: which lines a maintenance tranche pays --------------------------


@transaction.atomic
def save_allocation(allocation: Allocation, user=None) -> Allocation:
    """Give (or change) the part of a maintenance tranche that pays one cost line, as `user`
    may: a donor officer allocates their own organisation's tranches.

    The tranche is locked, so two allocations saved at once are checked one after the other:
    together a tranche's allocations never give more than the tranche.
    """
    if user is not None:
        access.check(user, access.CHANGE if allocation.pk else access.ADD, allocation)
        allocation._history_user = user
    locked = Tranche.objects.select_for_update().get(pk=allocation.tranche_id)
    allocation.tranche = locked
    allocation.full_clean()
    others = Allocation.objects.filter(tranche=locked).exclude(pk=allocation.pk)
    given = sum((_allocated(each, locked) for each in others), Decimal(0))
    if given + _allocated(allocation, locked) > locked.amount:
        left = max(locked.amount - given, Decimal(0))
        raise ValidationError(
            {
                "amount": _(
                    "The tranche's allocations would give more than the tranche: only "
                    "%(left)s %(currency)s is left to allocate."
                )
                % {"left": f"{left:,.2f}", "currency": locked.currency}
            }
        )
    allocation.save()
    return allocation


@transaction.atomic
def delete_allocation(allocation: Allocation, user=None) -> None:
    """Take a line out of what a tranche pays; with none left it pays the whole plan again."""
    if user is not None:
        access.check(user, access.DELETE, allocation)
        allocation._history_user = user
    Tranche.objects.select_for_update().get(pk=allocation.tranche_id)
    allocation.delete()


def _allocated(allocation: Allocation, tranche: Tranche) -> Decimal:
    if allocation.amount is not None:
        return allocation.amount
    return tranche.amount * (allocation.share or 0) / 100


class AllocationRefused(ValidationError):
    """The shares given to a tranche's cost lines were refused (`allocate_shares`)."""


@transaction.atomic
def allocate_shares(tranche: Tranche, shares: dict, user=None) -> None:
    """Set the share of `tranche` each named line gets (None takes the line's share away; an
    amount is kept unless a share replaces it), as the tranche page asks. Lowered shares go
    first, so moving money between lines never passes through more than the tranche."""
    given = {a.category: a for a in Allocation.objects.filter(tranche=tranche)}

    def change(item):
        category, share = item
        found = given.get(category)
        before = found.share if found is not None and found.share is not None else Decimal(0)
        return (share or Decimal(0)) - before

    for category, share in sorted(shares.items(), key=change):
        found = given.get(category)
        if share is None:
            if found is not None and found.share is not None:
                delete_allocation(found, user)
            continue
        if found is not None and found.share == share:
            continue
        allocation = found or Allocation(tranche=tranche, category=category)
        allocation.share, allocation.amount = share, None
        try:
            save_allocation(allocation, user)
        except ValidationError as error:
            raise AllocationRefused(error.messages) from error

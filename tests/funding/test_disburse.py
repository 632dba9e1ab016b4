"""services.disburse(): the rules of paying out a tranche, and two payments racing for it."""

import threading
import time
from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F

from funding import services
from funding.models import Disbursement, DisbursementState, Tranche, TrancheQuerySet
from tests.factories import MembershipFactory, TrancheFactory

D = Decimal
PAID_ON = date(2025, 3, 1)


def disbursed_total(tranche):
    return Tranche.objects.values_list("disbursed_amount", flat=True).get(pk=tranche.pk)


def refusal(tranche, amount, disbursed_on=PAID_ON):
    """The error dict of a refused disbursement, after checking that nothing was saved."""
    before = (disbursed_total(tranche), Disbursement.objects.filter(tranche=tranche).count())
    with pytest.raises(ValidationError) as raised:
        services.disburse(tranche, amount, disbursed_on)
    after = (disbursed_total(tranche), Disbursement.objects.filter(tranche=tranche).count())
    assert after == before, "a refused disbursement must leave nothing behind"
    return raised.value.message_dict


@pytest.mark.django_db
def test_disbursement_is_recorded_and_added_to_the_tranche():
    tranche = TrancheFactory(amount=D("100000.00"))
    officer = MembershipFactory(organisation=tranche.funder).user

    disbursement = services.disburse(
        tranche, D("25000.00"), PAID_ON, reference="PAY-1", recorded_by=officer
    )

    disbursement.refresh_from_db()
    assert (disbursement.tranche_id, disbursement.amount, disbursement.disbursed_on) == (
        tranche.pk,
        D("25000.00"),
        PAID_ON,
    )
    assert (disbursement.reference, disbursement.recorded_by) == ("PAY-1", officer)
    assert tranche.disbursed_amount == D("25000.00")  # the caller's copy is kept up to date
    assert disbursed_total(tranche) == D("25000.00")


@pytest.mark.django_db
def test_disbursement_accepts_whole_numbers_as_money():
    tranche = TrancheFactory(amount=D("100000.00"))

    services.disburse(tranche, 60_000, PAID_ON)

    assert disbursed_total(tranche) == D("60000.00")


@pytest.mark.django_db
def test_disbursement_on_the_commitment_date_is_accepted():
    tranche = TrancheFactory(committed_on=date(2025, 1, 1))

    services.disburse(tranche, D("1.00"), date(2025, 1, 1))

    assert disbursed_total(tranche) == D("1.00")


@pytest.mark.django_db
def test_disbursement_is_refused_on_a_planned_tranche():
    tranche = TrancheFactory(planned=True)

    assert refusal(tranche, D("1000.00"))["tranche"] == [
        "Only a committed tranche can be disbursed; this one is planned (not signed)."
    ]


@pytest.mark.django_db
def test_disbursement_is_refused_on_a_cancelled_tranche():
    tranche = TrancheFactory(status=Tranche.Status.CANCELLED)

    assert refusal(tranche, D("1000.00"))["tranche"] == [
        "Only a committed tranche can be disbursed; this one is cancelled."
    ]


@pytest.mark.django_db
def test_disbursement_is_refused_when_dated_before_the_commitment():
    tranche = TrancheFactory(committed_on=date(2025, 1, 1))

    assert refusal(tranche, D("1000.00"), date(2024, 12, 31))["disbursed_on"] == [
        "A disbursement cannot be dated before the commitment (2025-01-01)."
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("amount", [D("0"), D("-0.01"), D("-1000.00")])
def test_disbursement_must_be_positive(amount):
    assert "amount" in refusal(TrancheFactory(), amount)


@pytest.mark.django_db
def test_disbursement_with_fractions_of_a_cent_is_refused():
    assert "amount" in refusal(TrancheFactory(), D("10.005"))


@pytest.mark.django_db
def test_disbursement_cannot_exceed_tranche_amount():
    tranche = TrancheFactory(amount=D("100000.00"))

    assert refusal(tranche, D("100000.01"))["amount"] == [
        "Only 100,000.00 USD of this tranche remains undisbursed."
    ]
    assert not Disbursement.objects.exists()


@pytest.mark.django_db
def test_disbursement_cannot_exceed_what_remains_after_earlier_payments():
    tranche = TrancheFactory(amount=D("100000.00"))
    services.disburse(tranche, D("60000.00"), PAID_ON)

    assert refusal(tranche, D("40000.01"))["amount"] == [
        "Only 40,000.00 USD of this tranche remains undisbursed."
    ]
    assert disbursed_total(tranche) == D("60000.00")
    assert Disbursement.objects.filter(tranche=tranche).count() == 1


@pytest.mark.django_db
def test_exact_remaining_amount_is_accepted():
    tranche = TrancheFactory(amount=D("100000.00"))
    services.disburse(tranche, D("60000.00"), PAID_ON)

    services.disburse(tranche, D("40000.00"), PAID_ON)

    assert disbursed_total(tranche) == D("100000.00")
    assert tranche.disbursement_state == DisbursementState.FULL
    assert "amount" in refusal(tranche, D("0.01"))


@pytest.mark.django_db
def test_limit_is_checked_against_the_stored_total_not_the_callers_copy():
    tranche = TrancheFactory(amount=D("100000.00"))
    stale = Tranche.objects.get(pk=tranche.pk)  # read before the first payment
    services.disburse(tranche, D("60000.00"), PAID_ON)

    assert stale.disbursed_amount == D("0.00")
    assert "amount" in refusal(stale, D("60000.00"))


@pytest.mark.django_db
def test_undo_disbursement_gives_the_amount_back():
    tranche = TrancheFactory(amount=D("100000.00"))
    kept = services.disburse(tranche, D("30000.00"), PAID_ON)
    mistaken = services.disburse(tranche, D("50000.00"), PAID_ON)

    services.undo_disbursement(mistaken, reason="Entered twice")

    assert disbursed_total(tranche) == D("30000.00")
    assert list(Disbursement.objects.filter(tranche=tranche)) == [kept]
    refreshed = Tranche.objects.get(pk=tranche.pk)
    assert refreshed.undisbursed_amount == D("70000.00")
    assert refreshed.disbursement_state == DisbursementState.PARTIAL
    services.disburse(tranche, D("70000.00"), PAID_ON)  # the freed amount can be paid again


@pytest.mark.django_db
def test_undone_disbursement_stays_in_the_history():
    tranche = TrancheFactory()
    officer = MembershipFactory(organisation=tranche.funder).user
    disbursement = services.disburse(tranche, D("500.00"), PAID_ON)
    pk = disbursement.pk

    services.undo_disbursement(disbursement, officer, reason="Paid to the wrong account")

    assert list(
        Disbursement.history.filter(id=pk)
        .order_by("history_id")
        .values_list("history_type", "amount", "history_user", "history_change_reason")
    ) == [
        ("+", D("500.00"), None, None),
        ("-", D("500.00"), officer.pk, "Paid to the wrong account"),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "reason, message",
    [
        ("", "Say why this disbursement is undone."),
        ("   ", "Say why this disbursement is undone."),
        ("x" * 101, "At most 100 characters."),
    ],
)
def test_undo_needs_a_reason(reason, message):
    tranche = TrancheFactory()
    disbursement = services.disburse(tranche, D("500.00"), PAID_ON)

    with pytest.raises(ValidationError) as refused:
        services.undo_disbursement(disbursement, reason=reason)

    assert refused.value.message_dict == {"reason": [message]}
    assert disbursed_total(tranche) == D("500.00")
    assert Disbursement.objects.filter(pk=disbursement.pk).exists()


@pytest.mark.django_db
def test_a_second_undo_of_the_same_disbursement_moves_no_money():
    tranche = TrancheFactory(amount=D("1000.00"))
    kept = services.disburse(tranche, D("100.00"), PAID_ON)
    mistaken = services.disburse(tranche, D("90.00"), PAID_ON)
    stale_copy = Disbursement.objects.get(pk=mistaken.pk)
    services.undo_disbursement(mistaken, reason="Entered twice")

    with pytest.raises(services.AlreadyUndone):
        services.undo_disbursement(stale_copy, reason="Entered twice")

    assert disbursed_total(tranche) == D("100.00")
    assert list(Disbursement.objects.filter(tranche=tranche)) == [kept]


@pytest.mark.django_db
def test_results_based_tranche_without_payout_terms_cannot_be_disbursed():
    tranche = TrancheFactory(instrument=Tranche.Instrument.RESULTS_BASED)

    assert refusal(tranche, D("1.00"))["amount"] == [
        "Verified results have earned 0.00 USD; only 0.00 remains payable."
    ]


# --- two payments at the same moment (PostgreSQL: real row locks) --------------------------


def race(tranche, amount, contenders=2):
    """Start `contenders` threads that each disburse `amount` at the same moment; return
    what each one got: the Disbursement, or the exception it raised."""
    barrier = threading.Barrier(contenders)
    outcomes = []

    def contender():
        try:
            mine = Tranche.objects.get(pk=tranche.pk)  # own connection, opened before the start
            barrier.wait(timeout=10)
            outcomes.append(services.disburse(mine, amount, PAID_ON))
        except Exception as error:  # noqa: BLE001 - the outcome is what the test inspects
            outcomes.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=contender) for _ in range(contenders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a contender hung"
    return outcomes


def assert_exactly_one_paid(tranche, outcomes):
    won = [o for o in outcomes if isinstance(o, Disbursement)]
    refused = [o for o in outcomes if isinstance(o, ValidationError)]
    assert len(won) == 1, outcomes
    assert len(refused) == 1, outcomes
    assert refused[0].message_dict["amount"] == [
        "Only 40,000.00 USD of this tranche remains undisbursed."
    ]
    assert disbursed_total(tranche) == D("60000.00")
    assert list(Disbursement.objects.filter(tranche=tranche)) == won


@pytest.fixture
def widened_race_window(monkeypatch):
    """Hold each contender for a moment between reading the tranche and checking the limit,
    so that without a lock both would certainly read the same running total."""
    check = Tranche.payable_amount.fget

    def slow_check(tranche):
        time.sleep(0.3)
        return check(tranche)

    monkeypatch.setattr(Tranche, "payable_amount", property(slow_check))


@pytest.mark.django_db(transaction=True)
def test_concurrent_disbursements_never_exceed_the_tranche(postgres):
    # Several rounds, each on a fresh tranche: one lucky interleaving must not hide a race.
    for _round in range(5):
        tranche = TrancheFactory(amount=D("100000.00"))

        outcomes = race(tranche, 60_000)

        assert_exactly_one_paid(tranche, outcomes)


@pytest.mark.django_db(transaction=True)
def test_row_lock_makes_the_second_payment_wait_and_see_the_first(postgres, widened_race_window):
    tranche = TrancheFactory(amount=D("100000.00"))

    started = time.monotonic()
    outcomes = race(tranche, 60_000)

    assert_exactly_one_paid(tranche, outcomes)
    # One after the other: the second waited for the first to commit.
    assert time.monotonic() - started >= 0.6


@pytest.mark.django_db(transaction=True)
def test_without_the_row_lock_the_same_race_gets_past_the_check(
    postgres, widened_race_window, monkeypatch
):
    # Proof that the race above is real: take the lock away and both contenders pass the
    # limit check. Only the database constraint is left to stop the second one, with an
    # IntegrityError (a 500) instead of a clear refusal.
    monkeypatch.setattr(TrancheQuerySet, "select_for_update", lambda self, **kwargs: self.all())
    tranche = TrancheFactory(amount=D("100000.00"))

    outcomes = race(tranche, 60_000)

    assert sum(isinstance(o, Disbursement) for o in outcomes) == 1, outcomes
    assert sum(isinstance(o, IntegrityError) for o in outcomes) == 1, outcomes
    assert disbursed_total(tranche) == D("60000.00")


# --- undoing the same payment twice at the same moment (PostgreSQL: real row locks) ---------


def undo_race(disbursement, contenders):
    """Start `contenders` threads that each undo the same disbursement at the same moment,
    each from its own copy read before the start; return what each one got."""
    barrier = threading.Barrier(contenders)
    outcomes = []

    def contender():
        try:
            mine = Disbursement.objects.get(pk=disbursement.pk)
            barrier.wait(timeout=10)
            outcomes.append(services.undo_disbursement(mine, reason="Entered twice"))
        except Exception as error:  # noqa: BLE001 - the outcome is what the test inspects
            outcomes.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=contender) for _ in range(contenders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a contender hung"
    return outcomes


def rows_total(tranche):
    return sum(
        Disbursement.objects.filter(tranche=tranche).values_list("amount", flat=True), D("0.00")
    )


@pytest.mark.django_db(transaction=True)
def test_parallel_undos_of_one_disbursement_give_its_amount_back_once(postgres):
    # The case: 810.00 stored against 900.00 of rows after doubled undos.
    for _round in range(3):
        tranche = TrancheFactory(amount=D("1000.00"))
        kept = [services.disburse(tranche, D(amount), PAID_ON) for amount in ("500.00", "400.00")]
        mistaken = services.disburse(tranche, D("90.00"), PAID_ON)

        outcomes = undo_race(mistaken, contenders=6)

        assert sum(isinstance(o, Disbursement) for o in outcomes) == 1, outcomes
        assert sum(isinstance(o, services.AlreadyUndone) for o in outcomes) == 5, outcomes
        assert disbursed_total(tranche) == rows_total(tranche) == D("900.00")
        assert list(Disbursement.objects.filter(tranche=tranche)) == kept
        # Only the true remainder can be paid out again.
        assert "amount" in refusal(tranche, D("190.00"))
        services.disburse(tranche, D("100.00"), PAID_ON)


def undo_as_it_once_was(disbursement, reason):
    """The undo of the issue: locks the tranche, but trusts the caller's copy of the payment."""
    with transaction.atomic():
        Tranche.objects.select_for_update().get(pk=disbursement.tranche_id)
        Tranche.objects.filter(pk=disbursement.tranche_id).update(
            disbursed_amount=F("disbursed_amount") - disbursement.amount
        )
        disbursement.delete()
        return disbursement


@pytest.mark.django_db(transaction=True)
def test_postgresql_refuses_the_double_refund_of_an_undo_without_the_reread(postgres, monkeypatch):
    # Proof that the race is real and that the database holds even against such code: the
    # second undo subtracts again and deletes nothing, and the check of the stored total
    # against the rows refuses its commit.
    monkeypatch.setattr(services, "undo_disbursement", undo_as_it_once_was)
    tranche = TrancheFactory(amount=D("1000.00"))
    services.disburse(tranche, D("900.00"), PAID_ON)
    mistaken = services.disburse(tranche, D("90.00"), PAID_ON)

    outcomes = undo_race(mistaken, contenders=2)

    assert sum(isinstance(o, Disbursement) for o in outcomes) == 1, outcomes
    refused = [o for o in outcomes if isinstance(o, IntegrityError)]
    assert len(refused) == 1, outcomes
    assert "its disbursements sum to" in str(refused[0])
    assert disbursed_total(tranche) == rows_total(tranche) == D("900.00")


@pytest.mark.django_db(transaction=True)
def test_the_database_refuses_a_stored_total_that_is_not_the_sum_of_the_rows(postgres):
    tranche = TrancheFactory(amount=D("1000.00"))
    services.disburse(tranche, D("100.00"), PAID_ON)

    with pytest.raises(IntegrityError, match="its disbursements sum to"):
        Tranche.objects.filter(pk=tranche.pk).update(disbursed_amount=D("10.00"))
        connection.check_constraints()  # what a commit does

    assert disbursed_total(tranche) == D("100.00")

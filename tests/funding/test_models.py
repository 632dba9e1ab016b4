"""Tranches, loan terms and disbursements: the rules of one row, in validation and in the database."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from funding import services
from funding.models import DisbursementState, LoanTerms, Tranche
from tests.evaluations.factories import PayoutTermsFactory
from tests.factories import (
    DisbursementFactory,
    FunderFactory,
    ImplementerFactory,
    LoanTermsFactory,
    ProjectFactory,
    TrancheFactory,
)

pytestmark = pytest.mark.django_db

D = Decimal
PAID_ON = date(2025, 2, 1)


def stored(tranche):
    """The tranche as the admin or the API would read it."""
    return Tranche.objects.get(pk=tranche.pk)


def saved(**fields):
    """A new tranche saved as every door saves one (services.save_tranche), read back."""
    tranche = TrancheFactory.build(project=ProjectFactory(), funder=FunderFactory(), **fields)
    return stored(services.save_tranche(tranche))


def errors_of(instance):
    with pytest.raises(ValidationError) as raised:
        instance.full_clean()
    return raised.value.message_dict


def refused_by_database(**fields):
    with pytest.raises(IntegrityError), transaction.atomic():
        TrancheFactory(**fields)


# --- amount and currency ----------------------------------------------------------------------


@pytest.mark.parametrize("amount", [D("0"), D("-0.01"), D("-100000.00")])
def test_amount_must_be_positive(amount):
    assert "amount" in errors_of(TrancheFactory.build(amount=amount, project=ProjectFactory()))
    refused_by_database(amount=amount)


def test_smallest_positive_amount_is_accepted():
    assert saved(amount=D("0.01")).amount == D("0.01")


@pytest.mark.parametrize("currency", ["usd", "US", "US1", "U$D"])
def test_database_refuses_a_currency_that_is_not_three_capitals(currency):
    refused_by_database(currency=currency)


@pytest.mark.parametrize("currency", ["ABC", "XYZ", "BYR"])
def test_currency_must_be_on_the_iso_4217_list(currency):
    assert "currency" in errors_of(stored(TrancheFactory(currency=currency)))


@pytest.mark.parametrize("currency", ["EUR", "KES", "GBP", "XOF"])
def test_iso_4217_currency_is_accepted(currency):
    assert saved(currency=currency).currency == currency


# --- cover period -----------------------------------------------------------------------------


def test_cover_period_cannot_end_before_it_starts():
    tranche = stored(TrancheFactory(maintenance=True))
    tranche.covers_from, tranche.covers_until = date(2026, 1, 1), date(2025, 12, 31)

    assert errors_of(tranche)["covers_until"] == ["The cover period cannot end before it starts."]
    refused_by_database(
        maintenance=True, covers_from=date(2026, 1, 1), covers_until=date(2025, 12, 31)
    )


def test_cover_period_of_a_single_day_is_accepted():
    tranche = saved(maintenance=True, covers_from=date(2026, 1, 1), covers_until=date(2026, 1, 1))

    assert (tranche.covers_from, tranche.covers_until) == (date(2026, 1, 1), date(2026, 1, 1))


@pytest.mark.parametrize(
    ("covers_from", "covers_until", "missing"),
    [
        (None, None, {"covers_from", "covers_until"}),
        (date(2025, 1, 1), None, {"covers_until"}),
        (None, date(2025, 12, 31), {"covers_from"}),
    ],
)
def test_maintenance_tranche_needs_its_cover_period(covers_from, covers_until, missing):
    tranche = stored(TrancheFactory(maintenance=True))
    tranche.covers_from, tranche.covers_until = covers_from, covers_until

    assert missing <= set(errors_of(tranche))
    refused_by_database(maintenance=True, covers_from=covers_from, covers_until=covers_until)


def test_launch_tranche_needs_no_cover_period():
    tranche = saved(purpose=Tranche.Purpose.LAUNCH)

    assert (tranche.purpose, tranche.covers_from, tranche.covers_until) == ("launch", None, None)


# --- status and commitment --------------------------------------------------------------------


def test_committed_tranche_needs_its_signature_date():
    tranche = stored(TrancheFactory())
    tranche.committed_on = None

    assert errors_of(tranche)["committed_on"] == [
        "A committed tranche needs the date it was signed."
    ]
    refused_by_database(status=Tranche.Status.COMMITTED, committed_on=None)


def test_planned_tranche_needs_no_signature_date():
    tranche = saved(planned=True)

    assert (tranche.status, tranche.committed_on) == (Tranche.Status.PLANNED, None)


def test_funder_must_be_marked_as_a_funder():
    tranche = stored(TrancheFactory())
    tranche.funder = ImplementerFactory()

    assert "funder" in errors_of(tranche)


def test_tranche_cannot_move_to_another_project():
    tranche = stored(TrancheFactory())
    tranche.project = ProjectFactory()

    assert "project" in errors_of(tranche)


def test_created_tranche_cannot_move_to_another_project_without_being_read_again():
    tranche = TrancheFactory()  # saved, never read back
    tranche.project = ProjectFactory()

    assert "project" in errors_of(tranche)


def test_tranche_with_disbursements_keeps_its_currency():
    tranche = TrancheFactory(currency="EUR", amount=D("10000.00"))
    DisbursementFactory(tranche=tranche, amount=D("2500.00"))
    tranche = stored(tranche)
    tranche.currency = "USD"

    assert errors_of(tranche)["currency"] == [
        "A tranche with disbursements keeps its currency (EUR); undo them first, or cancel "
        "the tranche and create a new one."
    ]


def test_tranche_without_disbursements_may_change_its_currency():
    tranche = stored(TrancheFactory(currency="EUR"))
    tranche.currency = "USD"

    tranche.full_clean()


# --- funder reference -------------------------------------------------------------------------


def test_funder_reference_is_unique_per_funder():
    first = TrancheFactory(funder_reference="GR-2025-001")
    duplicate = TrancheFactory.build(
        funder=first.funder, project=first.project, funder_reference="GR-2025-001"
    )

    with pytest.raises(ValidationError):
        duplicate.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        duplicate.save()


def test_empty_funder_reference_is_allowed_many_times():
    funder = FunderFactory()
    TrancheFactory(funder=funder, funder_reference="")
    second = TrancheFactory.build(funder=funder, project=ProjectFactory(), funder_reference="")

    services.save_tranche(second)

    assert Tranche.objects.filter(funder=funder, funder_reference="").count() == 2


def test_same_funder_reference_is_allowed_for_another_funder():
    TrancheFactory(funder_reference="GR-2025-001")

    saved(funder_reference="GR-2025-001")

    assert Tranche.objects.filter(funder_reference="GR-2025-001").count() == 2


# --- disbursed totals -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("paid", "state", "undisbursed"),
    [
        ([], DisbursementState.NONE, D("100000.00")),
        ([D("0.01")], DisbursementState.PARTIAL, D("99999.99")),
        ([D("40000.00"), D("20000.00")], DisbursementState.PARTIAL, D("40000.00")),
        ([D("99999.99"), D("0.01")], DisbursementState.FULL, D("0.00")),
        ([D("100000.00")], DisbursementState.FULL, D("0.00")),
    ],
)
def test_disbursement_state_and_undisbursed_amount_follow_the_payments(paid, state, undisbursed):
    tranche = TrancheFactory(amount=D("100000.00"))
    for amount in paid:
        services.disburse(tranche, amount, PAID_ON)

    for seen in (tranche, stored(tranche)):
        assert seen.disbursement_state == state
        assert seen.undisbursed_amount == undisbursed
        assert seen.disbursed_amount == sum(paid, D("0.00"))


@pytest.fixture
def partly_paid():
    """A 100,000 tranche of which 60,000 has been paid through the service."""
    tranche = TrancheFactory(amount=D("100000.00"))
    services.disburse(tranche, D("60000.00"), PAID_ON)
    return stored(tranche)


def test_tranche_with_disbursements_cannot_be_cancelled(partly_paid):
    partly_paid.status = Tranche.Status.CANCELLED

    assert errors_of(partly_paid)["status"] == ["A tranche with disbursements cannot be cancelled."]
    with pytest.raises(IntegrityError), transaction.atomic():
        Tranche.objects.filter(pk=partly_paid.pk).update(status=Tranche.Status.CANCELLED)


def test_tranche_without_disbursements_can_be_cancelled():
    tranche = stored(TrancheFactory())
    tranche.status = Tranche.Status.CANCELLED

    tranche.full_clean()
    tranche.save()


def test_tranche_cannot_be_reduced_below_what_was_paid(partly_paid):
    partly_paid.amount = D("59999.99")

    assert errors_of(partly_paid)["amount"] == [
        "The amount cannot fall below the 60,000.00 already disbursed."
    ]
    with pytest.raises(IntegrityError), transaction.atomic():
        Tranche.objects.filter(pk=partly_paid.pk).update(amount=D("59999.99"))


def test_tranche_may_be_reduced_to_exactly_what_was_paid(partly_paid):
    partly_paid.amount = D("60000.00")

    partly_paid.full_clean()
    partly_paid.save()
    assert stored(partly_paid).disbursement_state == DisbursementState.FULL


def test_database_refuses_a_disbursed_total_above_the_amount(partly_paid):
    with pytest.raises(IntegrityError), transaction.atomic():
        Tranche.objects.filter(pk=partly_paid.pk).update(disbursed_amount=D("100000.01"))
    with pytest.raises(IntegrityError), transaction.atomic():
        Tranche.objects.filter(pk=partly_paid.pk).update(disbursed_amount=D("-0.01"))


def test_disbursed_tranche_cannot_go_back_to_planned(partly_paid):
    partly_paid.status = Tranche.Status.PLANNED

    assert "status" in errors_of(partly_paid)


def test_commitment_cannot_be_dated_after_the_first_disbursement(partly_paid):
    partly_paid.committed_on = date(2025, 2, 2)

    assert errors_of(partly_paid)["committed_on"] == [
        "The commitment cannot be dated after the first disbursement (2025-02-01)."
    ]
    partly_paid.committed_on = PAID_ON
    partly_paid.full_clean()


def test_disbursed_amount_is_not_a_form_field():
    assert not Tranche._meta.get_field("disbursed_amount").editable


def test_saving_a_tranche_read_before_a_disbursement_keeps_the_disbursed_total():
    tranche = TrancheFactory(amount=D("100000.00"))
    editing = stored(tranche)  # e.g. an admin form opened before the payment was recorded

    services.disburse(tranche, D("60000.00"), PAID_ON)
    editing.notes = "Signed copy filed."
    editing.full_clean()
    editing.save()

    assert stored(tranche).disbursed_amount == D("60000.00")


def test_amount_and_status_changes_keep_a_history():
    tranche = stored(TrancheFactory(amount=D("100000.00")))
    tranche.amount = D("120000.00")
    tranche._change_reason = "Amendment 1"
    tranche.save()

    latest, created = tranche.history.all()[:2]
    assert (created.amount, latest.amount) == (D("100000.00"), D("120000.00"))
    assert latest.history_change_reason == "Amendment 1"


# --- disbursement rows ------------------------------------------------------------------------


@pytest.mark.parametrize("amount", [D("0"), D("-1.00")])
def test_database_refuses_a_disbursement_that_is_not_positive(amount):
    with pytest.raises(IntegrityError), transaction.atomic():
        DisbursementFactory(amount=amount)


# --- loan terms -------------------------------------------------------------------------------


@pytest.fixture
def loan_terms():
    # The factory's terms: 2% a year, 60 months of which 12 grace, semi-annual, annuity.
    return LoanTermsFactory(tranche__amount=D("1000000.00"))


def test_loan_schedule_first_annuity_payment_matches_hand_computation(loan_terms):
    # r = 2% * 6/12 = 1% per half year; 10 instalments, 2 interest-only, then 8 annuities:
    # 1,000,000 * 0.01 / (1 - 1.01^-8) = 130,690.292... -> 130,690.29
    schedule = loan_terms.schedule()

    assert len(schedule) == 10
    assert [i.payment for i in schedule[:2]] == [D("10000.00"), D("10000.00")]
    assert [i.principal for i in schedule[:2]] == [D("0.00"), D("0.00")]
    assert schedule[2].payment == D("130690.29")
    assert schedule[2].principal == D("120690.29")
    assert schedule[0].due_on == date(2026, 6, 30)
    assert schedule[2].due_on == date(2027, 6, 30)
    assert sum(i.principal for i in schedule) == D("1000000.00")
    assert schedule[-1].closing_balance == D("0.00")


def test_loan_schedule_follows_the_tranche_amount(loan_terms):
    tranche = loan_terms.tranche
    tranche.amount = D("500000.00")
    tranche.save()

    schedule = LoanTerms.objects.get(pk=loan_terms.pk).schedule()

    assert sum(i.principal for i in schedule) == D("500000.00")


def test_loan_terms_are_valid_for_a_loan_tranche(loan_terms):
    LoanTerms.objects.get(pk=loan_terms.pk).full_clean()


@pytest.mark.parametrize("instrument", [Tranche.Instrument.GRANT, Tranche.Instrument.RESULTS_BASED])
def test_loan_terms_on_a_non_loan_tranche_are_refused(instrument):
    terms = LoanTermsFactory.build(tranche=TrancheFactory(instrument=instrument))

    assert errors_of(terms)["tranche"] == ["Loan terms belong to a loan tranche."]


def test_loan_terms_that_cannot_make_a_schedule_are_refused():
    terms = LoanTermsFactory.build(
        tranche=TrancheFactory(instrument=Tranche.Instrument.LOAN), tenor_months=61
    )

    with pytest.raises(ValidationError, match="tenor_months must be a multiple"):
        terms.full_clean()


@pytest.mark.parametrize(
    "terms",
    [
        {"grace_months": 60},  # grace as long as the tenor
        {"tenor_months": 0, "grace_months": 0},
        {"frequency_months": 5},
        {"annual_rate_percent": D("-0.001")},
        {"annual_rate_percent": D("100.001")},
    ],
)
def test_database_refuses_impossible_loan_terms(terms):
    with pytest.raises(IntegrityError), transaction.atomic():
        LoanTermsFactory(**terms)


# --- what a tranche may still pay -----------------------------------------------------------


def paid(tranche, amount):
    DisbursementFactory(tranche=tranche, amount=amount)  # the row and the stored total
    return Tranche.objects.select_related("payout_terms").get(pk=tranche.pk)


def test_a_committed_grant_may_pay_what_is_left_of_its_amount():
    grant = paid(TrancheFactory(amount=D("100000.00")), D("60000.00"))

    assert grant.disbursable_limit == D("100000.00")
    assert grant.payable_amount == D("40000.00")


def test_a_fully_paid_tranche_has_nothing_payable():
    grant = paid(TrancheFactory(amount=D("100000.00")), D("100000.00"))

    assert grant.payable_amount == D("0.00")


@pytest.mark.parametrize("status", [Tranche.Status.PLANNED, Tranche.Status.CANCELLED])
def test_a_tranche_that_is_not_committed_has_nothing_payable(status):
    tranche = TrancheFactory(status=status, committed_on=None)

    assert tranche.undisbursed_amount == D("100000.00")
    assert tranche.payable_amount == D("0.00")


def test_results_based_funding_with_nothing_earned_has_nothing_payable():
    terms = PayoutTermsFactory()  # no verified result yet: nothing earned

    tranche = Tranche.objects.select_related("payout_terms").get(pk=terms.tranche_id)

    assert tranche.undisbursed_amount == D("100000.00")
    assert tranche.disbursable_limit == D("0.00")
    assert tranche.payable_amount == D("0.00")


def test_results_based_funding_without_payout_terms_has_nothing_payable():
    tranche = TrancheFactory(instrument=Tranche.Instrument.RESULTS_BASED)

    assert tranche.payable_amount == D("0.00")


def test_results_based_funding_pays_what_results_earned_less_what_was_paid():
    terms = PayoutTermsFactory()
    terms.eligible_amount = D("25000.00")
    terms.save()

    tranche = paid(terms.tranche, D("10000.00"))

    assert tranche.disbursable_limit == D("25000.00")
    assert tranche.payable_amount == D("15000.00")


def test_results_based_funding_never_pays_past_its_amount():
    terms = PayoutTermsFactory(tranche__amount=D("20000.00"))
    type(terms).objects.filter(pk=terms.pk).update(eligible_amount=D("25000.00"))

    tranche = Tranche.objects.select_related("payout_terms").get(pk=terms.tranche_id)

    assert tranche.payable_amount == D("20000.00")

"""services.save_tranche: a tranche and its loan terms saved together, as the user may, or not
at all."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from funding import services
from funding.models import LoanTerms, Tranche
from tests.factories import (
    FunderFactory,
    LoanTermsFactory,
    MembershipFactory,
    ProjectFactory,
    TrancheFactory,
)

pytestmark = pytest.mark.django_db

D = Decimal
TERMS = {
    "annual_rate_percent": D("0.750"),
    "tenor_months": 120,
    "grace_months": 24,
    "method": "annuity",
    "frequency_months": 6,
    "first_payment_date": date(2027, 6, 30),
}


@pytest.fixture
def bank():
    return FunderFactory(name="Bank")


@pytest.fixture
def officer(bank):
    return MembershipFactory(organisation=bank).user


def new_loan(bank, **fields):
    return Tranche(
        project=ProjectFactory(),
        funder=bank,
        instrument=Tranche.Instrument.LOAN,
        purpose=Tranche.Purpose.LAUNCH,
        amount=D("120000.00"),
        currency="EUR",
        status=Tranche.Status.COMMITTED,
        committed_on=date(2025, 2, 1),
        funder_reference="LOAN-1",
        **fields,
    )


def test_a_new_loan_is_saved_with_its_terms_and_history_names_the_user(bank, officer):
    tranche = services.save_tranche(new_loan(bank), officer, loan_terms=TERMS)

    stored = LoanTerms.objects.get(tranche__funder_reference="LOAN-1")
    assert stored.tranche_id == tranche.pk
    assert {name: getattr(stored, name) for name in TERMS} == TERMS
    assert tranche.history.get().history_user == officer
    assert stored.history.get().history_user == officer


def test_terms_that_fail_take_a_new_tranche_back_with_them(bank, officer):
    bad = TERMS | {"tenor_months": 61}  # not a multiple of the six-monthly frequency

    with pytest.raises(services.LoanTermsRefused) as refused:
        services.save_tranche(new_loan(bank), officer, loan_terms=bad)

    assert "multiple of frequency_months" in str(refused.value.messages)
    assert not Tranche.objects.filter(funder_reference="LOAN-1").exists()
    assert not LoanTerms.objects.exists()


def test_terms_that_fail_take_a_tranche_change_back_with_them(bank, officer):
    terms = LoanTermsFactory(tranche__funder=bank, tranche__amount=D("100000.00"))
    tranche = Tranche.objects.get(pk=terms.tranche_id)
    tranche.amount = D("150000.00")

    with pytest.raises(services.LoanTermsRefused) as refused:
        services.save_tranche(tranche, officer, loan_terms={"grace_months": 60})

    assert set(refused.value.message_dict) == {"__all__"}  # grace as long as the tenor
    assert Tranche.objects.get(pk=tranche.pk).amount == D("100000.00")
    assert LoanTerms.objects.get(pk=terms.pk).grace_months == 12


def test_a_refused_tranche_is_a_plain_validation_error_and_saves_no_terms(bank, officer):
    tranche = new_loan(bank, covers_from=date(2026, 1, 1), covers_until=date(2025, 1, 1))

    with pytest.raises(ValidationError) as refused:
        services.save_tranche(tranche, officer, loan_terms=TERMS)

    assert not isinstance(refused.value, services.LoanTermsRefused)
    assert "covers_until" in refused.value.message_dict
    assert not LoanTerms.objects.exists()


def test_some_term_values_change_only_those_of_the_stored_terms(bank, officer):
    terms = LoanTermsFactory(tranche__funder=bank)

    services.save_tranche(terms.tranche, officer, loan_terms={"annual_rate_percent": D("1.5")})

    stored = LoanTerms.objects.get(tranche=terms.tranche)
    assert stored.pk == terms.pk
    assert (stored.annual_rate_percent, stored.tenor_months) == (D("1.500"), 60)


def test_none_removes_the_terms_and_leaving_them_out_keeps_them(bank, officer):
    kept = LoanTermsFactory(tranche__funder=bank)
    removed = LoanTermsFactory(tranche__funder=bank)

    services.save_tranche(kept.tranche, officer)
    services.save_tranche(removed.tranche, officer, loan_terms=None)

    assert LoanTerms.objects.filter(pk=kept.pk).exists()
    assert not LoanTerms.objects.filter(pk=removed.pk).exists()


def test_an_officer_cannot_save_a_tranche_or_terms_of_another_funder(officer):
    others = LoanTermsFactory()
    tranche = Tranche.objects.get(pk=others.tranche_id)
    tranche.amount = D("1.00")

    with pytest.raises(PermissionDenied):
        services.save_tranche(tranche, officer, loan_terms=TERMS)

    assert Tranche.objects.get(pk=tranche.pk).amount == D("100000.00")
    assert LoanTerms.objects.get(pk=others.pk).tenor_months == 60


def test_terms_cannot_move_from_another_funders_tranche(bank, officer):
    others = LoanTermsFactory()
    own = TrancheFactory(funder=bank, instrument=Tranche.Instrument.LOAN)
    others.tranche = own

    with pytest.raises(PermissionDenied):
        services.save_loan_terms(others, own, officer)

    assert LoanTerms.objects.get(pk=others.pk).tranche_id != own.pk

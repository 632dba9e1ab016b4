"""A tranche's loan and payout terms as the API reads them: on PostgreSQL from the copies a
trigger keeps in the tranche's row, which must agree with the terms themselves after every
kind of write, and answer the list byte for byte as the join did."""

from datetime import date
from decimal import Decimal

import pytest
from django.db.models import OuterRef, Subquery
from rest_framework.test import APIClient

from evaluations import services as evaluation_services
from funding import services, tranche_terms
from funding.api import TrancheViewSet
from funding.models import LoanTerms, Tranche
from funding.tranche_terms import COPIES, tranches_with_terms
from portfolio.models import Membership, Role
from tests.evaluations.factories import EvaluatorFactory, PayoutTermsFactory, reported
from tests.factories import FunderFactory, LoanTermsFactory, ProjectFactory, TrancheFactory

pytestmark = pytest.mark.django_db

LOAN_TERMS = {
    "annual_rate_percent": Decimal("0.750"),
    "tenor_months": 240,
    "grace_months": 60,
    "method": "annuity",
    "frequency_months": 6,
    "first_payment_date": date(2030, 6, 30),
}


def shown(related):
    """Each column of a related row, with the type and text the API would write it from."""
    if related is None:
        return None
    return {
        field.attname: (type(value).__name__, str(value))
        for field in related._meta.concrete_fields
        for value in [getattr(related, field.attname)]
    }


def terms_of(tranches):
    return {
        tranche.pk: {name: shown(getattr(tranche, name, None)) for name in COPIES}
        for tranche in tranches
    }


def assert_copies_agree(django_assert_num_queries):
    """The copies, read in one query, say what a join of the terms tables says."""
    with django_assert_num_queries(1):
        copied = terms_of(tranches_with_terms().order_by("pk"))
    joined = terms_of(Tranche.objects.select_related(*COPIES).order_by("pk"))
    assert copied == joined
    return copied


@pytest.fixture
def checked(postgres, django_assert_num_queries):
    return lambda: assert_copies_agree(django_assert_num_queries)


def test_loan_terms_written_with_the_tranche_are_copied_and_follow_each_change(checked):
    loan = TrancheFactory.build(
        instrument=Tranche.Instrument.LOAN, project=ProjectFactory(), funder=FunderFactory()
    )
    services.save_tranche(loan, loan_terms=LOAN_TERMS)
    TrancheFactory()  # a grant, with no terms
    copied = checked()
    assert copied[loan.pk]["loan_terms"]["annual_rate_percent"] == ("Decimal", "0.750")
    assert copied[loan.pk]["loan_terms"]["first_payment_date"] == ("date", "2030-06-30")

    services.save_tranche(loan, loan_terms={**LOAN_TERMS, "annual_rate_percent": Decimal("1.5")})
    assert checked()[loan.pk]["loan_terms"]["annual_rate_percent"] == ("Decimal", "1.500")

    services.save_tranche(loan, loan_terms=None)
    assert checked()[loan.pk]["loan_terms"] is None


def test_terms_inserted_updated_and_deleted_in_bulk_are_copied(checked):
    tranches = TrancheFactory.create_batch(3, instrument=Tranche.Instrument.LOAN)
    LoanTerms.objects.bulk_create(
        LoanTerms(tranche=tranche, **{**LOAN_TERMS, "tenor_months": 120 + i})
        for i, tranche in enumerate(tranches)
    )
    checked()

    LoanTerms.objects.filter(tranche=tranches[0]).update(grace_months=6)
    assert checked()[tranches[0].pk]["loan_terms"]["grace_months"] == ("int", "6")

    LoanTerms.objects.filter(tranche=tranches[1]).delete()
    Tranche.objects.filter(pk=tranches[2].pk).delete()  # its terms go with it
    copied = checked()
    assert copied[tranches[1].pk]["loan_terms"] is None
    assert tranches[2].pk not in copied


def test_terms_moved_to_another_tranche_leave_the_first_without_a_copy(checked):
    terms = LoanTermsFactory()
    other = TrancheFactory(instrument=Tranche.Instrument.LOAN)
    LoanTerms.objects.filter(pk=terms.pk).update(tranche=other)
    copied = checked()
    assert copied[terms.tranche_id]["loan_terms"] is None
    assert copied[other.pk]["loan_terms"]["tranche_id"] == ("int", str(other.pk))


def test_a_tranche_saved_from_an_earlier_read_keeps_the_newer_terms(checked):
    terms = LoanTermsFactory()
    read_before = Tranche.objects.get(pk=terms.tranche_id)
    LoanTerms.objects.filter(pk=terms.pk).update(tenor_months=99)
    read_before.notes = "Edited from a page opened before the terms changed."
    read_before.save()
    assert checked()[terms.tranche_id]["loan_terms"]["tenor_months"] == ("int", "99")


def test_the_copy_of_payout_terms_follows_what_verified_results_earn(checked):
    evaluator = EvaluatorFactory()
    terms = PayoutTermsFactory(target__value=Decimal("1000"), minimum_achievement=Decimal("0.2"))
    copied = checked()
    assert copied[terms.tranche_id]["payout_terms"]["eligible_amount"] == ("Decimal", "0.00")
    assert copied[terms.tranche_id]["payout_terms"]["achievement"] == ("NoneType", "None")

    evaluation_services.verify_measurement(
        reported(terms, "250", "2025-01-01", "2025-03-31"), evaluator
    )
    copied = checked()
    assert copied[terms.tranche_id]["payout_terms"]["eligible_amount"] == ("Decimal", "25000.00")
    assert copied[terms.tranche_id]["payout_terms"]["achievement"] == ("Decimal", "0.2500")
    assert copied[terms.tranche_id]["payout_terms"]["minimum_achievement"] == (
        "Decimal",
        "0.2000",
    )


def test_the_tranche_list_answers_the_same_from_the_copies_as_by_a_join(
    postgres, demo, monkeypatch
):
    manager = Membership.objects.filter(role=Role.PORTFOLIO_MANAGER).get().user
    client = APIClient()
    client.force_authenticate(manager)
    loans = Tranche.objects.filter(instrument=Tranche.Instrument.LOAN, loan_terms__isnull=False)
    paid_on_results = Tranche.objects.filter(payout_terms__isnull=False)
    assert loans.exists() and paid_on_results.exists()

    def answers():
        pages = ["/api/v1/tranches/?page_size=500", f"/api/v1/tranches/{loans.first().pk}/"]
        return [client.get(page).content for page in pages]

    copied = answers()
    monkeypatch.setattr(TrancheViewSet, "queryset", Tranche.objects.select_related(*COPIES))
    assert answers() == copied
    assert b'"annual_rate_percent"' in copied[0] and b'"earned_amount"' in copied[0]


def test_elsewhere_than_postgresql_the_terms_are_read_by_a_join(monkeypatch):
    monkeypatch.setattr(tranche_terms.connection, "vendor", "sqlite")
    query = tranches_with_terms().query
    assert set(query.select_related) == set(COPIES)


def test_a_copy_read_within_another_query_names_that_querys_own_table(postgres):
    terms = LoanTermsFactory()
    grant = TrancheFactory()
    inner = tranches_with_terms().filter(pk=OuterRef("pk")).values("loan_terms_copy")[:1]
    found = Tranche.objects.filter(pk__in=[terms.tranche_id, grant.pk])
    found = found.annotate(copy=Subquery(inner)).filter(copy__isnull=False)
    assert [tranche.pk for tranche in found] == [terms.tranche_id]

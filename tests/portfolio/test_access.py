"""The role table: who reads and who changes what, below the API, the pages and the admin."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied

from evaluations.models import Indicator, Measurement
from funding import services
from funding.models import Disbursement, LapseFlag, LoanTerms, Tranche
from portfolio import access
from portfolio.models import ExchangeRate
from projects.models import Project
from reporting.models import ExportJob
from tests.factories import (
    FunderFactory,
    TrancheFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def bank(cast):
    return cast.funder_a


@pytest.fixture
def people(cast):
    return cast.users


WRITES = {
    # model: who may add one
    Tranche: {"officer", "other_officer", "manager"},
    Indicator: {"evaluator", "manager"},
    ExchangeRate: {"finance", "manager"},
    Project: {"manager"},
    LapseFlag: set(),
}


@pytest.mark.parametrize("model", list(WRITES), ids=lambda m: m.__name__)
def test_each_role_adds_only_what_the_role_table_allows(people, model):
    allowed = {name for name, user in people.items() if access.may(user, access.ADD, model)}

    assert allowed == WRITES[model]


def test_everyone_with_a_role_reads_and_a_user_without_one_sees_nothing(people):
    TrancheFactory()
    readers = {name for name, user in people.items() if access.visible(user, Project.objects.all())}

    assert readers == {"officer", "other_officer", "evaluator", "finance", "manager"}


def test_donor_officer_changes_only_its_own_organisations_tranches(people, bank):
    own = TrancheFactory(funder=bank)
    others = TrancheFactory()

    assert access.may(people["officer"], access.CHANGE, own)
    assert not access.may(people["officer"], access.CHANGE, others)
    assert access.may(people["officer"], access.ADD, Disbursement(tranche=own))
    assert not access.may(people["officer"], access.ADD, Disbursement(tranche=others))


def test_only_funders_of_the_project_and_managers_acknowledge_its_flags(people, bank):
    tranche = TrancheFactory(funder=bank)
    flag = LapseFlag(project=tranche.project, kind="lapsed", gap_start=date(2026, 1, 1))

    assert access.may(people["officer"], access.ACKNOWLEDGE, flag)
    assert access.may(people["manager"], access.ACKNOWLEDGE, flag)
    assert not access.may(people["other_officer"], access.ACKNOWLEDGE, flag)
    assert not access.may(people["finance"], access.ACKNOWLEDGE, flag)


def test_only_evaluators_and_managers_review_measurements(people):
    allowed = {
        name for name, user in people.items() if access.may(user, access.REVIEW, Measurement)
    }

    assert allowed == {"evaluator", "manager"}


@pytest.mark.parametrize("name", ["evaluator", "manager"])
def test_nobody_reviews_a_measurement_they_reported(people, name):
    reviewer = people[name]
    allowed = {
        who
        for who, user in people.items()
        if access.may(user, access.REVIEW, Measurement(reported_by=reviewer))
    }

    assert allowed == {"evaluator", "manager"} - {name}
    with pytest.raises(PermissionDenied, match="reported or changed"):
        access.check(reviewer, access.REVIEW, Measurement(reported_by=reviewer))


def test_a_refusal_says_why(people):
    with pytest.raises(PermissionDenied, match="only their own organisation's tranches"):
        access.check(people["officer"], access.CHANGE, TrancheFactory())


def test_officer_cannot_move_a_tranche_to_another_funder(people, bank):
    tranche = TrancheFactory(funder=bank)
    tranche.funder = FunderFactory()

    with pytest.raises(PermissionDenied):
        services.save_tranche(tranche, people["officer"])

    assert Tranche.objects.get(pk=tranche.pk).funder == bank


def test_officer_cannot_take_over_another_funders_tranche(people, bank):
    tranche = TrancheFactory()
    tranche.funder = bank

    with pytest.raises(PermissionDenied):
        services.save_tranche(tranche, people["officer"])


def test_save_tranche_records_who_changed_it(people, bank):
    tranche = TrancheFactory(funder=bank, amount=Decimal("100.00"))
    tranche.amount = Decimal("250.00")

    services.save_tranche(tranche, people["officer"])

    latest = Tranche.history.filter(id=tranche.pk).latest("history_date")
    assert (latest.amount, latest.history_user) == (Decimal("250.00"), people["officer"])


def test_admin_asks_the_role_table(people):
    assert people["finance"].has_perm("portfolio.change_exchangerate")
    assert not people["finance"].has_perm("funding.add_tranche")
    assert people["evaluator"].has_perm("evaluations.add_measurement")
    assert not people["no_role"].has_module_perms("funding")


def test_loan_terms_follow_their_tranches_funder(people, bank):
    own = TrancheFactory(funder=bank, instrument=Tranche.Instrument.LOAN)
    others = TrancheFactory(instrument=Tranche.Instrument.LOAN)
    terms = {
        "annual_rate_percent": Decimal("0.750"),
        "tenor_months": 120,
        "grace_months": 24,
        "frequency_months": 6,
        "first_payment_date": date(2028, 6, 30),
    }

    services.save_loan_terms(LoanTerms(**terms), own, people["officer"])
    with pytest.raises(PermissionDenied):
        services.save_loan_terms(LoanTerms(**terms), others, people["officer"])
    with pytest.raises(PermissionDenied):
        services.remove_loan_terms(own, people["other_officer"])

    assert LoanTerms.objects.filter(tranche=own).exists()
    assert not LoanTerms.objects.filter(tranche=others).exists()


def test_an_export_is_downloaded_only_by_who_asked_for_it_and_managers(people):
    job = ExportJob(requested_by=people["finance"])

    allowed = {name for name, user in people.items() if access.may(user, access.DOWNLOAD, job)}

    assert allowed == {"finance", "manager"}

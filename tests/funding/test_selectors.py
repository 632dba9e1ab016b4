"""Read models of money: what a tranche may still pay, and one project's coverage on a date."""

from datetime import date
from decimal import Decimal

import pytest

from funding import coverage, selectors
from funding.models import Tranche
from projects.models import Project
from tests.evaluations.factories import PayoutTermsFactory
from tests.factories import DisbursementFactory, ProjectFactory, TrancheFactory

pytestmark = pytest.mark.django_db

D = Decimal


def paid(tranche, amount):
    DisbursementFactory(tranche=tranche, amount=amount)  # the row and the stored total
    return Tranche.objects.select_related("payout_terms").get(pk=tranche.pk)


# --- payable amount ---------------------------------------------------------------------------


def test_a_committed_grant_may_pay_what_is_left_of_its_amount():
    grant = paid(TrancheFactory(amount=D("100000.00")), D("60000.00"))

    assert selectors.disbursable_limit(grant) == D("100000.00")
    assert selectors.payable_amount(grant) == D("40000.00")


def test_a_fully_paid_tranche_has_nothing_payable():
    grant = paid(TrancheFactory(amount=D("100000.00")), D("100000.00"))

    assert selectors.payable_amount(grant) == D("0.00")


@pytest.mark.parametrize("status", [Tranche.Status.PLANNED, Tranche.Status.CANCELLED])
def test_a_tranche_that_is_not_committed_has_nothing_payable(status):
    tranche = TrancheFactory(status=status, committed_on=None)

    assert tranche.undisbursed_amount == D("100000.00")
    assert selectors.payable_amount(tranche) == D("0.00")


def test_results_based_funding_with_nothing_earned_has_nothing_payable():
    terms = PayoutTermsFactory()  # no verified result yet: nothing earned

    tranche = Tranche.objects.select_related("payout_terms").get(pk=terms.tranche_id)

    assert tranche.undisbursed_amount == D("100000.00")
    assert selectors.disbursable_limit(tranche) == D("0.00")
    assert selectors.payable_amount(tranche) == D("0.00")


def test_results_based_funding_without_payout_terms_has_nothing_payable():
    tranche = TrancheFactory(instrument=Tranche.Instrument.RESULTS_BASED)

    assert selectors.payable_amount(tranche) == D("0.00")


def test_results_based_funding_pays_what_results_earned_less_what_was_paid():
    terms = PayoutTermsFactory()
    terms.eligible_amount = D("25000.00")
    terms.save()

    tranche = paid(terms.tranche, D("10000.00"))

    assert selectors.disbursable_limit(tranche) == D("25000.00")
    assert selectors.payable_amount(tranche) == D("15000.00")


def test_results_based_funding_never_pays_past_its_amount():
    terms = PayoutTermsFactory(tranche__amount=D("20000.00"))
    type(terms).objects.filter(pk=terms.pk).update(eligible_amount=D("25000.00"))

    tranche = Tranche.objects.select_related("payout_terms").get(pk=terms.tranche_id)

    assert selectors.payable_amount(tranche) == D("20000.00")


# --- one project's coverage -------------------------------------------------------------------


def test_a_launched_projects_coverage_is_judged_with_its_forecast():
    project = ProjectFactory(launched=True, sustainability_months=36)  # 2025-01-01..2027-12-31
    TrancheFactory(project=project, maintenance=True)  # secured 2025
    TrancheFactory(
        project=project,
        maintenance=True,
        planned=True,
        covers_from=date(2026, 1, 1),
        covers_until=date(2026, 6, 30),
    )

    judged = selectors.project_coverage(project, date(2025, 11, 15))

    a = judged.assessment
    assert a.window == coverage.Interval(date(2025, 1, 1), date(2027, 12, 31))
    assert a.secured == [coverage.Interval(date(2025, 1, 1), date(2025, 12, 31))]
    assert a.pipeline == [coverage.Interval(date(2025, 1, 1), date(2026, 6, 30))]
    assert a.next_gap == coverage.Interval(date(2026, 1, 1), date(2027, 12, 31))
    assert a.days_to_lapse == 47
    assert len(judged.forecast) == selectors.FORECAST_MONTHS
    assert judged.forecast[0].month == date(2025, 11, 1)
    january = judged.forecast[2]
    assert (january.month, january.secured_days, january.pipeline_only_days) == (
        date(2026, 1, 1),
        0,
        31,
    )


def test_the_forecast_covers_the_months_asked_for():
    project = ProjectFactory(launched=True)

    judged = selectors.project_coverage(project, date(2025, 3, 1), months=6)

    assert [m.month for m in judged.forecast] == [date(2025, n, 1) for n in range(3, 9)]


@pytest.mark.parametrize("status", [Project.Status.IMPLEMENTING, Project.Status.PIPELINE])
def test_a_project_not_launched_has_no_coverage_to_judge(status):
    project = ProjectFactory(status=status)
    TrancheFactory(project=project, maintenance=True)

    judged = selectors.project_coverage(project, date(2025, 6, 1))

    assert (judged.project_id, judged.code) == (project.pk, project.code)
    assert judged.assessment is None
    assert judged.forecast == []

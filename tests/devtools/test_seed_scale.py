"""manage.py seed_scale: a synthetic portfolio that is complete, consistent and built in bulk."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext

from devtools import synthetic
from evaluations.models import Indicator, Measurement, PayoutTerms, Target
from funding import scan
from funding.models import Disbursement, FlagKind, LapseFlag, LoanTerms, Tranche
from projects.models import Project
from tests.factories import ProjectFactory


def seed(*args):
    call_command("seed_scale", *args)


def synthetic_tranches():
    return Tranche.objects.filter(project__portfolio__name=synthetic.PORTFOLIO_NAME)


@pytest.mark.django_db
def test_builds_tranches_of_every_instrument_purpose_and_status_with_results():
    seed("--projects", "20")

    assert Project.objects.filter(portfolio__name=synthetic.PORTFOLIO_NAME).count() == 20
    tranches = synthetic_tranches()
    assert tranches.count() == 20 * synthetic.TRANCHES_PER_PROJECT
    assert set(tranches.values_list("instrument", flat=True)) == set(Tranche.Instrument.values)
    assert set(tranches.values_list("purpose", flat=True)) == set(Tranche.Purpose.values)
    assert set(tranches.values_list("status", flat=True)) == set(Tranche.Status.values)
    assert LoanTerms.objects.count() == tranches.filter(instrument="loan").count()
    assert PayoutTerms.objects.count() == tranches.filter(instrument="results_based").count()
    assert (Indicator.objects.count(), Target.objects.count()) == (20, 20)
    assert Measurement.objects.verified().count() == 80
    assert set(Project.objects.values_list("status", flat=True)) == {"launched", "implementing"}


@pytest.mark.django_db
def test_every_row_passes_the_models_own_validation():
    seed("--projects", "10")

    for model in (Project, Tranche, LoanTerms, PayoutTerms, Indicator, Target, Measurement):
        for row in model.objects.all():
            row.full_clean()


@pytest.mark.django_db
def test_stored_disbursed_totals_match_the_disbursements_and_stay_payable():
    seed("--projects", "10")

    paid = dict(
        Disbursement.objects.values("tranche")
        .annotate(total=Sum("amount"))
        .values_list("tranche", "total")
    )
    assert paid, "some tranches are paid"
    for tranche in synthetic_tranches().select_related("payout_terms"):
        assert tranche.disbursed_amount == paid.get(tranche.pk, Decimal("0.00"))
        assert tranche.disbursed_amount <= tranche.disbursable_limit
        if tranche.status != Tranche.Status.COMMITTED:
            assert tranche.disbursed_amount == 0
    partly = [t for t in synthetic_tranches() if 0 < t.disbursed_amount < t.amount]
    assert partly, "some tranches are only partly paid"


@pytest.mark.django_db
def test_the_scan_finds_the_designed_mix_of_flags():
    seed("--projects", "30")

    scan.scan_lapses(date(2026, 3, 1))

    kinds = LapseFlag.objects.open().values_list("project__code", "kind")
    lapsed = {code for code, kind in kinds if kind == FlagKind.LAPSED}
    # The second maintenance year ends early for every fifth project (never the implementing
    # tenth ones, which are not launched and never flagged).
    assert lapsed == {f"SYN-{i:06d}" for i in range(30) if i % 5 == 0 and i % 10 != 9}
    assert not LapseFlag.objects.filter(project__status="implementing").exists()
    assert not LapseFlag.objects.filter(kind=FlagKind.DISBURSEMENT_OVERDUE).exists()


@pytest.mark.django_db
def test_query_count_does_not_grow_with_the_number_of_projects(postgres):
    # PostgreSQL takes a whole batch in one INSERT; SQLite splits at 999 parameters.
    def queries_for(n):
        with CaptureQueriesContext(connection) as captured:
            seed("--projects", str(n))
        return len(captured)

    seed("--projects", "1")  # each run below then replaces a portfolio: the same clean-up
    assert queries_for(5) == queries_for(50)


@pytest.mark.django_db
def test_rescans_are_not_queued_while_seeding(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        seed("--projects", "5")

    assert callbacks == []


@pytest.mark.django_db
def test_seeding_again_replaces_the_synthetic_portfolio():
    seed("--projects", "8")
    seed("--projects", "4", "--tranches-per-project", "3")

    assert Project.objects.count() == 4
    assert set(synthetic_tranches().values_list("purpose", flat=True)) == {"maintenance"}


@pytest.mark.django_db
def test_refuses_a_database_with_real_projects_unless_forced():
    real = ProjectFactory()

    with pytest.raises(CommandError, match="real projects"):
        seed("--projects", "3")
    assert Project.objects.count() == 1

    seed("--projects", "3", "--force")
    seed("--clean", "--force")

    assert list(Project.objects.all()) == [real]
    assert not Tranche.objects.exists()


@pytest.mark.django_db
def test_clean_removes_everything_synthetic():
    seed("--projects", "5")
    scan.scan_lapses(date(2026, 3, 1))

    seed("--clean")

    for model in (Project, Tranche, Disbursement, LoanTerms, PayoutTerms, Measurement, LapseFlag):
        assert not model.objects.exists(), model


@pytest.mark.django_db
def test_add_indicators_spreads_indicators_with_their_results_over_the_projects():
    synthetic.build(4, with_results=True)

    assert synthetic.add_indicators(6) == 6

    added = Indicator.objects.filter(code__startswith="OUT-").exclude(code="OUT-1")
    assert added.count() == 6
    assert Target.objects.filter(indicator__in=added).count() == 6
    assert Measurement.objects.filter(indicator__in=added, status="verified").count() == 24

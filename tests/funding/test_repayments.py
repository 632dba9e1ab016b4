"""services.record_repayment() and undo_repayment(): the rules, the role table, the history,
two repayments racing for the same outstanding principal, and the repayment_overdue flag."""

import threading
from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from funding import scan, selectors, services
from funding.models import FlagKind, LapseFlag, Repayment, Tranche
from tests.factories import LoanTermsFactory, TrancheFactory

D = Decimal
TODAY = date(2026, 11, 28)


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(date(2026, 11, 28), tick=False):
        yield


def loan(funder=None, disbursed=("60000.00",)):
    """A 100,000.00 loan (2%, 60 months with 12 of grace, semi-annual annuity, first due
    30 Jun 2026) with money disbursed on 1 Feb 2025."""
    extra = {"funder": funder} if funder else {}
    tranche = TrancheFactory(instrument=Tranche.Instrument.LOAN, **extra)
    LoanTermsFactory(tranche=tranche)
    for amount in disbursed:
        services.disburse(tranche, D(amount), date(2025, 2, 1))
    return tranche


@pytest.mark.django_db
def test_a_repayment_is_recorded_with_its_parts_and_history(cast):
    tranche = loan(cast.funder_a)
    repayment = services.record_repayment(
        tranche, date(2026, 6, 30), D("100.00"), D("600.00"), "RCV-1", recorded_by=cast.finance
    )
    repayment.refresh_from_db()
    assert (repayment.principal, repayment.interest, repayment.reference) == (
        D("100.00"),
        D("600.00"),
        "RCV-1",
    )
    assert repayment.history.get().history_user == cast.finance


@pytest.mark.django_db
def test_nobody_repays_more_principal_than_is_outstanding():
    tranche = loan()
    services.record_repayment(tranche, date(2026, 6, 30), D("59000.00"))
    with pytest.raises(ValidationError) as refused:
        services.record_repayment(tranche, date(2026, 7, 1), D("1000.01"))
    assert refused.value.message_dict["principal"] == [
        "Only 1,000.00 USD of principal is outstanding on this loan."
    ]
    services.record_repayment(tranche, date(2026, 7, 1), D("1000.00"))
    assert Repayment.objects.filter(tranche=tranche).count() == 2


@pytest.mark.django_db
def test_a_repayment_is_dated_no_later_than_today():
    tranche = loan()
    with pytest.raises(ValidationError) as refused:
        services.record_repayment(tranche, date(2026, 11, 29), D("10.00"))
    assert "received_on" in refused.value.message_dict
    services.record_repayment(tranche, TODAY, D("10.00"))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("principal", "interest", "field"),
    [("0", "0", "principal"), ("-1", "5", "principal"), ("5", "-1", "interest")],
)
def test_a_repayment_needs_money_and_no_negative_part(principal, interest, field):
    tranche = loan()
    with pytest.raises(ValidationError) as refused:
        services.record_repayment(tranche, TODAY, D(principal), D(interest))
    assert field in refused.value.message_dict
    assert not Repayment.objects.exists()


@pytest.mark.django_db
def test_only_a_loan_with_money_out_is_repaid():
    grant = TrancheFactory()
    with pytest.raises(ValidationError) as refused:
        services.record_repayment(grant, TODAY, D("1.00"))
    assert "tranche" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        services.record_repayment(loan(disbursed=()), TODAY, D("0"), D("1.00"))
    assert "received_on" in refused.value.message_dict


@pytest.mark.django_db
def test_the_role_table_lets_finance_staff_and_managers_record_repayments(cast):
    tranche = loan(cast.funder_a)
    for role in ("finance", "manager"):
        services.record_repayment(tranche, TODAY, D("1.00"), recorded_by=cast[role])
    for role in ("officer", "other_officer", "evaluator", "no_role"):
        with pytest.raises(PermissionDenied):
            services.record_repayment(tranche, TODAY, D("1.00"), recorded_by=cast[role])
    repayment = Repayment.objects.first()
    with pytest.raises(PermissionDenied):
        services.undo_repayment(repayment, cast.officer, "Wrong loan")
    services.undo_repayment(repayment, cast.finance, "Wrong loan")


@pytest.mark.django_db
def test_a_repayment_is_undone_once_with_its_reason_kept():
    tranche = loan()
    repayment = services.record_repayment(tranche, TODAY, D("500.00"))
    with pytest.raises(ValidationError):
        services.undo_repayment(repayment, reason=" ")
    services.undo_repayment(repayment, reason="Bank reversed it")
    assert not Repayment.objects.exists()
    assert repayment.history.latest().history_change_reason == "Bank reversed it"
    with pytest.raises(services.AlreadyUndone):
        services.undo_repayment(repayment, reason="Again")


@pytest.mark.django_db
def test_a_disbursement_is_not_undone_below_the_principal_repaid():
    tranche = loan(disbursed=("40000.00", "20000.00"))
    services.record_repayment(tranche, TODAY, D("45000.00"))
    last = tranche.disbursements.order_by("-amount").first()
    with pytest.raises(ValidationError):
        services.undo_disbursement(last, reason="Entered twice")
    assert Tranche.objects.get(pk=tranche.pk).disbursed_amount == D("60000.00")


# --- two repayments at the same moment (PostgreSQL: real row locks) ------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_repayments_never_repay_more_than_is_outstanding(postgres):
    for _round in range(3):
        tranche = loan()
        barrier = threading.Barrier(2)
        outcomes = []

        def contender(tranche_id=tranche.pk, barrier=barrier, outcomes=outcomes):
            try:
                mine = Tranche.objects.get(pk=tranche_id)
                barrier.wait(timeout=10)
                outcomes.append(services.record_repayment(mine, TODAY, D("40000.00")))
            except Exception as error:  # noqa: BLE001 - the outcome is what the test inspects
                outcomes.append(error)
            finally:
                connection.close()

        threads = [threading.Thread(target=contender) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert sum(isinstance(o, Repayment) for o in outcomes) == 1, outcomes
        assert sum(isinstance(o, ValidationError) for o in outcomes) == 1, outcomes
        assert Repayment.objects.filter(tranche=tranche).count() == 1


# --- the repayment_overdue flag --------------------------------------------------------------


@pytest.mark.django_db
def test_the_scan_raises_repayment_overdue_once_and_resolves_it_when_paid():
    # 60,000.00 out since 1 Feb 2025 at 2% semi-annual: the first instalment (30 Jun 2026,
    # interest only) is unpaid on 28 Nov 2026.
    tranche = loan()
    first = scan.scan_lapses(TODAY)
    again = scan.scan_lapses(TODAY)
    flags = LapseFlag.objects.filter(project=tranche.project, kind=FlagKind.REPAYMENT_OVERDUE)
    assert flags.open().count() == 1
    assert flags.get().gap_start == date(2026, 6, 30)
    assert (first.raised, again.raised) >= (1, 0)
    assert again.raised == 0

    status = selectors.loan_statuses([tranche], TODAY)[tranche.pk]
    services.record_repayment(tranche, TODAY, D("0"), status.interest_in_arrears)
    scan.scan_lapses(TODAY)
    assert not flags.open().exists()
    assert flags.get().resolved_at is not None


@pytest.mark.django_db
def test_loan_statuses_cost_three_queries_however_many_loans(django_assert_num_queries):
    tranches = [loan() for _ in range(4)]
    services.record_repayment(tranches[0], TODAY, D("100.00"), D("5.00"))
    with django_assert_num_queries(3):
        statuses = selectors.loan_statuses(Tranche.objects.all(), TODAY)
    assert set(statuses) == {t.pk for t in tranches}
    assert statuses[tranches[0].pk].principal_outstanding == D("59900.00")
    assert statuses[tranches[1].pk].principal_outstanding == D("60000.00")


@pytest.mark.django_db(transaction=True)  # autocommit, as a web request reads
def test_one_loans_status_is_read_without_server_side_cursors():
    tranche = loan()
    with CaptureQueriesContext(connection) as read:
        statuses = selectors.loan_statuses([tranche], TODAY)
    assert set(statuses) == {tranche.pk}
    # A detail page reads three small results: a cursor's extra round trips would cost more.
    assert len(read.captured_queries) == 3
    assert not any(q["sql"].startswith("DECLARE") for q in read.captured_queries)


@pytest.mark.django_db
def test_a_loans_payments_are_read_by_tranche_id_without_joining_the_tranches_again():
    tranche = loan()
    services.record_repayment(tranche, TODAY, D("100.00"), D("5.00"))
    with CaptureQueriesContext(connection) as read:
        status = selectors.loan_statuses([tranche.pk], TODAY)[tranche.pk]
    assert status.principal_outstanding == D("59900.00")
    payments = [
        q["sql"]
        for q in read.captured_queries
        if "funding_disbursement" in q["sql"] or "funding_repayment" in q["sql"]
    ]
    # A join back to the tranches let stale statistics pick a nested loop of table scans.
    assert len(payments) == 2
    assert not any("funding_tranche" in sql for sql in payments)


@pytest.mark.django_db
def test_a_loan_in_arrears_goes_into_the_digests_of_finance_staff_and_managers(cast):
    tranche = loan(cast.funder_a)
    result = scan.scan_lapses(TODAY, dry_run=True)
    for role in ("finance", "manager", "officer"):
        kinds = {line["kind"] for line in result.digests[cast[role].email]}
        assert FlagKind.REPAYMENT_OVERDUE in kinds, role
    assert cast.other_officer.email not in result.digests  # not their loan
    line = next(
        line
        for line in result.digests[cast.finance.email]
        if line["project"] == tranche.project.code
    )
    assert line["kind_label"] == "Repayment overdue"

"""The lapse scan on the database: flags raised, updated, resolved, announced once."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from config.celery import app
from funding import coverage, services
from funding import scan as lapse_scan
from funding.models import LapseFlag, LapseReminder, Tranche
from portfolio.models import Role
from projects.models import Project
from tests.factories import (
    CostLineFactory,
    ExchangeRateFactory,
    FunderFactory,
    MembershipFactory,
    ProjectFactory,
    TrancheFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

LAUNCH = date(2025, 1, 1)  # obligation window 2025-01-01 .. 2027-12-31


@pytest.fixture
def eager_tasks():
    """Run queued tasks in-process, so digests are sent while the test watches."""
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture
def funder():
    return FunderFactory(name="Regional Development Bank")


@pytest.fixture
def officer(funder):
    return MembershipFactory(
        user=UserFactory(username="officer", email="officer@bank.example"), organisation=funder
    ).user


@pytest.fixture
def manager():
    return MembershipFactory(
        user=UserFactory(username="manager", email="manager@fund.example"),
        role=Role.PORTFOLIO_MANAGER,
    ).user


def launched(**kwargs):
    return ProjectFactory(status=Project.Status.LAUNCHED, launch_date=LAUNCH, **kwargs)


def costing(project, amount, currency="USD"):
    """The project's plan: one "other" line of `amount` a year (what 0006 made of an annual
    maintenance cost)."""
    CostLineFactory(project=project, annual_cost=Decimal(amount), currency=currency)
    return project


def maintenance(project, funder, start, end, status=Tranche.Status.COMMITTED, **kwargs):
    return TrancheFactory(
        project=project,
        funder=funder,
        purpose=Tranche.Purpose.MAINTENANCE,
        covers_from=start,
        covers_until=end,
        status=status,
        committed_on=LAUNCH if status == Tranche.Status.COMMITTED else None,
        **kwargs,
    )


def open_kinds(project):
    return set(LapseFlag.objects.open().filter(project=project).values_list("kind", flat=True))


def snapshot():
    return list(LapseFlag.objects.order_by("pk").values()), list(
        LapseReminder.objects.order_by("pk").values()
    )


def scan(as_of, capture, **kwargs):
    with capture(execute=True):
        return lapse_scan.scan_lapses(as_of, **kwargs)


def test_design_examples_raise_lapsed_at_risk_and_unsecured(
    funder, django_capture_on_commit_callbacks
):
    lapsed, at_risk, unsecured = launched(), launched(), launched()
    maintenance(lapsed, funder, LAUNCH, date(2026, 1, 31))
    maintenance(at_risk, funder, LAUNCH, date(2026, 4, 30))
    maintenance(unsecured, funder, LAUNCH, date(2026, 4, 30))
    maintenance(
        unsecured, funder, date(2026, 5, 1), date(2027, 12, 31), status=Tranche.Status.PLANNED
    )

    result = scan(date(2026, 3, 1), django_capture_on_commit_callbacks)

    assert open_kinds(lapsed) == {"lapsed"}
    assert open_kinds(at_risk) == {"at_risk"}
    assert open_kinds(unsecured) == {"unsecured"}
    flag = LapseFlag.objects.get(project=lapsed)
    assert (flag.gap_start, flag.gap_end, flag.days_to_lapse) == (
        date(2026, 2, 1),
        date(2027, 12, 31),
        -28,
    )
    assert (result.raised, result.escalated, result.resolved, result.open) == (3, 0, 0, 3)


def test_second_scan_on_the_same_date_changes_nothing_and_sends_nothing(
    funder, officer, eager_tasks, django_capture_on_commit_callbacks
):
    project = launched()
    maintenance(project, funder, LAUNCH, date(2026, 4, 30))
    scan(date(2026, 3, 1), django_capture_on_commit_callbacks)
    before, sent = snapshot(), len(mail.outbox)

    result = scan(date(2026, 3, 1), django_capture_on_commit_callbacks)

    assert snapshot() == before
    assert len(mail.outbox) == sent
    assert (result.raised, result.escalated, result.resolved, result.open) == (0, 0, 0, 1)


def test_committing_the_planned_tranche_resolves_unsecured(
    funder, django_capture_on_commit_callbacks
):
    project = launched()
    maintenance(project, funder, LAUNCH, date(2026, 4, 30))
    planned = maintenance(
        project, funder, date(2026, 5, 1), date(2027, 12, 31), status=Tranche.Status.PLANNED
    )
    scan(date(2026, 3, 1), django_capture_on_commit_callbacks)
    assert open_kinds(project) == {"unsecured"}

    planned.status, planned.committed_on = Tranche.Status.COMMITTED, date(2026, 3, 2)
    planned.save()
    result = scan(date(2026, 3, 2), django_capture_on_commit_callbacks)

    assert open_kinds(project) == set()
    assert result.resolved == 1
    resolved = LapseFlag.objects.get(project=project)
    assert resolved.resolved_at is not None, "the flag's history is kept"


def test_escalation_to_lapsed_is_emailed_exactly_once(
    funder, officer, manager, eager_tasks, django_capture_on_commit_callbacks
):
    project = launched(code="KE-ID-01", title="Digital ID")
    maintenance(project, funder, LAUNCH, date(2026, 4, 30))

    scan(date(2026, 3, 1), django_capture_on_commit_callbacks)
    assert sorted(m.to[0] for m in mail.outbox) == ["manager@fund.example", "officer@bank.example"]
    assert "New flag: At risk" in mail.outbox[0].body
    mail.outbox.clear()

    result = scan(date(2026, 5, 1), django_capture_on_commit_callbacks)
    assert result.escalated == 1 and result.raised == 0
    assert open_kinds(project) == {"lapsed"}
    assert LapseFlag.objects.get(project=project, kind="lapsed").escalated_from == "at_risk"
    assert len(mail.outbox) == 2
    assert all("ESCALATED" in m.body and "KE-ID-01" in m.body for m in mail.outbox)
    mail.outbox.clear()

    scan(date(2026, 5, 1), django_capture_on_commit_callbacks)
    scan(date(2026, 5, 2), django_capture_on_commit_callbacks)
    assert mail.outbox == []


def test_officers_of_other_funders_are_not_told(
    funder, officer, eager_tasks, django_capture_on_commit_callbacks
):
    other = FunderFactory()
    MembershipFactory(user=UserFactory(email="other@donor.example"), organisation=other)
    project = launched()
    maintenance(project, funder, LAUNCH, date(2026, 4, 30))

    scan(date(2026, 3, 1), django_capture_on_commit_callbacks)

    assert [m.to for m in mail.outbox] == [["officer@bank.example"]]


def test_cancelled_tranches_count_for_nothing(funder, django_capture_on_commit_callbacks):
    project = launched()
    maintenance(project, funder, LAUNCH, date(2027, 12, 31), status=Tranche.Status.CANCELLED)

    scan(date(2026, 3, 1), django_capture_on_commit_callbacks)

    assert open_kinds(project) == {"lapsed", "no_maintenance"}


@pytest.mark.parametrize(
    "status", [Project.Status.CLOSED, Project.Status.CANCELLED, Project.Status.IMPLEMENTING]
)
def test_projects_not_live_are_never_flagged(status, django_capture_on_commit_callbacks):
    ProjectFactory(status=status, launch_date=LAUNCH if status == Project.Status.CLOSED else None)

    # After the window: a project closed within it is no longer flagged either.
    result = scan(date(2028, 1, 1), django_capture_on_commit_callbacks)

    assert result.open == 0 and not LapseFlag.objects.exists()


def test_closing_a_project_resolves_its_flags(funder, django_capture_on_commit_callbacks):
    project = launched()
    scan(date(2026, 3, 1), django_capture_on_commit_callbacks)
    assert open_kinds(project) == {"lapsed", "no_maintenance"}

    Project.objects.filter(pk=project.pk).update(status=Project.Status.CLOSED)
    scan(date(2026, 3, 2), django_capture_on_commit_callbacks, projects=[project.pk])

    # Monitoring does not stop silently: closing inside the window is a flag of its own.
    assert open_kinds(project) == {"closed_within_window"}
    flag = LapseFlag.objects.open().get(project=project)
    assert (flag.gap_start, flag.gap_end) == (None, date(2027, 12, 31))

    scan(date(2028, 1, 1), django_capture_on_commit_callbacks, projects=[project.pk])
    assert open_kinds(project) == set()


def test_project_launched_yesterday_without_maintenance_gets_no_maintenance(
    django_capture_on_commit_callbacks,
):
    with time_machine.travel(date(2026, 6, 16)):
        project = ProjectFactory(status=Project.Status.LAUNCHED, launch_date=date(2026, 6, 15))
        TrancheFactory(project=project, purpose=Tranche.Purpose.LAUNCH)
        scan(None, django_capture_on_commit_callbacks)

    assert "no_maintenance" in open_kinds(project)
    flag = LapseFlag.objects.get(project=project, kind="no_maintenance")
    assert flag.last_seen_on == date(2026, 6, 16)


def test_overdue_disbursement_is_raised_and_resolved_by_the_scan(
    funder, django_capture_on_commit_callbacks
):
    tranche = TrancheFactory(
        funder=funder, expected_disbursement_on=date(2026, 2, 1), committed_on=date(2026, 1, 1)
    )
    project = tranche.project

    scan(date(2026, 2, 1), django_capture_on_commit_callbacks)
    assert open_kinds(project) == set()
    scan(date(2026, 2, 2), django_capture_on_commit_callbacks)
    assert open_kinds(project) == {"disbursement_overdue"}

    services.disburse(tranche, Decimal("10.00"), date(2026, 2, 3))
    scan(date(2026, 2, 3), django_capture_on_commit_callbacks)
    assert open_kinds(project) == set()


def test_reminders_are_sent_once_per_threshold(
    funder, officer, eager_tasks, django_capture_on_commit_callbacks
):
    project = launched()
    project.portfolio.reminder_days = [180, 90, 30]
    project.portfolio.lapse_warning_days = 10  # keep at_risk flags out of the way
    project.portfolio.save()
    maintenance(project, funder, LAUNCH, date(2026, 12, 31))

    scan(date(2026, 7, 3), django_capture_on_commit_callbacks)  # 181 days before the lapse
    assert mail.outbox == []
    scan(date(2026, 7, 5), django_capture_on_commit_callbacks)  # 180 days
    scan(date(2026, 7, 6), django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 1 and "ends in 180 days" in mail.outbox[0].body
    scan(
        date(2026, 12, 2), django_capture_on_commit_callbacks
    )  # 30 days: the 90-day mark passed unseen
    assert len(mail.outbox) == 2 and "ends in 30 days" in mail.outbox[1].body
    assert set(LapseReminder.objects.values_list("threshold_days", flat=True)) == {180, 90, 30}
    scan(date(2026, 12, 3), django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 2


def test_underfunded_uses_converted_amounts(funder, django_capture_on_commit_callbacks):
    ExchangeRateFactory(
        currency="EUR", to_currency="USD", rate=Decimal("1.10"), valid_on=date(2026, 1, 1)
    )
    project = costing(launched(), "120000.00")
    # 300,000 EUR over three years is 100,000 EUR = 110,000 USD a year: 10,000 short of 120,000.
    maintenance(
        project, funder, LAUNCH, date(2027, 12, 31), amount=Decimal("300000.00"), currency="EUR"
    )

    scan(date(2026, 3, 1), django_capture_on_commit_callbacks)

    assert open_kinds(project) == {"underfunded"}
    assert LapseFlag.objects.get(project=project).shortfall == Decimal("10000.00")


def test_a_plan_of_one_other_line_raises_the_flags_its_annual_cost_did(
    funder, django_capture_on_commit_callbacks
):
    """What migration 0006 made of an annual maintenance cost, the plan's one "other" line
    over the whole window, is judged as that cost was on every day: the need over the next 12
    months is the cost at the as-of rate times the days over 365 (the old rule, written out
    here), through the window's last year, where the period is cut at its end."""
    ExchangeRateFactory(
        currency="EUR", to_currency="USD", rate=Decimal("1.10"), valid_on=date(2024, 12, 1)
    )
    ExchangeRateFactory(
        currency="EUR", to_currency="USD", rate=Decimal("1.20"), valid_on=date(2026, 1, 1)
    )
    project = costing(launched(sustainability_months=24), "100000.00", currency="EUR")
    signed = [
        maintenance(project, funder, LAUNCH, date(2026, 6, 30), amount=Decimal("150000.00")),
        maintenance(
            project, funder, date(2026, 1, 1), date(2026, 3, 31), amount=Decimal("20000.00")
        ),
    ]
    planned = maintenance(
        project, funder, date(2026, 7, 1), date(2026, 12, 31), status=Tranche.Status.PLANNED
    )

    def annual_cost_was(as_of):
        rate = Decimal("1.20") if as_of >= date(2026, 1, 1) else Decimal("1.10")
        annual = (Decimal("100000.00") * rate).quantize(Decimal("0.01"))
        return lambda period: annual * period.days() / 365

    service_wide = {"lapsed", "at_risk", "unsecured", "no_maintenance", "underfunded"}
    seen = set()
    for as_of in (LAUNCH + timedelta(days=40 * n) for n in range(20)):
        scan(as_of, django_capture_on_commit_callbacks)
        was = coverage.assess(
            coverage.obligation_window(LAUNCH, 24),
            [coverage.Interval(t.covers_from, t.covers_until) for t in signed],
            [coverage.Interval(planned.covers_from, planned.covers_until)],
            as_of,
            warning_days=project.portfolio.lapse_warning_days,
            plan_cost=annual_cost_was(as_of),
            funded=[coverage.FundedPeriod(t.covers_from, t.covers_until, t.amount) for t in signed],
        ).flags
        found = LapseFlag.objects.open().filter(project=project, kind__in=service_wide)
        assert {(f.kind, f.gap_start, f.gap_end, f.shortfall) for f in found} == {
            (f.kind, f.gap_start, f.gap_end, f.shortfall) for f in was
        }, as_of
        seen |= {f.kind for f in was}
    assert seen == {"underfunded", "unsecured", "lapsed"}


def test_dry_run_saves_nothing(funder, django_capture_on_commit_callbacks):
    launched()
    result = scan(date(2026, 3, 1), django_capture_on_commit_callbacks, dry_run=True)

    assert result.raised == 2
    assert not LapseFlag.objects.exists()


def test_scan_queries_do_not_grow_with_projects(
    funder, officer, manager, django_capture_on_commit_callbacks
):
    def build(n):
        for i in range(n):
            project = costing(launched(), "50000.00")
            maintenance(project, funder, LAUNCH, date(2026, 1, 31 if i % 2 else 28))
            maintenance(
                project, funder, date(2026, 2, 1), date(2027, 12, 31), status=Tranche.Status.PLANNED
            )

    def count_queries():
        with CaptureQueriesContext(connection) as queries:
            scan(date(2026, 3, 1), django_capture_on_commit_callbacks)
        LapseFlag.objects.all().delete()
        LapseReminder.objects.all().delete()
        statements = [q["sql"] for q in queries.captured_queries]
        # Reads: SELECTs, and on PostgreSQL the server-side cursors (DECLARE) that read the
        # big tables; not the advisory lock.
        reads = [
            sql
            for sql in statements
            if sql.startswith(("SELECT", "DECLARE")) and "pg_advisory" not in sql
        ]
        return len(statements), len(reads)

    build(10)
    small_total, small_reads = count_queries()
    build(190)
    large_total, large_reads = count_queries()

    # 13 (projects, tranches, cost lines, allocations, rates, overdue disbursements, closed
    # projects, open flags, reminder days, managers, officers, funders, money out of step),
    # and one for the loan terms (repayment_overdue); a portfolio with loans reads their
    # disbursements and repayments too (selectors.loan_statuses: three queries in all).
    assert small_reads == large_reads <= 14
    if connection.vendor == "postgresql":
        # SQLite caps the rows of one INSERT at its variable limit; PostgreSQL does not.
        assert small_total == large_total


def test_open_flag_follows_its_moving_gap(funder, django_capture_on_commit_callbacks):
    project = costing(launched(), "120000.00")
    maintenance(project, funder, LAUNCH, date(2027, 12, 31), amount=Decimal("150000.00"))
    scan(date(2026, 3, 1), django_capture_on_commit_callbacks)

    result = scan(date(2026, 3, 2), django_capture_on_commit_callbacks)

    flag = LapseFlag.objects.get(project=project)
    assert (result.raised, result.open) == (0, 1)
    assert (flag.kind, flag.gap_start, flag.gap_end) == (
        "underfunded",
        date(2026, 3, 2),
        date(2027, 3, 1),
    )
    assert flag.last_seen_on == date(2026, 3, 2) and flag.shortfall == Decimal("70000.00")


# --- the daily reconciliation of disbursed totals -------------------------------------------


def test_the_daily_scan_raises_an_alarm_when_a_total_is_not_the_sum_of_its_rows(
    funder, manager, eager_tasks, caplog, django_capture_on_commit_callbacks
):
    tranche = TrancheFactory(funder=funder, funder_reference="D-9", amount=Decimal("1000.00"))
    services.disburse(tranche, Decimal("900.00"), date(2025, 3, 1))
    # What the doubled undo left behind: 810.00 stored against 900.00 of rows.
    Tranche.objects.filter(pk=tranche.pk).update(disbursed_amount=Decimal("810.00"))
    mail.outbox.clear()
    try:
        result = scan(date(2026, 3, 1), django_capture_on_commit_callbacks)
    finally:  # PostgreSQL checks the totals again as the test's transaction ends
        Tranche.objects.filter(pk=tranche.pk).update(disbursed_amount=Decimal("900.00"))

    assert [(t.tranche_id, t.stored, t.rows) for t in result.out_of_step] == [
        (tranche.pk, Decimal("810.00"), Decimal("900.00"))
    ]
    assert result.as_dict()["totals_out_of_step"] == 1
    assert "records 810.00 USD disbursed, but its disbursements sum to 900.00" in caplog.text
    (alarm,) = [m for m in mail.outbox if "out of step" in m.subject]
    assert alarm.to == [manager.email]
    assert "stored 810.00 USD, rows sum to 900.00 USD" in alarm.body
    # A rescan of a few projects does not reconcile (it runs on every save); the daily one does.
    Tranche.objects.filter(pk=tranche.pk).update(disbursed_amount=Decimal("810.00"))
    try:
        assert (
            scan(date(2026, 3, 1), django_capture_on_commit_callbacks, projects=[]).out_of_step
            == []
        )
    finally:
        Tranche.objects.filter(pk=tranche.pk).update(disbursed_amount=Decimal("900.00"))


def test_the_daily_scan_is_quiet_when_every_total_adds_up(
    funder, django_capture_on_commit_callbacks
):
    tranche = TrancheFactory(funder=funder)
    services.disburse(tranche, Decimal("10.00"), date(2025, 3, 1))
    TrancheFactory(funder=funder)

    assert scan(date(2026, 3, 1), django_capture_on_commit_callbacks).out_of_step == []

"""manage.py seed_demo: a believable demo portfolio, the same on every run, right on any day."""

import contextlib
from datetime import UTC, date, datetime
from io import StringIO

import pytest
import time_machine
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db.models import Sum
from django.utils import timezone

from devtools.management.commands.seed_demo import DEMO_PASSWORD, PORTFOLIO_NAME
from funding import coverage
from funding.lines import LineCost, cost_over
from funding.models import (
    Disbursement,
    Instrument,
    LapseFlag,
    LoanTerms,
    Purpose,
    Repayment,
    Tranche,
)
from portfolio.models import ExchangeRate, Membership, Organisation, Portfolio, Role
from projects.models import Project
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db

# What the lapse scan must find on each launched demo project, whatever day the demo is loaded.
EXPECTED_FLAGS = {
    "KE-ID-01": set(),
    "RW-EHR-01": {coverage.LAPSED},
    "GH-PAY-01": {coverage.AT_RISK},
    "SN-CRVS-01": {coverage.UNSECURED},
    "BD-SCH-01": {coverage.LAPSED, coverage.NO_MAINTENANCE},
    "NP-LAND-01": {coverage.UNDERFUNDED},
    "PE-MIG-01": set(),
}
ALL_KINDS = {
    coverage.LAPSED,
    coverage.AT_RISK,
    coverage.UNSECURED,
    coverage.NO_MAINTENANCE,
    coverage.UNDERFUNDED,
}


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    # Each run hashes the new users' passwords; logins below still check them for real.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def without_results(monkeypatch):
    """Money side only: skip the demo results (devtools.demo_results is tested with its app, and
    is most of the seeding time). Patched where the command looks the function up."""
    monkeypatch.setattr("devtools.management.commands.seed_demo.seed_results", lambda *args: None)


def seed(*args):
    out = StringIO()
    call_command("seed_demo", "--force", *args, stdout=out)
    return out.getvalue()


def test_refuses_to_run_without_debug_unless_forced(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="known password"):
        call_command("seed_demo", stdout=StringIO())
    assert not Project.objects.exists()


def travel_to(day):
    """Midday UTC on `day` (so the local date is `day`), or the real today for None."""
    if day is None:
        return contextlib.nullcontext()
    return time_machine.travel(datetime(day.year, day.month, day.day, 12, tzinfo=UTC), tick=False)


def snapshot():
    """Every row of every model, history included."""
    return {
        model._meta.label: list(model.objects.order_by("pk").values())
        for model in apps.get_models()
    }


def demo_tranches():
    return Tranche.objects.filter(project__portfolio__name=PORTFOLIO_NAME)


def flags_by_project(today):
    """Lapse flag kinds of each launched demo project, from its maintenance tranches and what
    its plan costs."""
    portfolio = Portfolio.objects.get(name=PORTFOLIO_NAME)
    rates = ExchangeRate.table(portfolio.reporting_currency)
    found = {}
    for project in portfolio.projects.launched():
        secured, planned, funded = [], [], []
        maintenance = list(project.tranches.maintenance().not_cancelled())
        for tranche in maintenance:
            interval = coverage.Interval(tranche.covers_from, tranche.covers_until)
            if tranche.status == Tranche.Status.COMMITTED:
                secured.append(interval)
                value = rates.convert(tranche.amount, tranche.currency, today).amount
                funded.append(coverage.FundedPeriod(interval.start, interval.end, value))
            else:
                planned.append(interval)
        plan = [
            LineCost(
                row.category,
                rates.convert(row.annual_cost, row.currency, today).amount,
                row.starts_on,
                row.ends_on,
            )
            for row in project.cost_lines.all()
        ]
        assessment = coverage.assess(
            coverage.obligation_window(project.launch_date, project.sustainability_months),
            secured,
            planned,
            today,
            warning_days=portfolio.lapse_warning_days,
            has_maintenance=bool(maintenance),
            plan_cost=(lambda period, plan=plan: cost_over(plan, None, period)) if plan else None,
            funded=funded,
        )
        found[project.code] = {flag.kind for flag in assessment.flags}
    return found


def test_it_loads_a_believable_portfolio():
    seed()
    today = timezone.localdate()

    portfolio = Portfolio.objects.get(name=PORTFOLIO_NAME)
    assert (portfolio.reporting_currency, portfolio.lapse_warning_days) == ("USD", 90)
    assert portfolio.reminder_days == [180, 90, 30]
    projects = portfolio.projects.all()
    assert projects.count() >= 10
    assert len({str(project.country) for project in projects}) >= 5
    assert {project.status for project in projects} == set(Project.Status.values)

    funder_types = set(
        Organisation.objects.filter(is_funder=True).values_list("funder_type", flat=True)
    )
    assert funder_types >= {"multilateral_bank", "bilateral_donor", "philanthropy"}
    assert Organisation.objects.filter(is_implementer=True).count() >= 3
    assert Organisation.objects.filter(is_evaluator=True).exists()

    tranches = demo_tranches()
    assert {t.instrument for t in tranches} == set(Instrument.values)
    assert {t.purpose for t in tranches} == set(Purpose.values)
    assert all(t.funder_reference for t in tranches)
    loans = tranches.filter(instrument=Instrument.LOAN)
    assert LoanTerms.objects.filter(tranche__in=loans).count() == loans.count() > 0

    currencies = {t.currency for t in tranches}
    assert len(currencies) >= 3
    for tranche in tranches.exclude(currency="USD"):
        # Every dated tranche converts into the reporting currency on its own dates.
        for day in (tranche.committed_on, tranche.covers_from, today):
            if day:
                ExchangeRate.convert(tranche.amount, tranche.currency, "USD", day)
    assert {rate.currency for rate in ExchangeRate.objects.filter(to_currency="USD")} >= (
        currencies - {"USD"}
    )

    states = {t.disbursement_state for t in tranches}
    assert states == {"none", "partial", "full"}
    for disbursement in Disbursement.objects.select_related("tranche"):
        assert disbursement.tranche.committed_on <= disbursement.disbursed_on <= today
    assert tranches.filter(
        status=Tranche.Status.COMMITTED, expected_disbursement_on__lt=today, disbursed_amount=0
    ).exists(), "one committed tranche is overdue"
    assert tranches.filter(
        instrument=Instrument.RESULTS_BASED,
        status=Tranche.Status.COMMITTED,
        project__status=Project.Status.LAUNCHED,
    ).exists()


@pytest.mark.usefixtures("without_results")
def test_every_seeded_row_passes_model_validation():
    seed()
    for model in (
        Portfolio,
        Organisation,
        Membership,
        Project,
        Tranche,
        LoanTerms,
        ExchangeRate,
        Disbursement,
    ):
        for row in model.objects.all():
            try:
                row.full_clean()
            except ValidationError as error:
                pytest.fail(f"{model.__name__} {row}: {error}")


@pytest.mark.usefixtures("without_results")
def test_one_user_per_role_logs_in_with_the_demo_password(client):
    seed()
    expected = {
        "officer": (Role.DONOR_OFFICER, "multilateral_bank"),
        "officer2": (Role.DONOR_OFFICER, "bilateral_donor"),
        "evaluator": (Role.EVALUATOR, ""),
        "evaluator2": (Role.EVALUATOR, ""),  # two, so each verifies what the other reported
        "finance": (Role.FINANCE, "multilateral_bank"),
        "manager": (Role.PORTFOLIO_MANAGER, "multilateral_bank"),
    }
    for username, (role, funder_type) in expected.items():
        membership = Membership.objects.select_related("user", "organisation").get(
            user__username=username
        )
        assert (membership.role, membership.organisation.funder_type) == (role, funder_type)
        user = membership.user
        assert user.first_name and user.last_name and user.email
        assert user.is_superuser == user.is_staff == (username == "manager")
        assert client.login(username=username, password=DEMO_PASSWORD), username
        client.logout()
    assert Membership.objects.get(user__username="evaluator").organisation.is_evaluator


def test_a_second_run_changes_nothing():
    seed()
    before = snapshot()
    totals = dict(demo_tranches().values_list("funder_reference", "disbursed_amount"))
    paid = Disbursement.objects.aggregate(total=Sum("amount"))["total"]

    output = seed()

    assert snapshot() == before
    assert dict(demo_tranches().values_list("funder_reference", "disbursed_amount")) == totals
    assert Disbursement.objects.aggregate(total=Sum("amount"))["total"] == paid > 0
    assert DEMO_PASSWORD not in output, "no new users and DEBUG off: no passwords printed"


@pytest.mark.usefixtures("without_results")
def test_an_existing_account_keeps_its_password():
    get_user_model().objects.create_user("manager", password="a-real-password")
    seed()
    manager = get_user_model().objects.get(username="manager")
    assert manager.check_password("a-real-password")
    assert not manager.is_superuser


@pytest.mark.usefixtures("without_results")
def test_a_rerun_on_a_later_day_moves_the_demo_to_that_day():
    with travel_to(date(2031, 3, 1)):
        seed()
    disbursements = Disbursement.objects.count()
    with travel_to(date(2031, 5, 20)):
        seed()
        assert flags_by_project(timezone.localdate()) == EXPECTED_FLAGS
    assert Disbursement.objects.count() == disbursements
    for tranche in Tranche.objects.all():
        tranche.full_clean()  # among others: never signed after its first disbursement


def test_if_empty_leaves_a_database_with_projects_alone():
    ProjectFactory()
    before = snapshot()
    output = seed("--if-empty")
    assert snapshot() == before
    assert not Portfolio.objects.filter(name=PORTFOLIO_NAME).exists()
    assert DEMO_PASSWORD not in output


@pytest.mark.usefixtures("without_results")
def test_logins_are_printed_in_debug_or_when_the_users_were_just_created(settings):
    settings.DEBUG = False
    assert DEMO_PASSWORD in seed("--if-empty")
    assert Portfolio.objects.get().name == PORTFOLIO_NAME
    assert DEMO_PASSWORD not in seed("--if-empty")
    assert DEMO_PASSWORD not in seed()

    settings.DEBUG = True
    output = seed("--if-empty")
    for username in ("officer", "officer2", "evaluator", "finance", "manager"):
        assert username in output
    assert DEMO_PASSWORD in output


@pytest.mark.usefixtures("without_results")
@pytest.mark.parametrize(
    "day",
    [None, date(2030, 6, 15), date(2028, 2, 29), date(2027, 1, 31)],
    ids=["today", "2030-06-15", "leap-day", "month-end"],
)
def test_launched_projects_show_every_lapse_situation(day):
    with travel_to(day):
        seed()
        today = timezone.localdate()
        found = flags_by_project(today)
    if day:
        assert today == day
    assert found == EXPECTED_FLAGS
    assert set().union(*found.values()) == ALL_KINDS


def test_its_loans_are_repaid_but_one_is_in_arrears(without_results):
    seed()
    repaid = set(Repayment.objects.values_list("tranche__funder_reference", flat=True).distinct())
    assert repaid == {"RDB-2301", "RDB-2401"}
    overdue = LapseFlag.objects.open().filter(kind="repayment_overdue")
    assert set(overdue.values_list("project__code", flat=True)) == {"BD-SCH-01"}
    seed()  # a rerun pays nothing twice
    assert Repayment.objects.filter(tranche__funder_reference__in=repaid).count() == len(
        set(Repayment.objects.values_list("reference", flat=True))
    )


# What the scan finds in the demo's sustainability plans (devtools/demo_plans.py).
EXPECTED_PLAN_FLAGS = {
    "KE-ID-01": {coverage.LINE_UNFUNDED},
    "NP-LAND-01": {coverage.NO_HANDOVER_PLAN},
    "GH-PROC-01": {coverage.CLOSED_WITHIN_WINDOW},
}
PLAN_KINDS = {coverage.LINE_UNFUNDED, coverage.NO_HANDOVER_PLAN, coverage.CLOSED_WITHIN_WINDOW}


@pytest.mark.usefixtures("without_results")
@pytest.mark.parametrize(
    "day",
    [None, date(2030, 6, 15), date(2028, 2, 29), date(2027, 1, 31)],
    ids=["today", "2030-06-15", "leap-day", "month-end"],
)
def test_the_plans_show_an_unfunded_line_a_missing_handover_and_a_project_closed_early(day):
    from funding.models import LapseFlag

    with travel_to(day):
        seed()
    found = {}
    for code, kind, lines in LapseFlag.objects.open().values_list("project__code", "kind", "lines"):
        if kind in PLAN_KINDS:
            found.setdefault(code, set()).add(kind)
            if kind == coverage.LINE_UNFUNDED:
                assert lines.startswith("cybersecurity from "), lines
            if kind == coverage.NO_HANDOVER_PLAN:
                assert lines == "hosting"
    assert found == EXPECTED_PLAN_FLAGS

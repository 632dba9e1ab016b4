"""The lapse scan on sustainability plans: per-line flags raised, updated and resolved, once."""

from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from funding import scan as lapse_scan
from funding import selectors, services
from funding.models import Allocation, LapseFlag, Tranche
from projects.models import CostLine, Project
from tests.factories import FunderFactory, ProjectFactory, TrancheFactory

pytestmark = pytest.mark.django_db

LAUNCH = date(2025, 1, 1)  # obligation window 2025-01-01 .. 2027-12-31


def launched(**kwargs):
    return ProjectFactory(status=Project.Status.LAUNCHED, launch_date=LAUNCH, **kwargs)


def line(project, category, cost="10000", **kwargs):
    return CostLine.objects.create(
        project=project, category=category, annual_cost=Decimal(cost), currency="USD", **kwargs
    )


def maintenance(project, funder, start, end, status=Tranche.Status.COMMITTED, amount="30000"):
    return TrancheFactory(
        project=project,
        funder=funder,
        purpose=Tranche.Purpose.MAINTENANCE,
        covers_from=start,
        covers_until=end,
        status=status,
        amount=Decimal(amount),
        currency="USD",
        committed_on=LAUNCH if status == Tranche.Status.COMMITTED else None,
    )


def allocate(tranche, category, **kwargs):
    return services.save_allocation(Allocation(tranche=tranche, category=category, **kwargs))


def open_flags(project):
    return {f.kind: f for f in LapseFlag.objects.open().filter(project=project)}


def scan(as_of, capture, **kwargs):
    with capture(execute=True):
        return lapse_scan.scan_lapses(as_of, **kwargs)


@pytest.fixture
def digital_id():
    """Hosting paid by a bank for the whole window, security and support by a foundation
    until the end of February 2026: security is unfunded from 1 March. The bank gives more
    than the whole plan costs a year, so the service as a whole is not underfunded."""
    project = launched(code="KE-ID-01")
    for category in ("hosting", "cybersecurity", "user_support"):
        line(project, category)
    bank, foundation = FunderFactory(name="Bank"), FunderFactory(name="Foundation")
    hosting = maintenance(project, bank, LAUNCH, date(2027, 12, 31), amount="100000")
    allocate(hosting, "hosting", share=100)
    foundation_tranche = maintenance(project, foundation, LAUNCH, date(2026, 2, 28))
    allocate(foundation_tranche, "cybersecurity", amount=Decimal("20000"))
    allocate(foundation_tranche, "user_support", amount=Decimal("10000"))
    return project


def test_cybersecurity_unfunded_from_1_march_is_one_flag_naming_the_lines(
    digital_id, django_capture_on_commit_callbacks
):
    result = scan(date(2026, 1, 15), django_capture_on_commit_callbacks)

    flags = open_flags(digital_id)
    # Hosting runs on, so the service as a whole has not lapsed: only the lines have.
    assert set(flags) == {"line_unfunded"}
    flag = flags["line_unfunded"]
    assert (flag.gap_start, flag.gap_end) == (date(2026, 3, 1), date(2027, 12, 31))
    assert flag.lines == "cybersecurity from 2026-03-01; user support from 2026-03-01"
    assert flag.days_to_lapse == 45
    assert result.raised == 1

    again = scan(date(2026, 1, 15), django_capture_on_commit_callbacks)
    assert (again.raised, again.resolved, again.open) == (0, 0, 1)
    assert LapseFlag.objects.filter(project=digital_id).count() == 1


def test_funding_the_line_resolves_the_flag_and_keeps_its_history(
    digital_id, django_capture_on_commit_callbacks
):
    scan(date(2026, 1, 15), django_capture_on_commit_callbacks)
    later = maintenance(digital_id, FunderFactory(), date(2026, 3, 1), date(2027, 12, 31))
    allocate(later, "cybersecurity", share=60)

    # Support alone remains unfunded: the same flag, updated.
    scan(date(2026, 1, 16), django_capture_on_commit_callbacks)
    flag = open_flags(digital_id)["line_unfunded"]
    assert flag.lines == "user support from 2026-03-01"

    allocate(later, "user_support", share=40)
    scan(date(2026, 1, 17), django_capture_on_commit_callbacks)
    assert open_flags(digital_id) == {}
    assert LapseFlag.objects.get(project=digital_id).resolved_at is not None


def test_saving_a_line_or_an_allocation_rescans_its_project(rescans_on_save):
    project = launched()
    security = line(project, "cybersecurity")
    line(project, "hosting")
    with time_machine.travel(date(2026, 1, 15)):
        # 20,000 a year, what the two lines cost: the service is not underfunded.
        tranche = maintenance(project, FunderFactory(), LAUNCH, date(2027, 12, 31), amount="60000")
        assert open_flags(project) == {}
        allocate(tranche, "hosting", share=100)
        assert open_flags(project)["line_unfunded"].lines == "cybersecurity from 2025-01-01"
        security.delete()
        assert open_flags(project) == {}


def test_underfunded_judges_what_the_plan_costs_so_editing_the_plan_rescans_it(rescans_on_save):
    project = launched()
    line(project, "hosting", "10000")
    with time_machine.travel(date(2026, 1, 15)):
        maintenance(project, FunderFactory(), LAUNCH, date(2027, 12, 31))  # 10,000 a year
        assert open_flags(project) == {}

        security = line(project, "cybersecurity", "5000", starts_on=date(2026, 7, 1))
        # 2026-07-01 .. 2027-01-14 is 198 of the next 365 days: 5000 * 198 / 365.
        assert open_flags(project)["underfunded"].shortfall == Decimal("2712.33")

        security.annual_cost = Decimal("3650")
        security.save()
        assert open_flags(project)["underfunded"].shortfall == Decimal("1980.00")

        security.delete()
        assert open_flags(project) == {}


def test_a_project_without_a_plan_is_judged_exactly_as_before(
    django_capture_on_commit_callbacks,
):
    project = launched()
    maintenance(project, FunderFactory(), LAUNCH, date(2026, 2, 28))
    scan(date(2026, 3, 1), django_capture_on_commit_callbacks)
    assert set(open_flags(project)) == {"lapsed"}
    assert open_flags(project)["lapsed"].lines == ""


def test_a_single_whole_plan_line_adds_no_flag_to_a_lapse(django_capture_on_commit_callbacks):
    project = launched()
    line(project, "other", "1000")
    maintenance(project, FunderFactory(), LAUNCH, date(2026, 2, 28))
    scan(date(2026, 3, 1), django_capture_on_commit_callbacks)
    assert set(open_flags(project)) == {"lapsed", "underfunded"}


def test_no_handover_plan_a_year_before_the_window_ends_until_a_successor_is_named(
    django_capture_on_commit_callbacks,
):
    project = launched()
    hosting = line(project, "hosting")
    maintenance(project, FunderFactory(), LAUNCH, date(2027, 12, 31))

    scan(date(2026, 12, 31), django_capture_on_commit_callbacks)
    assert open_flags(project) == {}

    scan(date(2027, 1, 1), django_capture_on_commit_callbacks)
    flag = open_flags(project)["no_handover_plan"]
    assert (flag.gap_start, flag.lines) == (date(2028, 1, 1), "hosting")

    hosting.successor = "Ministry of ICT, budget line 4.2"
    hosting.save()
    scan(date(2027, 1, 2), django_capture_on_commit_callbacks)
    assert open_flags(project) == {}


def test_allocations_never_give_more_than_the_tranche():
    project = launched()
    line(project, "hosting")
    line(project, "cybersecurity")
    tranche = maintenance(project, FunderFactory(), LAUNCH, date(2025, 12, 31), amount="1000")
    allocate(tranche, "hosting", share=80)
    with pytest.raises(ValidationError) as error:
        allocate(tranche, "cybersecurity", amount=Decimal("200.01"))
    assert "only 200.00 USD is left" in str(error.value)
    assert Allocation.objects.filter(tranche=tranche).count() == 1


def test_an_allocation_is_an_amount_or_a_share_of_a_maintenance_tranche():
    project = launched()
    tranche = maintenance(project, FunderFactory(), LAUNCH, date(2025, 12, 31))
    with pytest.raises(ValidationError, match="either an amount or a share"):
        allocate(tranche, "hosting", amount=Decimal("1"), share=Decimal("1"))
    launch = TrancheFactory(project=project, purpose=Tranche.Purpose.LAUNCH)
    with pytest.raises(ValidationError, match="Only a maintenance tranche"):
        allocate(launch, "hosting", share=Decimal("10"))


def test_a_line_cannot_have_two_costs_on_one_day():
    project = launched()
    line(project, "hosting", ends_on=date(2025, 12, 31))
    grown = CostLine(
        project=project,
        category="hosting",
        annual_cost=Decimal("2"),
        currency="USD",
        starts_on=date(2025, 12, 1),
    )
    with pytest.raises(ValidationError, match="already has a cost"):
        grown.full_clean()
    grown.starts_on = date(2026, 1, 1)
    grown.full_clean()


def test_the_scan_reads_plans_in_queries_that_do_not_grow_with_projects(
    django_capture_on_commit_callbacks,
):
    def build(n):
        funder = FunderFactory()
        for _ in range(n):
            project = launched()
            for category in ("hosting", "cybersecurity"):
                line(project, category)
            allocate(maintenance(project, funder, LAUNCH, date(2026, 2, 28)), "hosting", share=50)

    build(2)
    with CaptureQueriesContext(connection) as few:
        lapse_scan.scan_lapses(date(2026, 1, 15), dry_run=True)
    build(5)
    with CaptureQueriesContext(connection) as many:
        lapse_scan.scan_lapses(date(2026, 1, 15), dry_run=True)
    assert len(many) == len(few)


def test_the_plan_shows_cost_and_money_per_line_per_year(digital_id):
    digital_id.portfolio.reporting_currency = "USD"
    digital_id.portfolio.save()
    plan = selectors.project_plan(digital_id, date(2026, 1, 15))

    assert [p.category for p in plan.lines] == ["hosting", "cybersecurity", "user_support"]
    security = plan.lines[1]
    assert security.coverage.gaps == [
        selectors.coverage.Interval(date(2026, 3, 1), date(2027, 12, 31))
    ]
    money = {y.year: (y.cost, y.secured) for y in security.years}
    assert money[2025] == (Decimal("10000.00"), Decimal("17216.98"))  # 365 of 20000 over 424 days
    assert money[2027] == (Decimal("10000.00"), Decimal("0.00"))
    states = [m.state for m in security.coverage.months]
    assert states[:14] == ["funded"] * 14 and set(states[14:]) == {"gap"}
    assert len(plan.months) == 36

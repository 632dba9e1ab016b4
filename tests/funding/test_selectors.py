"""Read models of money: one project's coverage on a date."""

from datetime import date
from decimal import Decimal

import pytest

from funding import coverage, selectors
from projects.models import Project
from tests.factories import ProjectFactory, TrancheFactory

pytestmark = pytest.mark.django_db

D = Decimal


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

"""The seeded demo's results belong to their projects: each project carries the framework
written for its subject, its evaluations describe it, and its payout pays on its own results."""

from datetime import date
from types import SimpleNamespace

import pytest
from django.utils import timezone

from devtools.demo_results import ACTIVE, EVALUATIONS, FRAMEWORKS, first_month, month_end
from devtools.management.commands.seed_demo import PROJECTS, when
from evaluations.models import Evaluation, Indicator, Measurement, PayoutTerms
from projects.models import Project

pytestmark = pytest.mark.django_db


def test_each_demo_project_is_named_by_exactly_one_framework():
    named = [code for framework in FRAMEWORKS for code in framework["projects"]]

    assert sorted(named) == sorted(row[0] for row in PROJECTS)


def test_each_indicator_belongs_to_the_framework_naming_its_project(demo):
    written = {
        code: {spec["code"] for spec in framework["indicators"]}
        for framework in FRAMEWORKS
        for code in framework["projects"]
    }
    carried = {}
    for project_code, indicator_code in Indicator.objects.filter(
        project__portfolio=demo
    ).values_list("project__code", "code"):
        carried.setdefault(project_code, set()).add(indicator_code)

    assert carried == written


def test_the_birth_registration_evaluation_is_on_the_birth_registration_project(demo):
    births = Evaluation.objects.get(summary__icontains="birth registration")
    identity = Evaluation.objects.get(summary__icontains="enrolment")

    assert births.project.code == "SN-CRVS-01"
    assert births.report_is_public and births.report.name.endswith(".pdf")
    assert identity.project.code == "KE-ID-01"
    assert Evaluation.objects.count() == len(EVALUATIONS)


def test_payouts_pay_on_their_own_projects_results_and_one_has_earned(demo):
    terms = PayoutTerms.objects.select_related("tranche__project", "target__indicator")

    assert terms
    for term in terms:
        framework = next(f for f in FRAMEWORKS if term.tranche.project.code in f["projects"])
        assert term.target.indicator.project == term.tranche.project
        assert term.target.indicator.code == framework["payout_target"][0]
    assert any(term.eligible_amount > 0 for term in terms)


def test_no_result_precedes_its_baseline_or_a_period_still_running(demo):
    today = timezone.localdate()
    for measurement in Measurement.objects.select_related("indicator"):
        assert measurement.indicator.baseline_date < measurement.period_start, measurement
        assert measurement.period_end < today, measurement


@pytest.mark.parametrize(
    "today",
    [date(2027, 1, 1), date(2027, 1, 31), date(2027, 3, 1), date(2027, 3, 31), date(2028, 2, 29)],
)
def test_the_written_results_have_ended_whichever_day_the_demo_is_seeded_on(today):
    launch_of = {code: when(launch, {"today": today}) for code, *_, launch, _, _, _ in PROJECTS}
    status_of = {row[0]: row[4] for row in PROJECTS}
    for framework in FRAMEWORKS:
        for code in framework["projects"]:
            if status_of[code] not in ACTIVE:
                continue
            ends = [row[0][1] for spec in framework["indicators"] for row in spec["measurements"]]
            ends += [spec["completed_at"] for spec in EVALUATIONS if spec["project"] == code]
            month_one = first_month(SimpleNamespace(launch_date=launch_of[code]))
            assert month_end(month_one, max(ends)) < today, code


def test_every_written_result_of_an_active_project_has_ended_and_is_seeded(demo):
    """The written periods fit the launch dates seed_demo gives: none is left out as still
    running, whichever day of the month the demo is seeded on."""
    active = set(
        Project.objects.filter(portfolio=demo, status__in=ACTIVE).values_list("code", flat=True)
    )
    written = sum(
        len(spec["measurements"])
        for framework in FRAMEWORKS
        for code in framework["projects"]
        if code in active
        for spec in framework["indicators"]
    )

    assert Measurement.objects.filter(indicator__project__portfolio=demo).count() == written

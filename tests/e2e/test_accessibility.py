"""axe-core finds no serious or critical accessibility violation on the main pages."""

import pytest

from evaluations.models import Measurement
from funding.models import Tranche
from projects.models import Project

from .conftest import axe_violations, log_in, shot

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_main_pages_have_no_serious_accessibility_violations(page):
    project = Project.objects.get(code="KE-ID-01")
    tranche = Tranche.objects.filter(project=project, status="committed").first()
    page.goto("/accounts/login/")
    found = {"login": axe_violations(page)}
    log_in(page, "manager")
    for name, url in {
        "dashboard": "/",
        "projects": "/projects/",
        "project": project.get_absolute_url(),
        "tranche-form": f"/projects/{project.pk}/tranches/new/",
        "disbursement-form": f"/tranches/{tranche.pk}/disburse/",
        "measurement-form": f"/projects/{project.pk}/measurements/new/",
        "review-queue": "/measurements/review/",
        "measurement": f"/measurements/{Measurement.objects.filter(status='submitted').first().pk}/review/",
        "my-results": "/measurements/mine/",
        "evaluation-form": f"/projects/{project.pk}/evaluations/new/",
        "rates": "/rates/",
        "export": "/exports/",
        "upload": "/tranches/upload/",
    }.items():
        page.goto(url)
        found[name] = axe_violations(page)
    shot(page, "manager-upload")
    assert {name: v for name, v in found.items() if v} == {}

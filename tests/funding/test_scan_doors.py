"""Save a tranche through each door, then read the flags through the same door at once: they are
already those a scan would raise (the rescan runs inside the saving transaction)."""

from datetime import date
from io import BytesIO

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook
from rest_framework.test import APIClient

from funding import scan
from funding.models import Tranche
from funding.tranche_import import IMPORT_COLUMNS, SHEET
from projects.models import Project
from tests.factories import (
    FunderFactory,
    MembershipFactory,
    PortfolioFactory,
    ProjectFactory,
    TrancheFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 1)
LAUNCH = date(2025, 1, 1)
WINDOW_END = date(2027, 12, 31)


@pytest.fixture
def world(rescans_on_save):
    """Two launched projects whose maintenance ran out on 31 January: both lapsed."""
    with time_machine.travel(TODAY, tick=False):
        funder = FunderFactory(name="Donor")
        officer = MembershipFactory(organisation=funder, user=UserFactory(username="officer")).user
        portfolio = PortfolioFactory(name="Fund")
        projects = [
            ProjectFactory(
                portfolio=portfolio, code=code, status=Project.Status.LAUNCHED, launch_date=LAUNCH
            )
            for code in ("KE-01", "KE-02")
        ]
        for project in projects:
            TrancheFactory(
                project=project,
                funder=funder,
                purpose=Tranche.Purpose.MAINTENANCE,
                covers_from=LAUNCH,
                covers_until=date(2026, 1, 31),
            )
        assert dry_run() == {(p.pk, "lapsed") for p in projects}
        yield funder, officer, projects


def dry_run():
    return {(f.project_id, f.kind) for f in scan.scan_lapses(dry_run=True).flags}


def rest_of_window(**extra):
    return {
        "instrument": "grant",
        "purpose": "maintenance",
        "status": "committed",
        "currency": "USD",
        "amount": "90000.00",
        "committed_on": "2026-02-15",
        "covers_from": "2026-02-01",
        "covers_until": WINDOW_END.isoformat(),
        **extra,
    }


@time_machine.travel(TODAY, tick=False)
def test_page_shows_current_flags_right_after_the_save(world, client):
    funder, officer, (project, other) = world
    client.force_login(officer)
    data = {f"tranche-{k}": v for k, v in rest_of_window(funder=funder.pk).items()}

    response = client.post(reverse("tranche-new", args=[project.pk]), data, follow=True)

    assert response.status_code == 200
    assert response.context["project"] == project
    assert response.context["open_flags"] == []
    assert dry_run() == {(other.pk, "lapsed")}


@time_machine.travel(TODAY, tick=False)
def test_api_shows_current_flags_right_after_the_save(world):
    funder, officer, (project, other) = world
    api = APIClient()
    api.force_authenticate(officer)

    created = api.post(
        "/api/v1/tranches/",
        rest_of_window(project=project.pk, funder=funder.pk),
        format="json",
    )
    flags = api.get("/api/v1/lapse-flags/", {"project": project.pk, "open": "true"})
    coverage = api.get(f"/api/v1/projects/{project.pk}/coverage/")

    assert created.status_code == 201, created.json()
    assert flags.json()["results"] == []
    assert coverage.json()["open_flags"] == [] and coverage.json()["gaps"] == []
    assert dry_run() == {(other.pk, "lapsed")}


@time_machine.travel(TODAY, tick=False)
def test_admin_shows_current_flags_right_after_the_save(world, admin_client):
    funder, _, (project, other) = world
    data = {
        "project": project.pk,
        "funder": funder.pk,
        "funder_reference": "",
        "expected_disbursement_on": "",
        "notes": "",
        **rest_of_window(),
    }

    saved = admin_client.post(reverse("admin:funding_tranche_add"), data)
    flags = admin_client.get(
        reverse("admin:funding_lapseflag_changelist"),
        {"project__id__exact": project.pk, "resolved_at__isempty": "1"},
    )

    assert saved.status_code == 302, saved.context["errors"] if saved.context else saved
    assert list(flags.context["cl"].result_list) == []
    assert dry_run() == {(other.pk, "lapsed")}


def workbook(rows):
    book = Workbook()
    sheet = book.active
    sheet.title = SHEET
    sheet.append([column.header for column in IMPORT_COLUMNS])
    for values in rows:
        sheet.append([values.get(column.header) for column in IMPORT_COLUMNS])
    out = BytesIO()
    book.save(out)
    return SimpleUploadedFile("tranches.xlsx", out.getvalue())


def import_rows(projects):
    return [
        {
            "Portfolio": "Fund",
            "Project": project.code,
            "Funder": "Donor",
            "Reference": f"D-{project.code}",
            "Instrument": "grant",
            "Purpose": "maintenance",
            "Status": "committed",
            "Amount": 90000,
            "Currency": "USD",
            "Committed on": date(2026, 2, 15),
            "Covers from": date(2026, 2, 1),
            "Covers until": WINDOW_END,
        }
        for project in projects
    ]


@time_machine.travel(TODAY, tick=False)
def test_import_through_the_api_shows_current_flags_right_after_the_upload(world):
    _, officer, projects = world
    api = APIClient()
    api.force_authenticate(officer)

    imported = api.post(
        "/api/v1/tranche-imports/", {"file": workbook(import_rows(projects))}, format="multipart"
    )
    flags = api.get("/api/v1/lapse-flags/", {"open": "true"})

    assert imported.status_code == 201, imported.json()
    assert flags.json()["results"] == []
    assert dry_run() == set()


@time_machine.travel(TODAY, tick=False)
def test_import_through_the_page_shows_current_flags_on_the_project_page(world, client):
    _, officer, (project, other) = world
    client.force_login(officer)

    uploaded = client.post(
        reverse("tranche-upload"), {"workbook": workbook(import_rows([project]))}
    )
    page = client.get(project.get_absolute_url())
    dashboard = client.get("/")

    assert uploaded.status_code == 302, uploaded.content.decode()[:2000]
    assert page.context["open_flags"] == []
    assert [(f.project_id, f.kind) for f in dashboard.context["open_flags"]] == [
        (other.pk, "lapsed")
    ]
    assert dry_run() == {(other.pk, "lapsed")}

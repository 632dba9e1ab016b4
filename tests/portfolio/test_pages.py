"""The dashboard and project pages: login required, flags listed, forecast chart drawn."""

from datetime import date

import pytest
import time_machine

from funding import scan
from funding.models import Tranche
from projects.models import Project
from tests.factories import MembershipFactory, ProjectFactory, TrancheFactory

pytestmark = pytest.mark.django_db


def test_pages_require_login(client):
    project = ProjectFactory()
    for url in ("/", project.get_absolute_url()):
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith("/accounts/login/")


def test_login_page_has_labelled_fields(client):
    body = client.get("/accounts/login/").content.decode()
    assert '<label for="id_username">Username</label>' in body
    assert '<label for="id_password">Password</label>' in body


@time_machine.travel(date(2026, 3, 1))
def test_dashboard_lists_open_flags_and_charts_the_forecast(
    client, django_capture_on_commit_callbacks
):
    project = ProjectFactory(
        code="KE-ID-01", status=Project.Status.LAUNCHED, launch_date=date(2025, 1, 1)
    )
    TrancheFactory(
        project=project,
        purpose=Tranche.Purpose.MAINTENANCE,
        covers_from=date(2025, 1, 1),
        covers_until=date(2026, 4, 30),
    )
    scan.scan_lapses()
    client.force_login(MembershipFactory().user)  # any role reads everything

    response = client.get("/")

    body = response.content.decode()
    assert response.status_code == 200
    assert "KE-ID-01" in body and "At risk" in body
    bars = response.context["bars"]
    assert len(bars) == 24
    assert (
        bars[0]["month"] == date(2026, 3, 1) and bars[0]["secured"] == 160
    )  # all of March secured
    assert bars[2]["uncovered"] == 160  # May onwards nothing


def test_project_page_shows_tranches(client):
    tranche = TrancheFactory(amount="250000.00", currency="EUR")
    client.force_login(MembershipFactory().user)  # any role reads everything

    body = client.get(tranche.project.get_absolute_url()).content.decode()

    assert tranche.project.code in body and "EUR 250,000.00" in body

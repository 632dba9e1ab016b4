"""Lapse flags acknowledged through the API, and a project's coverage and forecast."""

from datetime import date

import pytest
from django.urls import reverse
from django.utils import timezone

from funding.models import LapseFlag, Tranche
from tests.factories import TrancheFactory

pytestmark = pytest.mark.django_db


def test_a_funder_acknowledges_a_flag_with_a_note(api, world, people):
    response = api("officer").post(
        f"/api/v1/lapse-flags/{world.flag.pk}/acknowledge/",
        {"note": "Renewal in signature."},
        format="json",
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["acknowledged_by"], body["acknowledgement_note"]) == (
        people["officer"].pk,
        "Renewal in signature.",
    )


def test_an_acknowledgement_needs_a_note(api, world):
    response = api("officer").post(
        f"/api/v1/lapse-flags/{world.flag.pk}/acknowledge/", {}, format="json"
    )

    assert response.status_code == 400
    assert set(response.json()) == {"note"}


def test_a_resolved_flag_cannot_be_acknowledged(api, world):
    LapseFlag.objects.filter(pk=world.flag.pk).update(resolved_at=timezone.now())

    response = api("manager").post(
        f"/api/v1/lapse-flags/{world.flag.pk}/acknowledge/", {"note": "Late."}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["A resolved flag cannot be acknowledged."]}


def test_flags_are_never_written_by_hand(api, world):
    response = api("manager").patch(
        f"/api/v1/lapse-flags/{world.flag.pk}/", {"kind": "lapsed"}, format="json"
    )

    assert response.status_code == 405


def test_coverage_shows_window_cover_gaps_flags_and_forecast(api, world):
    project = world.project  # launched 2025-01-01, 36 months
    TrancheFactory(project=project, maintenance=True)  # covers 2025
    TrancheFactory(
        project=project,
        maintenance=True,
        planned=True,
        covers_from=date(2026, 1, 1),
        covers_until=date(2026, 6, 30),
    )

    response = api("evaluator").get(
        f"/api/v1/projects/{project.pk}/coverage/", {"as_of": "2025-11-15"}
    )

    assert response.status_code == 200
    body = response.json()
    assert body["window"] == {"start": "2025-01-01", "end": "2027-12-31"}
    assert body["secured"] == [{"start": "2025-01-01", "end": "2025-12-31"}]
    assert body["pipeline"] == [{"start": "2025-01-01", "end": "2026-06-30"}]
    assert body["gaps"] == [{"start": "2026-01-01", "end": "2027-12-31"}]
    assert body["days_to_lapse"] == 47
    # A snapshot: the flag was raised on 1 December, after the day asked about.
    assert body["open_flags"] == []
    later = api("evaluator").get(
        f"/api/v1/projects/{project.pk}/coverage/", {"as_of": "2025-12-15"}
    )
    assert [flag["id"] for flag in later.json()["open_flags"]] == [world.flag.pk]
    assert len(body["forecast"]) == 24
    assert body["forecast"][0] == {
        "month": "2025-11-01",
        "secured_days": 30,
        "pipeline_only_days": 0,
        "uncovered_days": 0,
        "outside_window_days": 0,
    }


def test_a_project_not_launched_has_no_window_to_cover(api, world):
    project = TrancheFactory().project  # implementing

    body = api("manager").get(f"/api/v1/projects/{project.pk}/coverage/").json()

    assert (body["window"], body["gaps"], body["forecast"]) == (None, [], [])
    assert body["as_of"] == timezone.localdate().isoformat()


def test_a_bad_as_of_date_is_a_400(api, world):
    response = api("manager").get(
        f"/api/v1/projects/{world.project.pk}/coverage/", {"as_of": "9999-12-31"}
    )

    assert response.status_code == 400
    assert set(response.json()) == {"as_of"}


def test_flags_as_of_a_day_are_those_open_at_its_end(api, world):
    world.flag.resolved_at = "2026-02-01T00:00:00Z"
    world.flag.save()

    def ids(day):
        response = api("finance").get("/api/v1/lapse-flags/", {"as_of": day})
        assert response.status_code == 200
        return [row["id"] for row in response.json()["results"]]

    assert ids("2025-11-30") == []  # not raised yet
    assert ids("2026-01-31") == [world.flag.pk]
    assert ids("2026-02-01") == []  # resolved that day


def test_portfolio_figures_answer_readers_only_and_check_the_date(api, world):
    url = f"/api/v1/portfolios/{world.project.portfolio_id}/figures/"

    assert api("finance").get(url).status_code == 200
    assert api("no_role").get(url).status_code == 404
    assert api("anonymous").get(url).status_code == 401
    bad = api("finance").get(url, {"as_of": "2026-13-01"})
    assert bad.status_code == 400 and set(bad.json()) == {"as_of"}
    body = api("finance").get(url, {"as_of": "2025-12-31"}).json()
    assert body["as_of"] == "2025-12-31" and body["currency"] == "USD"
    assert [row["kind"] for row in body["open_flags"]][:2] == ["lapsed", "no_maintenance"]


@pytest.fixture
def cancelled_funder(world):
    """The other funder's only tranche on the flagged project is cancelled."""
    TrancheFactory(
        project=world.project, funder=world.other_funder, status=Tranche.Status.CANCELLED
    )
    return world


def test_a_funder_whose_only_tranche_is_cancelled_cannot_acknowledge_through_the_api(
    api, cancelled_funder
):
    response = api("other_officer").post(
        f"/api/v1/lapse-flags/{cancelled_funder.flag.pk}/acknowledge/",
        {"note": "Not our money any more."},
        format="json",
    )

    assert response.status_code in (403, 404)
    cancelled_funder.flag.refresh_from_db()
    assert cancelled_funder.flag.acknowledged_at is None


def test_a_funder_whose_only_tranche_is_cancelled_cannot_acknowledge_on_the_page(
    client, people, cancelled_funder
):
    client.force_login(people["other_officer"])

    response = client.post(
        reverse("flag-acknowledge", args=[cancelled_funder.flag.pk]),
        {"note": "Not our money any more."},
    )

    assert response.status_code == 403
    cancelled_funder.flag.refresh_from_db()
    assert cancelled_funder.flag.acknowledged_at is None

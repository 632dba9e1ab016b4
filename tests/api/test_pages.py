"""How a client pages through a list: numbered pages with a capped count, or cursor pages
that follow any offered order, empty values and ties included, forwards and back."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from funding.models import LapseFlag, Tranche
from portfolio.pagination import Pagination
from tests.evaluations.factories import MeasurementFactory
from tests.factories import ProjectFactory, TrancheFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def tranches(world):
    """Twenty more tranches: maintenance ones sharing cover dates (ties), launch ones with
    none (empty values), and amounts that repeat."""
    project = ProjectFactory()
    for i in range(20):
        if i % 3:
            start = date(2025, 1, 1) + timedelta(days=30 * (i % 4))
            TrancheFactory(
                project=project,
                maintenance=True,
                covers_from=start,
                covers_until=start + timedelta(days=364),
                amount=Decimal(1000 * (i % 5 + 1)),
            )
        else:
            TrancheFactory(project=project, amount=Decimal(1000 * (i % 5 + 1)))
    return Tranche.objects.all()


def walk(client, url, link="next"):
    """Every row of every page, following `link` from `url` to the end."""
    rows, pages = [], 0
    while url:
        body = client.get(url).json()
        assert "count" not in body
        rows += [row["id"] for row in body["results"]]
        url, pages = body[link], pages + 1
    return rows, pages


def in_order(queryset, *ordering):
    return list(queryset.order_by(*ordering).values_list("id", flat=True))


@pytest.mark.parametrize(
    ("ordering", "key"),
    [
        (None, ["id"]),
        ("amount", ["amount", "id"]),
        ("-amount", ["-amount", "-id"]),
        ("covers_until", ["covers_until", "id"]),
        ("-covers_from", ["-covers_from", "-id"]),
    ],
)
def test_cursor_pages_hold_every_row_once_in_the_lists_order(api, tranches, ordering, key):
    query = f"&ordering={ordering}" if ordering else ""

    rows, pages = walk(api("finance"), f"/api/v1/tranches/?page_size=4&cursor={query}")

    assert rows == in_order(tranches, *key)
    assert pages == -(-len(rows) // 4)


def test_previous_links_walk_the_same_pages_back(api, tranches):
    client = api("finance")
    url = "/api/v1/tranches/?page_size=3&ordering=covers_until&cursor="
    forward = []
    while url:
        body = client.get(url).json()
        forward.append([row["id"] for row in body["results"]])
        last, url = url, body["next"]

    back = client.get(last).json()
    pages = [[row["id"] for row in back["results"]]]
    while back["previous"]:
        back = client.get(back["previous"]).json()
        pages.insert(0, [row["id"] for row in back["results"]])

    assert pages == forward


def test_a_descending_list_walks_newest_first(api, world):
    for n in range(5):
        LapseFlag.objects.create(
            project=ProjectFactory(launched=True),
            kind=LapseFlag.Kind.LAPSED,
            raised_at=f"2026-01-0{n + 2}T00:00:00Z",
            last_seen_on=date(2026, 1, 2),
        )

    rows, _ = walk(api("finance"), "/api/v1/lapse-flags/?page_size=2&cursor=")

    assert rows == in_order(LapseFlag.objects.all(), "-raised_at", "-id")


def test_cursor_links_keep_the_filters(api, tranches):
    body = api("finance").get("/api/v1/tranches/?purpose=maintenance&page_size=2&cursor=").json()

    rows, _ = walk(api("finance"), body["next"])

    assert "purpose=maintenance" in body["next"]
    maintenance = in_order(tranches.filter(purpose="maintenance"), "id")
    assert [row["id"] for row in body["results"]] + rows == maintenance


def test_a_cursor_for_another_order_or_made_up_is_a_400(api, tranches):
    client = api("finance")
    by_amount = client.get("/api/v1/tranches/?ordering=amount&page_size=2&cursor=").json()["next"]

    other_order = client.get(by_amount.replace("ordering=amount", "ordering=covers_from"))
    made_up = client.get("/api/v1/tranches/?cursor=not-a-cursor")

    assert other_order.status_code == made_up.status_code == 400
    assert set(other_order.json()) == set(made_up.json()) == {"cursor"}


@pytest.mark.parametrize("size", [2, 500])
def test_a_page_and_its_count_are_read_in_one_query(api, tranches, size):
    with CaptureQueriesContext(connection) as captured:
        body = api("finance").get(f"/api/v1/tranches/?page_size={size}").json()

    assert (body["count"], body["count_is_exact"]) == (tranches.count(), True)
    assert len(body["results"]) == min(size, tranches.count())
    reads = [q["sql"] for q in captured.captured_queries if '"funding_tranche"' in q["sql"]]
    assert len(reads) == 1


def test_the_count_stops_at_its_limit_and_pages_go_on_past_it(api, tranches, monkeypatch):
    monkeypatch.setattr(Pagination, "count_limit", 5)
    client = api("finance")

    first = client.get("/api/v1/tranches/?page_size=4").json()
    third = client.get("/api/v1/tranches/?page_size=4&page=3").json()
    last = client.get(f"/api/v1/tranches/?page_size=4&page={-(-tranches.count() // 4)}").json()

    assert (first["count"], first["count_is_exact"]) == (5, False)
    assert len(third["results"]) == 4 and third["next"] is not None
    assert (last["count"], last["count_is_exact"]) == (tranches.count(), True)
    assert last["next"] is None


def test_a_page_that_is_not_a_number_is_a_404(api, world):
    assert api("finance").get("/api/v1/tranches/", {"page": "two"}).status_code == 404


@pytest.mark.parametrize("mode", ["page=1", "cursor="])
def test_a_page_reads_its_rows_files_and_comments_in_the_rows_own_query(api, world, mode):
    for day in range(1, 4):
        MeasurementFactory(
            indicator=world.indicator,
            period_start=date(2024, 1, day),
            period_end=date(2024, 1, day),
        )
    shown = 2

    with CaptureQueriesContext(connection) as captured:
        body = api("manager").get(f"/api/v1/measurements/?page_size={shown}&{mode}").json()

    assert len(body["results"]) == shown and body["next"] is not None
    assert all(row["evidence"] == [] and row["comments"] == [] for row in body["results"])
    for table in ("evaluations_evidence", "evaluations_measurementcomment"):
        reads = [q["sql"] for q in captured.captured_queries if f'"{table}"' in q["sql"]]
        assert len(reads) == 1 and 'FROM "evaluations_measurement"' in reads[0]

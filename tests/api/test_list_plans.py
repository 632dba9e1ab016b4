"""Every API list reads a page through an index, never by sorting a whole table.

PostgreSQL plans each list's queries against 50,000 rows in every listed table (built set-based
by devtools.synthetic inside the test's transaction, which rolls them back). A plan that reads
a table from end to end and then sorts it fails: such a page costs more the bigger the table.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from config.api_urls import router
from devtools import synthetic
from portfolio.models import Role
from tests.factories import MembershipFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

ROWS = 50_000
# A full sort of more rows than this is a sort of the table, not of a page.
PAGE_SORT_LIMIT = 1_000
LISTS = {prefix: viewset for prefix, viewset, _ in router.registry if prefix != "portfolios"}


def plan(sql):
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}")
        return cursor.fetchone()[0][0]["Plan"]


def nodes(node):
    yield node
    for child in node.get("Plans", []):
        yield from nodes(child)


def whole_table_sorts(node):
    """Sort nodes fed by a sequential scan, or sorting more rows than a page holds."""
    for sort in nodes(node):
        if sort["Node Type"] != "Sort":
            continue  # an Incremental Sort orders within index order: it reads a page's worth
        scans = [n for n in nodes(sort) if n["Node Type"] == "Seq Scan"]
        if scans or sort["Plan Rows"] > PAGE_SORT_LIMIT:
            yield sort["Sort Key"], [scan["Relation Name"] for scan in scans]


def page_queries(client, url, table):
    """The queries a list request made that read its rows (SELECT ... FROM its table)."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, (url, response.content[:300])
    reads = [
        query["sql"]
        for query in captured.captured_queries
        if query["sql"].startswith("SELECT") and f'FROM "{table}"' in query["sql"]
    ]
    assert reads, f"{url} read nothing from {table}"
    return response.json(), reads


def orderings(viewset):
    yield None  # the list's own order
    for field in viewset.ordering_fields:
        yield field
        yield f"-{field}"


@pytest.fixture
def manager(postgres):
    user = UserFactory()
    MembershipFactory(user=user, role=Role.PORTFOLIO_MANAGER)
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_every_list_page_and_its_count_are_read_through_an_index(manager):
    synthetic.build_lists(ROWS)
    failures = []
    checked = 0
    for prefix, viewset in LISTS.items():
        table = viewset.queryset.model._meta.db_table
        for ordering in orderings(viewset):
            query = f"&ordering={ordering}" if ordering else ""
            for mode in ("page=2", "cursor="):
                url = f"/api/v1/{prefix}/?page_size=50&{mode}{query}"
                body, reads = page_queries(manager, url, table)
                assert len(body["results"]) == 50, url
                if mode == "cursor=":  # the second page, from where the first ended
                    _, reads = page_queries(manager, body["next"], table)
                for sql in reads:
                    checked += 1
                    for key, scanned in whole_table_sorts(plan(sql)):
                        failures.append(f"{url}: sorts by {key} after reading {scanned}")
    assert checked > 2 * len(LISTS), "every list was planned"
    assert not failures, "\n".join(failures)

    # A full page counts the rows, but only up to the limit, wherever the table ends.
    body, reads = page_queries(manager, "/api/v1/tranches/?page_size=50", "funding_tranche")
    assert (body["count"], body["count_is_exact"]) == (10_000, False)
    (count,) = [sql for sql in reads if "COUNT(" in sql]
    limits = [node for node in nodes(plan(count)) if node["Node Type"] == "Limit"]
    assert limits and limits[0]["Plan Rows"] <= 10_001

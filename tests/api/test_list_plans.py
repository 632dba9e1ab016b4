"""Every API list reads a page through an index, never by sorting a whole table.

PostgreSQL plans each list's queries against 50,000 rows in every listed table (built set-based
by devtools.synthetic inside the test's transaction, which rolls them back). A plan that reads
a table from end to end and then sorts it fails: such a page costs more the bigger the table.
"""

import pytest
from rest_framework.test import APIClient

from config.api_urls import router
from devtools import synthetic
from devtools.plans import explain, nodes, reads, whole_table_sorts
from portfolio.models import Role
from portfolio.pagination import Pagination
from tests.factories import MembershipFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

ROWS = 50_000
LISTS = {prefix: viewset for prefix, viewset, _ in router.registry if prefix != "portfolios"}


def page_queries(client, url, table):
    response, selects, _ = reads(client, url, table)
    assert response.status_code == 200, (url, response.content[:300])
    assert selects, f"{url} read nothing from {table}"
    return response.json(), selects


def orderings(viewset):
    yield None  # the list's own order
    for field in viewset.ordering_fields:
        yield field
        yield f"-{field}"


@pytest.fixture
def manager(postgres):
    client = APIClient()
    client.force_authenticate(
        MembershipFactory(user=UserFactory(), role=Role.PORTFOLIO_MANAGER).user
    )
    return client


def test_every_list_page_and_its_count_are_read_through_an_index(manager):
    synthetic.build_lists(ROWS)
    failures = []
    planned = 0
    for prefix, viewset in LISTS.items():
        table = viewset.queryset.model._meta.db_table
        for ordering in orderings(viewset):
            query = f"&ordering={ordering}" if ordering else ""
            for mode in ("page=2", "cursor="):
                url = f"/api/v1/{prefix}/?page_size=50&{mode}{query}"
                body, selects = page_queries(manager, url, table)
                assert len(body["results"]) == 50, url
                if mode == "cursor=":  # the second page, from where the first ended
                    _, selects = page_queries(manager, body["next"], table)
                for sql in selects:
                    planned += 1
                    for key, scanned in whole_table_sorts(explain(sql)):
                        failures.append(f"{url}: sorts by {key} after reading {scanned}")
    assert planned > 2 * len(LISTS), "every list was planned"
    assert not failures, "\n".join(failures)

    # A full page counts the rows, but only up to the limit, wherever the table ends.
    body, selects = page_queries(manager, "/api/v1/tranches/?page_size=50", "funding_tranche")
    assert (body["count"], body["count_is_exact"]) == (Pagination.count_limit, False)
    (count,) = [sql for sql in selects if "COUNT(" in sql]
    limits = [node for node in nodes(explain(count)) if node["Node Type"] == "Limit"]
    assert limits and limits[0]["Plan Rows"] <= Pagination.count_limit + 1

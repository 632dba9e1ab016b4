"""How PostgreSQL reads an API list page: the queries a request makes and their plans.

A page must be read through an index. A plan that scans a whole table and then sorts it
costs more the bigger the table: that is what `whole_table_sorts` finds. The query-plan
test and the benchmark both ask here.
"""

from django.db import connection
from django.test.utils import CaptureQueriesContext

# A full sort of more rows than this is a sort of the table, not of a page.
PAGE_SORT_LIMIT = 1_000


def explain(sql):
    """PostgreSQL's plan for `sql` (planned, not run), as its JSON tree."""
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}")
        return cursor.fetchone()[0][0]["Plan"]


def nodes(plan):
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


def whole_table_sorts(plan):
    """(sort key, tables read sequentially) for each Sort of more rows than a page holds: a
    table read end to end, then sorted, to find one page. A table of a few rows may be read
    and sorted whole (PostgreSQL rightly does so), and an Incremental Sort orders within an
    index's order a page's worth at a time: neither is one of them."""
    for sort in nodes(plan):
        if sort["Node Type"] == "Sort" and sort["Plan Rows"] > PAGE_SORT_LIMIT:
            scans = [n["Relation Name"] for n in nodes(sort) if n["Node Type"] == "Seq Scan"]
            yield sort["Sort Key"], scans


def reads(client, url, table, **extra):
    """The response to a GET of `url`, the SELECTs it made from `table` as run, and how many
    queries it made in all."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, **extra)
    selects = [
        query["sql"]
        for query in captured.captured_queries
        if query["sql"].startswith("SELECT") and f'FROM "{table}"' in query["sql"]
    ]
    return response, selects, len(captured)

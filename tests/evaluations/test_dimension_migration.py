"""The migration to configurable dimensions keeps what was recorded by the old fixed list."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from portfolio.models import Portfolio

BEFORE = [("evaluations", "0008_review_texts_checked_by_the_model")]
AFTER = [("evaluations", "0010_default_disaggregation_dimensions")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_existing_portfolios_get_the_old_categories_as_dimensions():
    old = migrate(BEFORE)
    try:
        portfolio = old.get_model("portfolio", "Portfolio").objects.create(
            name="Before the migration"
        )

        new = migrate(AFTER)

        Dimension = new.get_model("evaluations", "DisaggregationDimension")
        found = {
            dimension.code: sorted(dimension.values.values_list("code", flat=True))
            for dimension in Dimension.objects.filter(portfolio_id=portfolio.pk)
        }
        assert found["sex"] == ["female", "male"]
        assert found["location"] == ["rural", "urban"]
        assert found["disability"] == ["with_disability", "without_disability"]
        assert found["age_group"] == ["18_to_34", "35_to_59", "60_plus", "under_18"]
        assert {"region", "language", "income_quintile"} <= set(found)
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
        Portfolio.objects.filter(name="Before the migration").delete()

"""Dropping the project's own maintenance cost (projects 0008) can be undone: going back gives
a project whose plan is the one "other" line 0006 made its annual cost again."""

from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.factories import CostLineFactory, ProjectFactory

BEFORE = [("projects", "0007_cost_line_list_indexes")]


@pytest.mark.django_db(transaction=True)
def test_going_back_gives_a_single_other_line_plan_its_annual_cost_again():
    one_line = ProjectFactory(code="ONE-LINE")
    CostLineFactory(project=one_line, annual_cost=Decimal("12000.00"), currency="EUR")
    richer = ProjectFactory(code="RICHER")
    CostLineFactory(project=richer, category="hosting")
    CostLineFactory(project=richer)
    try:
        executor = MigrationExecutor(connection)
        executor.migrate(BEFORE)
        old = executor.loader.project_state(BEFORE).apps.get_model("projects", "Project")

        costs = dict(old.objects.values_list("code", "annual_maintenance_cost"))
        currencies = dict(old.objects.values_list("code", "maintenance_cost_currency"))
        assert costs == {"ONE-LINE": Decimal("12000.00"), "RICHER": None}
        assert currencies == {"ONE-LINE": "EUR", "RICHER": ""}
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())

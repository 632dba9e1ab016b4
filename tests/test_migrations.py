"""Migrations can be rolled back to nothing and applied again, and match the models."""

from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

# Dependents first: evaluations needs funding and projects, funding needs projects, reporting
# keeps the export jobs it took over from portfolio, and everything needs portfolio.
DOMAIN_APPS = ["reporting", "funding", "projects", "portfolio"]
EVALUATIONS_MIGRATION = Path(settings.BASE_DIR) / "evaluations" / "migrations" / "0001_initial.py"


def apps_to_unapply():
    return (["evaluations"] if EVALUATIONS_MIGRATION.exists() else []) + DOMAIN_APPS


def applied(app_label):
    executor = MigrationExecutor(connection)
    return {name for app, name in executor.loader.applied_migrations if app == app_label}


def tables():
    return set(connection.introspection.table_names())


@pytest.mark.django_db(transaction=True)
def test_domain_migrations_roll_back_to_zero_and_apply_again():
    apps = apps_to_unapply()
    before = tables()
    domain_tables = {t for t in before if t.split("_")[0] in apps}
    assert {"portfolio_organisation", "projects_project", "funding_tranche"} <= domain_tables

    try:
        for app in apps:
            call_command("migrate", app, "zero", verbosity=0, interactive=False)
            assert applied(app) == set(), f"{app} still has applied migrations"
        assert tables() & domain_tables == set(), "rolling back left tables behind"
    finally:
        # Whatever happened, leave the database as the rest of the suite expects it.
        call_command("migrate", verbosity=0, interactive=False)

    assert tables() == before
    for app in apps:
        assert applied(app), f"{app} was not migrated forward again"


@pytest.mark.django_db
def test_models_and_migrations_agree():
    out = StringIO()
    try:
        call_command(
            "makemigrations", *DOMAIN_APPS, check=True, dry_run=True, stdout=out, verbosity=1
        )
    except SystemExit:
        pytest.fail(f"models have changes without a migration:\n{out.getvalue()}")

"""Data step of the sustainability plans, alone in its migration: each project's annual
maintenance cost becomes the single "other" line of its plan (inserting the rows queues
PostgreSQL's deferred foreign-key checks, which no schema change may follow in one
transaction)."""

from django.db import migrations


def plan_from_annual_cost(apps, schema_editor):
    """Today's annual maintenance cost becomes the plan's single "other" line, so a project
    keeps meaning what it meant: one cost, paid by every maintenance tranche."""
    Project = apps.get_model("projects", "Project")
    CostLine = apps.get_model("projects", "CostLine")
    rows = Project.objects.filter(annual_maintenance_cost__isnull=False).values_list(
        "pk", "annual_maintenance_cost", "maintenance_cost_currency"
    )
    CostLine.objects.bulk_create(
        [
            CostLine(project_id=pk, category="other", annual_cost=cost, currency=currency)
            for pk, cost, currency in rows.iterator(chunk_size=2000)
        ],
        batch_size=2000,
    )


def no_plans(apps, schema_editor):
    apps.get_model("projects", "CostLine").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("projects", "0005_sustainability_plan_cost_lines"),
    ]

    operations = [
        migrations.RunPython(plan_from_annual_cost, no_plans),
    ]

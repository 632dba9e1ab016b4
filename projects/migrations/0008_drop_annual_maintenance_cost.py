"""A service's running cost has one home, its sustainability plan: the project's own annual
maintenance cost (made the plan's "other" line by 0006) is dropped.

Going back re-adds the two fields, empty, and gives each project whose plan is that single
"other" line, over the whole window, its cost back."""

from django.db import migrations
from django.db.models import Count


def nothing(apps, schema_editor):
    """The plan holds the cost already (0006): nothing to move before the fields go."""


def annual_cost_from_plan(apps, schema_editor):
    Project = apps.get_model("projects", "Project")
    CostLine = apps.get_model("projects", "CostLine")
    single = (
        CostLine.objects.values("project_id")
        .annotate(rows=Count("pk"))
        .filter(rows=1)
        .values("project_id")
    )
    rows = CostLine.objects.filter(
        project_id__in=single, category="other", starts_on=None, ends_on=None
    ).values_list("project_id", "annual_cost", "currency")
    for project_id, cost, currency in rows.iterator(chunk_size=2000):
        Project.objects.filter(pk=project_id).update(
            annual_maintenance_cost=cost, maintenance_cost_currency=currency
        )


class Migration(migrations.Migration):
    dependencies = [
        ("projects", "0007_cost_line_list_indexes"),
    ]

    operations = [
        # First, so that going back it runs last, once the fields are there again.
        migrations.RunPython(nothing, annual_cost_from_plan),
        migrations.RemoveConstraint(
            model_name="project",
            name="project_maintenance_cost_positive_with_currency",
        ),
        migrations.RemoveField(model_name="historicalproject", name="annual_maintenance_cost"),
        migrations.RemoveField(model_name="historicalproject", name="maintenance_cost_currency"),
        migrations.RemoveField(model_name="project", name="annual_maintenance_cost"),
        migrations.RemoveField(model_name="project", name="maintenance_cost_currency"),
    ]

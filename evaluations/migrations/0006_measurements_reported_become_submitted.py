"""Measurements that were "reported" are "submitted": the same state under the workflow's name.

Alone in its migration: it updates rows, and PostgreSQL refuses schema changes in a
transaction with pending trigger events.
"""

from django.db import migrations
from django.db.models import F


def forward(apps, schema_editor):
    for name in ("Measurement", "HistoricalMeasurement"):
        model = apps.get_model("evaluations", name)
        model.objects.filter(status="reported").update(
            status="submitted", submitted_at=F("reported_at")
        )


def backward(apps, schema_editor):
    for name in ("Measurement", "HistoricalMeasurement"):
        model = apps.get_model("evaluations", name)
        # Drafts and returned ones were not reviewed either: before, they were "reported".
        model.objects.filter(status__in=["draft", "submitted", "returned"]).update(
            status="reported"
        )
        # Superseded ones were verified once.
        model.objects.filter(status="superseded").update(status="verified")


class Migration(migrations.Migration):
    dependencies = [("evaluations", "0005_verification_workflow")]

    operations = [migrations.RunPython(forward, backward)]

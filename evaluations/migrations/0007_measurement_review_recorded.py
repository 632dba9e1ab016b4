"""The review check, once every row is in one of the workflow's states."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("evaluations", "0006_measurements_reported_become_submitted")]

    operations = [
        migrations.AddConstraint(
            model_name='measurement',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('status__in', ['draft', 'submitted', 'returned']), ('verified_at__isnull', True)), models.Q(('status__in', ['verified', 'rejected', 'superseded']), ('verified_at__isnull', False), ('verified_by__isnull', False)), _connector='OR'), name='measurement_review_recorded'),
        ),
    ]

# Export jobs now belong to the reporting app (same table): only the model state moves.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('portfolio', '0002_export_job'),
        ('reporting', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name='ExportJob')],
        ),
    ]

# Export jobs move from the portfolio app to reporting; the table stays where it is.

import django.db.models.deletion
import uuid
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("portfolio", "0002_export_job"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
            migrations.CreateModel(
                name='ExportJob',
                fields=[
                    ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                    ('filters', models.JSONField(blank=True, default=dict)),
                    ('status', models.CharField(choices=[('queued', 'Queued'), ('running', 'Running'), ('done', 'Done'), ('failed', 'Failed')], default='queued', max_length=10)),
                    ('progress', models.PositiveSmallIntegerField(default=0, help_text='Percent done, 0 to 100.')),
                    ('file', models.FileField(blank=True, max_length=200, upload_to='exports/')),
                    ('rows', models.PositiveIntegerField(blank=True, null=True)),
                    ('error', models.TextField(blank=True)),
                    ('created_at', models.DateTimeField(auto_now_add=True)),
                    ('finished_at', models.DateTimeField(blank=True, null=True)),
                    ('expires_at', models.DateTimeField(blank=True, null=True)),
                    ('requested_by', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='export_jobs', to=settings.AUTH_USER_MODEL)),
                ],
                options={
                    'db_table': 'portfolio_exportjob',
                    'ordering': ['-created_at'],
                    'indexes': [models.Index(fields=['status', 'expires_at'], name='portfolio_e_status_139c9e_idx')],
                    'constraints': [models.CheckConstraint(condition=models.Q(('progress__lte', 100)), name='export_job_progress_percent')],
                },
            ),
            ],
        ),
    ]

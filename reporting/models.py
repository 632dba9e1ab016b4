"""Export jobs: who asked for which workbook, its progress and its file."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ExportJob(models.Model):
    """One request for the portfolio summary workbook: its filters, progress and file.

    Small exports are written at once; large ones by a Celery worker, which reports progress
    here. The file is deleted once `expires_at` passes; the row stays as a record of who
    exported what.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="export_jobs"
    )
    filters = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done, 0 to 100.")
    file = models.FileField(upload_to="exports/", blank=True, max_length=200)
    rows = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Written by the run at every step: a running job whose heartbeat stops has lost its
    # worker, and is queued again (exports.recover_stale_exports).
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # Each run that takes the job counts one up and writes only while it is the latest.
    attempt = models.PositiveSmallIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # Kept from when exports lived in the portfolio app: no table rename on upgrade.
        db_table = "portfolio_exportjob"
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(progress__lte=100), name="export_job_progress_percent"
            ),
        ]
        indexes = [models.Index(fields=["status", "expires_at"])]

    def __str__(self):
        return f"Export {self.pk} ({self.get_status_display()}, {self.progress}%)"

    def is_expired(self, now=None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())

    @property
    def is_ready(self) -> bool:
        return self.status == self.Status.DONE and bool(self.file) and not self.is_expired()

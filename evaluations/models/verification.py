"""What surrounds a measurement's review: the comments of reporter and verifier, and the
evidence files that back its value (kept privately, downloaded through an access check)."""

from pathlib import PurePath

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from portfolio.loading import QuickLoad

from ..storage import private_storage
from ..validators import validate_evidence_file
from .indicators import Measurement


class CommentKind(models.TextChoices):
    COMMENT = "comment", _("Comment")
    SUBMITTED = "submitted", _("Submitted")
    RETURNED = "returned", _("Returned for revision")
    VERIFIED = "verified", _("Verified")
    REJECTED = "rejected", _("Rejected")
    SUPERSEDED = "superseded", _("Superseded")


class MeasurementComment(QuickLoad, models.Model):
    """A remark on a measurement, or the why of one step of its review, by who made it."""

    Kind = CommentKind

    measurement = models.ForeignKey(Measurement, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=12, choices=CommentKind.choices, default=CommentKind.COMMENT)
    text = models.TextField(max_length=4000)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["measurement", "created_at", "id"]
        indexes = [models.Index(fields=["measurement", "created_at"])]

    def __str__(self):
        return f"{self.get_kind_display()} by {self.author} on {self.created_at:%Y-%m-%d}"


def evidence_path(evidence, filename):
    # The stored name is ours; the name the uploader gave is kept in `name`.
    suffix = PurePath(filename).suffix.lower()
    return (
        f"evidence/{timezone.now():%Y}/{evidence.measurement_id}/{timezone.now():%H%M%S%f}{suffix}"
    )


class Evidence(QuickLoad, models.Model):
    """A file that backs a measurement's value: a registry extract, a survey report, photos."""

    measurement = models.ForeignKey(Measurement, on_delete=models.CASCADE, related_name="evidence")
    file = models.FileField(
        upload_to=evidence_path,
        storage=private_storage,
        max_length=200,
        validators=[validate_evidence_file],
        help_text="PDF, image (PNG, JPEG), spreadsheet (.xlsx, .csv) or document (.docx).",
    )
    name = models.CharField(max_length=200, help_text="The file's name as uploaded.")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now, editable=False)
    history = HistoricalRecords()

    class Meta:
        ordering = ["measurement", "uploaded_at", "id"]
        verbose_name_plural = "evidence"

    def __str__(self):
        return self.name


class MeasurementNotice(models.Model):
    """One change of a measurement that its reporter or reviewers are told of by email.

    `sent_at` is set in the same transaction that sends, under a row lock, so a message the
    outbox publishes twice still sends one email.
    """

    measurement = models.ForeignKey(Measurement, on_delete=models.CASCADE, related_name="notices")
    kind = models.CharField(max_length=12, choices=CommentKind.choices)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    sent_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.get_kind_display()}: measurement {self.measurement_id}"

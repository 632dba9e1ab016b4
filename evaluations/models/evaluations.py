"""Evaluations of a project, rated on the OECD DAC criteria, and their recommendations."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from portfolio.fields import CalendarDateField, FreeTextField, date_in_calendar
from portfolio.loading import QuickLoad

from ..storage import private_storage
from ..validators import validate_report_file
from .common import related_or_none


class EvaluationKind(models.TextChoices):
    BASELINE = "baseline", _("Baseline")
    MID_TERM = "mid_term", _("Mid-term")
    FINAL = "final", _("Final")
    EX_POST = "ex_post", _("Ex-post")
    INDEPENDENT = "independent", _("Independent")
    PARTICIPATORY = "participatory", _("Participatory")


class Rating(models.IntegerChoices):
    HIGHLY_SATISFACTORY = 6, _("6 – Highly satisfactory")
    SATISFACTORY = 5, _("5 – Satisfactory")
    MODERATELY_SATISFACTORY = 4, _("4 – Moderately satisfactory")
    MODERATELY_UNSATISFACTORY = 3, _("3 – Moderately unsatisfactory")
    UNSATISFACTORY = 2, _("2 – Unsatisfactory")
    HIGHLY_UNSATISFACTORY = 1, _("1 – Highly unsatisfactory")


DAC_CRITERIA = ("relevance", "coherence", "effectiveness", "efficiency", "impact", "sustainability")


def _rating_field():
    return models.PositiveSmallIntegerField(
        choices=Rating.choices,
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(6)],
    )


class Evaluation(QuickLoad, models.Model):
    Kind = EvaluationKind

    project = models.ForeignKey(
        "projects.Project", on_delete=models.PROTECT, related_name="evaluations"
    )
    kind = models.CharField(max_length=20, choices=EvaluationKind.choices)
    evaluator = models.ForeignKey(
        "portfolio.Organisation",
        verbose_name="evaluating organisation",
        on_delete=models.PROTECT,
        related_name="evaluations",
        limit_choices_to={"is_evaluator": True},
    )
    completed_on = CalendarDateField(null=True, blank=True, help_text="Empty while under way.")
    relevance = _rating_field()
    coherence = _rating_field()
    effectiveness = _rating_field()
    efficiency = _rating_field()
    impact = _rating_field()
    sustainability = _rating_field()
    summary = FreeTextField(blank=True)
    findings = FreeTextField(blank=True)
    # A participatory evaluation says who took part and how (required for that kind).
    participants = FreeTextField(
        "who took part",
        blank=True,
        max_length=4000,
        help_text="e.g. two women's groups of Kisumu, a user panel of 12 market traders.",
    )
    participation_method = FreeTextField(
        "how they took part",
        blank=True,
        max_length=4000,
        help_text="e.g. focus groups scoring the criteria, community validation of findings.",
    )
    report = models.FileField(
        upload_to="evaluation-reports/%Y/",
        storage=private_storage,
        blank=True,
        validators=[validate_report_file],
        help_text="PDF or Word (.docx).",
    )
    # IATI (issue 21): a report the evaluator may publish is linked from the IATI file and
    # served to anyone; every other report stays behind the portfolio's roles.
    report_is_public = models.BooleanField(
        "the report may be published",
        default=False,
        help_text="Link the report from the portfolio's IATI file, readable by anyone.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["project", "completed_on", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(**{f"{criterion}__isnull": True})
                | models.Q(**{f"{criterion}__gte": 1, f"{criterion}__lte": 6}),
                name=f"evaluation_{criterion}_rated_1_to_6",
            )
            for criterion in DAC_CRITERIA
        ] + [date_in_calendar("completed_on", "evaluation_completed_on_in_calendar")]
        # The order the API offers (?ordering=completed_on), ended by id, a page at a time.
        indexes = [models.Index(fields=["completed_on", "id"])]

    def __str__(self):
        return f"{self.get_kind_display()} evaluation of {self.project.code}"

    def ratings(self) -> dict[str, int | None]:
        return {criterion: getattr(self, criterion) for criterion in DAC_CRITERIA}

    def clean(self):
        errors = {}
        evaluator = related_or_none(self, "evaluator")
        if evaluator is not None and not evaluator.is_evaluator:
            errors["evaluator"] = gettext(
                "The evaluating organisation must be marked as an evaluation firm."
            )
        if self.completed_on and self.completed_on > timezone.localdate():
            errors["completed_on"] = gettext("An evaluation cannot be completed in the future.")
        project = related_or_none(self, "project")
        if (
            self.kind == EvaluationKind.INDEPENDENT
            and project is not None
            and self.evaluator_id is not None
            and self.evaluator_id == project.implementing_partner_id
        ):
            errors["evaluator"] = gettext(
                "An independent evaluation cannot be by the project's implementing partner."
            )
        if self.kind == EvaluationKind.PARTICIPATORY:
            if not self.participants.strip():
                errors["participants"] = gettext(
                    "Say who took part in the participatory evaluation."
                )
            if not self.participation_method.strip():
                errors["participation_method"] = gettext("Say how they took part.")
        if errors:
            raise ValidationError(errors)


class FollowUp(models.TextChoices):
    OPEN = "open", _("Open")
    IN_PROGRESS = "in_progress", _("In progress")
    DONE = "done", _("Done")
    DROPPED = "dropped", _("Dropped")


class ManagementResponse(models.TextChoices):
    ACCEPTED = "accepted", _("Accepted")
    PARTLY_ACCEPTED = "partly_accepted", _("Partly accepted")
    REJECTED = "rejected", _("Rejected")


# Still to be acted on: a due date past with one of these is overdue.
PENDING_FOLLOW_UP = (FollowUp.OPEN, FollowUp.IN_PROGRESS)


class RecommendationQuerySet(models.QuerySet):
    def overdue(self, today):
        """Due before `today` and neither done nor dropped, nor rejected by management."""
        return self.filter(due_on__lt=today, status__in=PENDING_FOLLOW_UP).exclude(
            response=ManagementResponse.REJECTED
        )


class Recommendation(QuickLoad, models.Model):
    Status = FollowUp
    Response = ManagementResponse

    evaluation = models.ForeignKey(
        Evaluation, on_delete=models.CASCADE, related_name="recommendations"
    )
    text = FreeTextField()
    owner = models.CharField(max_length=200, blank=True, help_text="Who follows it up.")
    due_on = CalendarDateField("due date", null=True, blank=True)
    status = models.CharField(
        "follow-up status", max_length=12, choices=FollowUp.choices, default=FollowUp.OPEN
    )
    owner_organisation = models.ForeignKey(
        "portfolio.Organisation",
        verbose_name="owner organisation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="recommendations",
        help_text="The organisation that acts on it.",
    )
    response = models.CharField(
        "management response",
        max_length=16,
        choices=ManagementResponse.choices,
        blank=True,
        help_text="Empty until management has responded.",
    )
    response_text = models.TextField(
        "management response text",
        blank=True,
        max_length=4000,
        help_text="What management will do, or why not.",
    )
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    objects = RecommendationQuerySet.as_manager()

    class Meta:
        ordering = ["evaluation", "due_on", "id"]
        constraints = [date_in_calendar("due_on", "recommendation_due_on_in_calendar")]
        indexes = [models.Index(fields=["status", "due_on"])]

    def __str__(self):
        return self.text if len(self.text) <= 60 else f"{self.text[:59]}…"

    def is_overdue(self, today=None):
        today = today or timezone.localdate()
        return (
            self.due_on is not None
            and self.due_on < today
            and self.status in PENDING_FOLLOW_UP
            and self.response != ManagementResponse.REJECTED
        )

    def clean(self):
        if self.response_text.strip() and not self.response:
            raise ValidationError(
                {"response": gettext("Say whether management accepts the recommendation.")}
            )
        limited = (ManagementResponse.PARTLY_ACCEPTED, ManagementResponse.REJECTED)
        if self.response in limited and not self.response_text.strip():
            raise ValidationError({"response_text": gettext("Say what is not accepted, and why.")})


class RecommendationUpdate(models.Model):
    """A follow-up note on a recommendation: what was done, and its status since."""

    recommendation = models.ForeignKey(
        Recommendation, on_delete=models.CASCADE, related_name="updates"
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(max_length=4000)
    status = models.CharField("follow-up status", max_length=12, choices=FollowUp.choices)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["recommendation", "created_at", "id"]

    def __str__(self):
        return f"{self.get_status_display()} on {self.created_at:%Y-%m-%d}"

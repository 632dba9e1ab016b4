"""Pilot projects and their lifecycle."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField
from simple_history.models import HistoricalRecords

from portfolio.codelists import sectors
from portfolio.errors import words
from portfolio.fields import (
    CalendarDateField,
    CurrencyField,
    FreeTextField,
    MoneyField,
    SectorField,
    currency_is_iso_shaped,
    date_in_calendar,
)
from portfolio.loading import QuickLoad
from portfolio.tracking import StoredValues

from . import obligation


class TargetGroup(models.TextChoices):
    WOMEN = "women", _("Women")
    DISABILITY = "disability", _("Persons with disabilities")
    OLDER_ADULTS = "older_adults", _("Older adults")
    RURAL = "rural", _("Rural population")
    LOW_INCOME = "low_income", _("Low-income households")
    YOUTH = "youth", _("Youth")


def validate_target_groups(value):
    allowed = set(TargetGroup.values)
    if not isinstance(value, list) or not all(
        isinstance(group, str) and group in allowed for group in value
    ):
        raise ValidationError(
            gettext("Target groups must be a list drawn from: %(allowed)s."),
            params={"allowed": ", ".join(sorted(allowed))},
        )


# --- IATI: policy markers, SDG tags, regions and the published identifier (issue 21) ---


class PolicySignificance(models.IntegerChoices):
    """How far a project targets a policy objective (OECD DAC policy markers, IATI codes)."""

    NOT_TARGETED = 0, _("Not targeted")
    SIGNIFICANT = 1, _("Significant objective")
    PRINCIPAL = 2, _("Principal objective")


def validate_sdg_goals(value):
    if not isinstance(value, list) or not all(
        isinstance(goal, int) and not isinstance(goal, bool) and 1 <= goal <= 17 for goal in value
    ):
        raise ValidationError(gettext("SDG goals are a list of goal numbers from 1 to 17."))
    if len(set(value)) != len(value):
        raise ValidationError(gettext("Name each SDG goal once."))


def validate_admin_regions(value):
    if not isinstance(value, list) or not all(
        isinstance(name, str) and name.strip() and len(name) <= 100 for name in value
    ):
        raise ValidationError(gettext("Regions are a list of names of up to 100 characters."))
    if len({name.strip().casefold() for name in value}) != len(value):
        raise ValidationError(gettext("Name each region once."))


class Status(models.TextChoices):
    PIPELINE = "pipeline", _("Pipeline")
    APPROVED = "approved", _("Approved")
    IMPLEMENTING = "implementing", _("Implementing")
    LAUNCHED = "launched", _("Launched")
    CLOSED = "closed", _("Closed")
    CANCELLED = "cancelled", _("Cancelled")


# Each status may move only to these; closed and cancelled are final.
TRANSITIONS = {
    Status.PIPELINE: {Status.APPROVED, Status.CANCELLED},
    Status.APPROVED: {Status.IMPLEMENTING, Status.CANCELLED},
    Status.IMPLEMENTING: {Status.LAUNCHED, Status.CANCELLED},
    Status.LAUNCHED: {Status.CLOSED, Status.CANCELLED},
    Status.CLOSED: set(),
    Status.CANCELLED: set(),
}


class ProjectQuerySet(models.QuerySet):
    def launched(self):
        return self.filter(status=Status.LAUNCHED)


class Project(StoredValues, QuickLoad, models.Model):
    Status = Status

    portfolio = models.ForeignKey(
        "portfolio.Portfolio", on_delete=models.PROTECT, related_name="projects"
    )
    code = models.CharField(max_length=40, help_text="Unique within the portfolio, e.g. KE-ID-01.")
    title = models.CharField(max_length=200)
    description = FreeTextField(blank=True)
    country = CountryField()
    sector_code = SectorField("sector (DAC purpose code)")
    implementing_partner = models.ForeignKey(
        "portfolio.Organisation",
        on_delete=models.PROTECT,
        related_name="implemented_projects",
        limit_choices_to={"is_implementer": True},
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PIPELINE)
    planned_launch_date = CalendarDateField(null=True, blank=True)
    launch_date = CalendarDateField("actual launch date", null=True, blank=True)
    sustainability_months = models.PositiveSmallIntegerField(
        default=36,
        validators=[MinValueValidator(1)],
        help_text="How long after launch the service must stay funded.",
    )
    target_groups = models.JSONField(default=list, blank=True, validators=[validate_target_groups])
    # IATI (issue 21): what data users filter on. Markers are empty while not screened.
    gender_marker = models.PositiveSmallIntegerField(
        "gender equality marker", choices=PolicySignificance.choices, null=True, blank=True
    )
    disability_marker = models.PositiveSmallIntegerField(
        choices=PolicySignificance.choices, null=True, blank=True
    )
    sdg_goals = models.JSONField(
        "SDG goals",
        default=list,
        blank=True,
        validators=[validate_sdg_goals],
        help_text="Numbers of the Sustainable Development Goals the project serves, e.g. [5, 16].",
    )
    admin_regions = models.JSONField(
        "first-level administrative regions",
        default=list,
        blank=True,
        validators=[validate_admin_regions],
        help_text=(
            'Where the service is rolled out, e.g. ["Nakuru", "Kisumu"]; leave empty when '
            "it serves the whole country."
        ),
    )
    iati_identifier = models.CharField(
        "IATI activity identifier",
        max_length=150,
        blank=True,
        help_text="Set by an IATI import: the identifier the activity was published under.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    objects = ProjectQuerySet.as_manager()

    class Meta:
        ordering = ["portfolio", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["portfolio", "code"], name="project_code_unique_in_portfolio"
            ),
            models.CheckConstraint(
                condition=~models.Q(status__in=["launched", "closed"])
                | models.Q(launch_date__isnull=False),
                name="project_launched_has_launch_date",
            ),
            models.CheckConstraint(
                condition=models.Q(sustainability_months__gt=0),
                name="project_sustainability_positive",
            ),
            date_in_calendar("planned_launch_date", "project_planned_launch_date_in_calendar"),
            date_in_calendar("launch_date", "project_launch_date_in_calendar"),
        ]
        indexes = [
            models.Index(fields=["status", "launch_date"]),
            # Each order the API offers (?ordering=), ended by id, read a page at a time.
            models.Index(fields=["code", "id"]),
            models.Index(fields=["title", "id"]),
            models.Index(fields=["launch_date", "id"]),
        ]

    def __str__(self):
        return f"{self.code} – {self.title}"

    def get_absolute_url(self):
        return reverse("project-detail", args=[self.pk])

    # What was stored is remembered (StoredValues) to check status transitions and to notice
    # the changes that require a coverage rescan.
    # (What the service costs is its plan's: a cost line's change rescans it on its own.)
    RESCAN_FIELDS = ("status", "launch_date", "sustainability_months")
    TRACKED_FIELDS = RESCAN_FIELDS

    @property
    def sector_name(self):
        return sectors().get(self.sector_code, "")

    @property
    def stored_status(self):
        return self.stored("status")

    def changed_for_coverage(self):
        return self.changed(*self.RESCAN_FIELDS)

    def can_move_to(self, status):
        return status in TRANSITIONS[Status(self.stored_status or Status.PIPELINE)]

    @property
    def obligation_end(self):
        """Last day the service must stay funded, or None before launch."""
        if not self.launch_date:
            return None
        return obligation.obligation_end(self.launch_date, self.sustainability_months)

    def clean(self):
        errors = {}
        stored = self.stored_status
        if self.status not in Status.values:
            raise ValidationError(
                {
                    "status": gettext("%(status)s is not a project status.")
                    % {"status": repr(self.status)}
                }
            )
        if stored and stored != self.status and not self.can_move_to(self.status):
            errors["status"] = gettext("A project cannot move from %(before)s to %(after)s.") % {
                "before": Status(stored).label.lower(),
                "after": Status(self.status).label.lower(),
            }
        if not stored and self.status not in (
            Status.PIPELINE,
            Status.APPROVED,
            Status.IMPLEMENTING,
            Status.LAUNCHED,
        ):
            errors["status"] = gettext(
                "A new project starts in pipeline, approved, implementing or launched."
            )
        if self.status in (Status.LAUNCHED, Status.CLOSED) and not self.launch_date:
            errors["launch_date"] = gettext("A launched project needs its actual launch date.")
        if self.launch_date and self.sustainability_months:
            try:
                self.obligation_end  # noqa: B018 (computed only to see that it fits the calendar)
            except (ValueError, OverflowError):  # the window would leave the calendar
                errors["sustainability_months"] = gettext(
                    "The obligation window cannot end after the year 9999."
                )
        if errors:
            raise ValidationError(errors)


# --- Sustainability plan (issue 15): the recurrent costs that keep a launched service alive ---


class CostCategory(models.TextChoices):
    """The recurrent cost lines of a service. The codes are words, so a flag's text that names
    a line ("cybersecurity from 2026-03-01") reads without a lookup."""

    HOSTING = "hosting", _("Hosting and operations")
    UPDATES = "updates", _("Software maintenance and updates")
    CYBERSECURITY = "cybersecurity", _("Cybersecurity")
    USER_SUPPORT = "user_support", _("User support and training")
    LICENCES = "licences", _("Licences and connectivity")
    OTHER = "other", _("Other")


class CostLine(models.Model):
    """One recurrent cost of a service's sustainability plan: an amount a year from a date.

    A line is its category within the project; a cost that grows is a second row of the same
    category from the date it changes, the first ending the day before. The handover (who pays
    after the obligation window) is read from the line's last row.
    """

    Category = CostCategory

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="cost_lines")
    category = models.CharField(max_length=20, choices=CostCategory.choices)
    annual_cost = MoneyField(validators=[MinValueValidator(Decimal("0.01"))])
    currency = CurrencyField()
    starts_on = CalendarDateField(
        null=True, blank=True, help_text="First day of this cost; empty: from the launch."
    )
    ends_on = CalendarDateField(
        null=True,
        blank=True,
        help_text="Last day of this cost; empty: to the end of the obligation window.",
    )
    successor = models.CharField(
        "taken over by",
        max_length=200,
        blank=True,
        help_text=(
            "Who pays this line after the obligation window, e.g. the ministry's budget line; "
            "empty while nobody has committed to it."
        ),
    )
    handover_on = CalendarDateField("handover date", null=True, blank=True)
    handover_document = models.CharField(
        max_length=200, blank=True, help_text="The commitment document: its title or link."
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["project", "category", "starts_on", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(annual_cost__gt=0), name="cost_line_amount_positive"
            ),
            models.CheckConstraint(
                condition=currency_is_iso_shaped("currency"), name="cost_line_currency_iso"
            ),
            models.CheckConstraint(
                condition=models.Q(starts_on__isnull=True)
                | models.Q(ends_on__isnull=True)
                | models.Q(starts_on__lte=models.F("ends_on")),
                name="cost_line_period_ordered",
            ),
            date_in_calendar("starts_on", "cost_line_starts_on_in_calendar"),
            date_in_calendar("ends_on", "cost_line_ends_on_in_calendar"),
            date_in_calendar("handover_on", "cost_line_handover_on_in_calendar"),
        ]
        # Each order the API offers (?ordering=), ended by id, read a page at a time.
        indexes = [
            models.Index(fields=["category", "id"]),
            models.Index(fields=["starts_on", "id"]),
        ]

    def __str__(self):
        return f"{self.get_category_display()}: {self.currency} {self.annual_cost:,} a year"

    def clean(self):
        if self.starts_on and self.ends_on and self.starts_on > self.ends_on:
            raise ValidationError({"ends_on": words("cost_line_period_ordered")})
        if self.project_id is None or not self.category:
            return
        # Rows of one line follow one another: on any day a line has one cost.
        others = CostLine.objects.filter(project_id=self.project_id, category=self.category)
        if self.pk:
            others = others.exclude(pk=self.pk)
        for other in others.only("starts_on", "ends_on"):
            if _periods_overlap(self.starts_on, self.ends_on, other.starts_on, other.ends_on):
                raise ValidationError(
                    {
                        "starts_on": gettext(
                            "This line already has a cost from %(start)s to %(end)s; end that one "
                            "the day before this one starts."
                        )
                        % {
                            "start": other.starts_on or gettext("the launch"),
                            "end": other.ends_on or gettext("the end of the window"),
                        }
                    }
                )


def _periods_overlap(start, end, other_start, other_end) -> bool:
    """Open ends (None) run to the edge of the calendar."""
    return (start is None or other_end is None or start <= other_end) and (
        other_start is None or end is None or other_start <= end
    )

"""What a project measures: indicators, the targets they should reach, and the measurements
reported against them (which count once verified)."""

from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from portfolio.errors import words
from portfolio.fields import CalendarDateField, FreeTextField, date_in_calendar
from portfolio.loading import QuickLoad
from portfolio.models import Membership
from portfolio.tracking import StoredValues

from .. import disaggregation, progress
from ..progress import Goal, IndicatorSpec, Observation, Progress, indicator_progress
from .common import related_or_none

HUNDRED = Decimal("100")
# Values are counts, percentages, days or scores: four places hold a percentage to 0.0001.
VALUE_DIGITS = {"max_digits": 20, "decimal_places": 4}
VALUE_PLACES = Decimal("0.0001")
# A disaggregation cell's key (see `disaggregation`): room for a combination of a few dimensions.
CATEGORY_LENGTH = 160


class Level(models.TextChoices):
    OUTPUT = "output", _("Output")
    OUTCOME = "outcome", _("Outcome")
    IMPACT = "impact", _("Impact")


class Measure(models.TextChoices):
    NUMBER = "number", _("Number")
    PERCENTAGE = "percentage", _("Percentage (numerator / denominator)")
    QUALITATIVE = "qualitative", _("Qualitative (scored on a defined scale)")


class Direction(models.TextChoices):
    INCREASE = progress.INCREASE, _("Increase is better")
    DECREASE = progress.DECREASE, _("Decrease is better")


class Aggregation(models.TextChoices):
    NON_CUMULATIVE = progress.NON_CUMULATIVE, _("Non-cumulative (the latest value counts)")
    CUMULATIVE = progress.CUMULATIVE, _("Cumulative (values add up over periods)")


def validate_disaggregations(value):
    # Which dimensions exist is the portfolio's (Indicator.clean); here only the shape.
    if (
        not isinstance(value, list)
        or not all(isinstance(each, str) and each for each in value)
        or len(set(value)) != len(value)
    ):
        raise ValidationError(
            gettext("Disaggregations must be a list of dimension codes without repeats.")
        )


def plain(number):
    """A decimal as people write it: 1000 rather than 1000.0000 or 1E+3."""
    return f"{Decimal(number).normalize():f}"


def canonical_category(category):
    """The one key of a category, its dimensions in order; a malformed one is left for the check."""
    category = (category or "").strip()
    try:
        return disaggregation.canonical(category)
    except disaggregation.BadKey:
        return category


def category_label(category, names):
    """A category key in words, from the names of the portfolio's single categories; the
    total in the reader's language."""
    return disaggregation.label(category, names, total=str(_("Total")))


def category_problem(indicator, category):
    """Why ``category`` cannot be used with ``indicator``, or None when it can."""
    if category == progress.TOTAL:
        return None
    from .standards import categories_of  # the standards module builds on this one

    return disaggregation.problem(
        category,
        categories_of(indicator.project.portfolio_id),
        indicator.disaggregations or [],
    )


class Indicator(StoredValues, QuickLoad, models.Model):
    Level = Level
    Measure = Measure
    Direction = Direction
    Aggregation = Aggregation

    # The measure stored is remembered: it cannot change once values are recorded in it.
    TRACKED_FIELDS = ("measure",)

    project = models.ForeignKey(
        "projects.Project", on_delete=models.PROTECT, related_name="indicators"
    )
    code = models.CharField(max_length=40, help_text="Unique within the project, e.g. OUT-1.")
    name = models.CharField(max_length=200, help_text="e.g. Women holding a digital ID.")
    definition = FreeTextField(
        blank=True,
        help_text="What exactly is counted, and how; for a qualitative indicator, its scale.",
    )
    unit = models.CharField(max_length=40, blank=True, help_text="e.g. people, days, score.")
    level = models.CharField("result level", max_length=10, choices=Level.choices)
    measure = models.CharField(max_length=12, choices=Measure.choices, default=Measure.NUMBER)
    direction = models.CharField(
        max_length=10, choices=Direction.choices, default=Direction.INCREASE
    )
    aggregation = models.CharField(
        "aggregation over periods",
        max_length=16,
        choices=Aggregation.choices,
        default=Aggregation.NON_CUMULATIVE,
    )
    baseline_value = models.DecimalField(**VALUE_DIGITS)
    baseline_date = CalendarDateField()
    disaggregations = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_disaggregations],
        help_text="Codes of the portfolio's disaggregation dimensions, e.g. sex, location.",
    )
    standard = models.ForeignKey(
        "evaluations.StandardIndicator",
        verbose_name="standard indicator",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="adopted_by",
        help_text="Adopting one inherits its definition; the unit and measure must agree with it.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["project", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "code"], name="indicator_code_unique_in_project"
            ),
            models.CheckConstraint(
                condition=~models.Q(measure="qualitative", aggregation="cumulative"),
                name="indicator_qualitative_not_cumulative",
            ),
            date_in_calendar("baseline_date", "indicator_baseline_date_in_calendar"),
            # Two indicators of one project counting the same standard would count it twice.
            models.UniqueConstraint(
                fields=["project", "standard"],
                condition=models.Q(standard__isnull=False),
                name="indicator_adopts_standard_once_per_project",
            ),
        ]
        # Each order the API offers (?ordering=), ended by id, read a page at a time.
        indexes = [
            models.Index(fields=["code", "id"]),
            models.Index(fields=["name", "id"]),
        ]

    def __str__(self):
        return f"{self.code} – {self.name}"

    @property
    def is_percentage(self):
        return self.measure == Measure.PERCENTAGE

    def as_spec(self) -> IndicatorSpec:
        return IndicatorSpec(
            direction=self.direction,
            aggregation=self.aggregation,
            baseline_value=self.baseline_value,
            baseline_date=self.baseline_date,
            is_percentage=self.is_percentage,
        )

    def progress(self, as_of=None) -> list[Progress]:
        """Progress toward the next target, per disaggregation, from verified values only."""
        observations = [each.as_observation() for each in self.measurements.verified()]
        goals = [target.as_goal() for target in self.targets.all()]
        return indicator_progress(
            self.as_spec(), observations, goals, as_of or timezone.localdate()
        )

    @classmethod
    def adopting(cls, standard, **fields):
        """A new indicator adopting ``standard``: what the fields leave out comes from it."""
        for name in ("name", "definition", "unit", "measure", "direction", "aggregation"):
            fields.setdefault(name, getattr(standard, "title" if name == "name" else name))
        return cls(standard=standard, **fields)

    def inherit_standard(self):
        """Take what the adopted standard defines and the indicator left blank."""
        standard = related_or_none(self, "standard")
        if standard is None:
            return
        if not self.definition.strip():
            self.definition = standard.definition
        if not self.unit.strip():
            self.unit = standard.unit

    def standard_problems(self) -> dict:
        """Where this indicator contradicts the standard it adopts, by field."""
        standard = related_or_none(self, "standard")
        project = related_or_none(self, "project")
        if standard is None:
            return {}
        errors = {}
        if project is not None and standard.portfolio_id != project.portfolio_id:
            errors["standard"] = gettext(
                "Adopt a standard indicator of the project's own portfolio."
            )
        if self.unit.strip() and self.unit.strip() != standard.unit:
            errors["unit"] = gettext(
                "The standard indicator %(code)s counts in %(unit)s; "
                "an indicator adopting it uses the same unit."
            ) % {"code": standard.code, "unit": standard.unit or gettext("no unit")}
        if self.measure != standard.measure:
            errors["measure"] = gettext(
                "The standard indicator %(code)s is a %(measure)s; "
                "an indicator adopting it has the same measure."
            ) % {"code": standard.code, "measure": standard.get_measure_display().lower()}
        return errors

    def dimension_problem(self):
        """Why the chosen disaggregations are not the portfolio's dimensions, or None."""
        project = related_or_none(self, "project")
        if project is None or not isinstance(self.disaggregations, list):
            return None
        from .standards import categories_of  # the standards module builds on this one

        unknown = sorted(set(self.disaggregations) - set(categories_of(project.portfolio_id)))
        if unknown:
            return gettext("Not a disaggregation dimension of this portfolio: %(codes)s.") % {
                "codes": ", ".join(unknown)
            }
        return None

    def clean(self):
        errors = {}
        self.inherit_standard()
        errors.update(self.standard_problems())
        problem = self.dimension_problem()
        if problem:
            errors["disaggregations"] = problem
        if self.measure == Measure.QUALITATIVE and self.aggregation == Aggregation.CUMULATIVE:
            errors["aggregation"] = words("indicator_qualitative_not_cumulative")
        if self.is_stored and self.changed("measure") and self.measurements.exists():
            errors["measure"] = gettext(
                "The measure cannot change once measurements are recorded; define a new indicator."
            )
        if errors:
            raise ValidationError(errors)


class Target(StoredValues, QuickLoad, models.Model):
    """The value an indicator should reach by a date, for the total or one category."""

    # Changing one of these rewrites a commitment, so the change needs a reason.
    COMMITTED_FIELDS = ("value", "due_on")
    TRACKED_FIELDS = COMMITTED_FIELDS

    indicator = models.ForeignKey(Indicator, on_delete=models.CASCADE, related_name="targets")
    due_on = CalendarDateField("due date")
    value = models.DecimalField(**VALUE_DIGITS)
    disaggregation = models.CharField(
        max_length=CATEGORY_LENGTH,
        blank=True,
        help_text="Leave blank for the total; e.g. sex:female, or location:rural+sex:female.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(history_change_reason_field=models.TextField(null=True))

    class Meta:
        ordering = ["indicator", "due_on", "disaggregation"]
        constraints = [
            models.UniqueConstraint(
                fields=["indicator", "disaggregation", "due_on"],
                name="target_one_per_category_and_date",
            ),
            date_in_calendar("due_on", "target_due_on_in_calendar"),
        ]
        # The order the API offers (?ordering=due_on), ended by id, read a page at a time.
        indexes = [models.Index(fields=["due_on", "id"])]

    def __str__(self):
        category = f" ({self.disaggregation})" if self.disaggregation else ""
        return f"{self.indicator.code}{category}: {plain(self.value)} by {self.due_on}"

    def save(self, *args, **kwargs):
        # Also here, not only in clean(): no path may rewrite a target without a reason.
        self._check_change_reason()
        super().save(*args, **kwargs)
        self._change_reason = ""

    @property
    def change_reason(self):
        return (getattr(self, "_change_reason", None) or "").strip()

    @change_reason.setter
    def change_reason(self, reason):
        # simple_history writes `_change_reason` into the history row it saves.
        self._change_reason = (reason or "").strip()

    def changes_commitment(self):
        """Does this edit move the value or due date of a target already stored?"""
        return self.is_stored and self.changed(*self.COMMITTED_FIELDS)

    def _check_change_reason(self):
        if self.changes_commitment() and not self.change_reason:
            raise ValidationError(
                {
                    "change_reason": gettext(
                        "Say why the target's value or due date changes; the old one stays in its history."
                    )
                }
            )

    def as_goal(self) -> Goal:
        return Goal(due_on=self.due_on, value=self.value, category=self.disaggregation)

    def clean(self):
        errors = {}
        self.disaggregation = canonical_category(self.disaggregation)
        indicator = related_or_none(self, "indicator")
        if indicator is not None:
            problem = category_problem(indicator, self.disaggregation)
            if problem:
                errors["disaggregation"] = problem
            if self.value is not None and indicator.baseline_value is not None:
                if (
                    indicator.direction == Direction.INCREASE
                    and self.value <= indicator.baseline_value
                ):
                    errors["value"] = gettext(
                        "The indicator should increase; its target must be above the baseline (%(baseline)s)."
                    ) % {"baseline": plain(indicator.baseline_value)}
                if (
                    indicator.direction == Direction.DECREASE
                    and self.value >= indicator.baseline_value
                ):
                    errors["value"] = gettext(
                        "The indicator should decrease; its target must be below the baseline (%(baseline)s)."
                    ) % {"baseline": plain(indicator.baseline_value)}
            if self.due_on and indicator.baseline_date and self.due_on <= indicator.baseline_date:
                errors["due_on"] = gettext(
                    "A target falls due after the baseline date (%(baseline_date)s)."
                ) % {"baseline_date": indicator.baseline_date}
        try:
            self._check_change_reason()
        except ValidationError as error:
            errors.update(error.message_dict)
        if errors:
            raise ValidationError(errors)


class MeasurementStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    RETURNED = "returned", _("Returned for revision")
    VERIFIED = "verified", _("Verified")
    REJECTED = "rejected", _("Rejected")
    SUPERSEDED = "superseded", _("Superseded")


# The reporter may still change these; a change sends the measurement back to review.
OPEN_STATUSES = (MeasurementStatus.DRAFT, MeasurementStatus.SUBMITTED, MeasurementStatus.RETURNED)
# Decided: final evidence, corrected only by superseding.
DECIDED_STATUSES = (
    MeasurementStatus.VERIFIED,
    MeasurementStatus.REJECTED,
    MeasurementStatus.SUPERSEDED,
)


class MeasurementQuerySet(models.QuerySet):
    def verified(self):
        return self.filter(status=MeasurementStatus.VERIFIED)


class Measurement(StoredValues, QuickLoad, models.Model):
    """An observed value of an indicator for a period. Only verified values count."""

    Status = MeasurementStatus
    # Once reviewed, these are the evidence; a correction is a new measurement.
    RECORDED_FIELDS = (
        "indicator_id",
        "period_start",
        "period_end",
        "value",
        "numerator",
        "denominator",
        "disaggregation",
        "source",
    )
    TRACKED_FIELDS = (*RECORDED_FIELDS, "status")

    indicator = models.ForeignKey(Indicator, on_delete=models.PROTECT, related_name="measurements")
    period_start = CalendarDateField()
    period_end = CalendarDateField()
    value = models.DecimalField(
        **VALUE_DIGITS,
        blank=True,
        help_text="For a percentage indicator, give numerator and denominator; the value follows.",
    )
    numerator = models.DecimalField(**VALUE_DIGITS, null=True, blank=True)
    denominator = models.DecimalField(**VALUE_DIGITS, null=True, blank=True)
    disaggregation = models.CharField(
        max_length=CATEGORY_LENGTH,
        blank=True,
        help_text="Leave blank for the total; e.g. sex:female, or location:rural+sex:female.",
    )
    source = models.CharField(
        "source / means of verification",
        max_length=300,
        help_text="e.g. ID registry extract of 31 March, household survey report.",
    )
    comment = FreeTextField(blank=True)
    status = models.CharField(
        max_length=10,
        choices=MeasurementStatus.choices,
        default=MeasurementStatus.SUBMITTED,
        editable=False,
    )
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    reported_at = models.DateTimeField(auto_now_add=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="verified or rejected by",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    verified_at = models.DateTimeField("verified or rejected at", null=True, editable=False)
    rejection_reason = FreeTextField(blank=True, editable=False)
    submitted_at = models.DateTimeField(
        null=True, editable=False, help_text="When it last went to review; the queue's order."
    )
    superseded_by = models.OneToOneField(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="supersedes",
    )
    superseded_reason = FreeTextField(blank=True, editable=False)
    history = HistoricalRecords()

    objects = MeasurementQuerySet.as_manager()

    class Meta:
        ordering = ["indicator", "period_end", "disaggregation", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(period_start__lte=models.F("period_end")),
                name="measurement_period_ordered",
            ),
            models.CheckConstraint(
                condition=models.Q(numerator__isnull=True, denominator__isnull=True)
                | models.Q(numerator__gte=0, denominator__gt=0),
                name="measurement_fraction_complete_and_positive",
            ),
            models.CheckConstraint(
                condition=models.Q(
                    status__in=["draft", "submitted", "returned"], verified_at__isnull=True
                )
                | models.Q(
                    status__in=["verified", "rejected", "superseded"],
                    verified_at__isnull=False,
                    verified_by__isnull=False,
                ),
                name="measurement_review_recorded",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="superseded") | ~models.Q(superseded_reason=""),
                name="measurement_superseded_has_reason",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="rejected") | ~models.Q(rejection_reason=""),
                name="measurement_rejection_has_reason",
            ),
            # Who may review is the role table's answer (access.REVIEW); this is the
            # database's backstop for a write that bypassed it.
            models.CheckConstraint(
                condition=~models.Q(verified_by=models.F("reported_by")),
                name="measurement_not_self_verified",
            ),
            # A rejected or superseded measurement may be reported again for the same period.
            models.UniqueConstraint(
                fields=["indicator", "disaggregation", "period_start", "period_end"],
                condition=~models.Q(status__in=["rejected", "superseded"]),
                name="measurement_one_per_period_and_category",
            ),
            date_in_calendar("period_start", "measurement_period_start_in_calendar"),
            date_in_calendar("period_end", "measurement_period_end_in_calendar"),
        ]
        indexes = [
            models.Index(fields=["indicator", "status"]),
            # Each order the API offers (?ordering=), ended by id, read a page at a time.
            models.Index(fields=["period_start", "id"]),
            models.Index(fields=["period_end", "id"]),
            # The review queues: what waits, oldest first.
            models.Index(fields=["status", "submitted_at", "id"]),
        ]

    def __str__(self):
        category = f" ({self.disaggregation})" if self.disaggregation else ""
        value = "" if self.value is None else plain(self.value)
        return f"{self.indicator.code}{category} {self.period_start}..{self.period_end}: {value}"

    def save(self, *args, **kwargs):
        self.derive_value()
        super().save(*args, **kwargs)

    @property
    def is_fraction(self):
        return self.numerator is not None and self.denominator is not None

    @property
    def is_open(self):
        """Still the reporter's to change (draft, submitted or returned)."""
        return self.status in OPEN_STATUSES

    def author_ids(self) -> set:
        """Everyone who reported this measurement or changed what it records (from its
        history): four eyes means none of them verifies it."""
        if hasattr(self, "_review_facts"):
            return self._review_facts[0]
        if self.pk is None:
            return {self.reported_by_id} - {None}
        rows = self.history.order_by("history_date", "history_id").values(
            "history_user_id", *self.RECORDED_FIELDS
        )
        return self.authors_in(self.reported_by_id, rows)

    @classmethod
    def authors_in(cls, reported_by_id, history_rows) -> set:
        """The reporter and whoever changed a recorded field, from history rows in order."""
        authors = {reported_by_id} - {None}
        previous = None
        for row in history_rows:
            values = tuple(row[name] for name in cls.RECORDED_FIELDS)
            if values != previous and row["history_user_id"] is not None:
                authors.add(row["history_user_id"])
            previous = values
        return authors

    def remember_review_facts(self, author_ids, reporter_organisation_ids):
        """Hold what the independence rule reads, read for many rows at once
        (`selectors.with_review_facts`), so a queue does not query per row."""
        self._review_facts = (set(author_ids), frozenset(reporter_organisation_ids))

    def reporter_organisation_ids(self) -> frozenset:
        """The organisations its reporter belongs to."""
        if hasattr(self, "_review_facts"):
            return self._review_facts[1]
        if self.reported_by_id is None:
            return frozenset()
        return frozenset(
            Membership.objects.filter(user_id=self.reported_by_id).values_list(
                "organisation_id", flat=True
            )
        )

    def derive_value(self):
        if self.is_fraction and self.denominator > 0:
            self.value = (self.numerator / self.denominator * HUNDRED).quantize(VALUE_PLACES)

    def _derive_storable_value(self, errors):
        # The derived value has its own digits: a huge numerator over a tiny denominator
        # overflows them, which the database would refuse only at the save.
        try:
            self.derive_value()
            self._meta.get_field("value").run_validators(self.value)
        except (ValidationError, InvalidOperation):
            errors["numerator"] = gettext(
                "Numerator divided by denominator, as a percentage, is too large to store "
                "(at most 16 digits before the decimal point); check both."
            )

    def as_observation(self) -> Observation:
        return Observation(
            period_start=self.period_start,
            period_end=self.period_end,
            value=self.value,
            numerator=self.numerator,
            denominator=self.denominator,
            category=self.disaggregation,
        )

    def clean(self):
        errors = {}
        if self.period_start and self.period_end:
            if self.period_start > self.period_end:
                errors["period_end"] = words("measurement_period_ordered")
            elif self.period_end > timezone.localdate():
                errors["period_end"] = gettext(
                    "A result can be reported only for a period that has ended."
                )
        self.disaggregation = canonical_category(self.disaggregation)
        indicator = related_or_none(self, "indicator")
        if indicator is not None:
            problem = category_problem(indicator, self.disaggregation)
            if problem:
                errors["disaggregation"] = problem
            if indicator.is_percentage:
                if self.numerator is None:
                    errors["numerator"] = gettext(
                        "A percentage is reported as numerator and denominator."
                    )
                elif self.numerator < 0:
                    errors["numerator"] = gettext("The numerator cannot be negative.")
                if self.denominator is None:
                    errors["denominator"] = gettext(
                        "A percentage is reported as numerator and denominator."
                    )
                elif self.denominator <= 0:
                    errors["denominator"] = gettext("The denominator must be above zero.")
                if "numerator" not in errors and "denominator" not in errors:
                    self._derive_storable_value(errors)
            else:
                if self.numerator is not None or self.denominator is not None:
                    errors["numerator"] = gettext(
                        "Only a percentage indicator takes a numerator and denominator."
                    )
                if self.value is None:
                    errors["value"] = gettext("Give the observed value.")
        stored_status = self.stored("status")
        if stored_status in DECIDED_STATUSES and self.changed(*self.RECORDED_FIELDS):
            errors[NON_FIELD_ERRORS] = gettext(
                "A %(status)s measurement cannot be changed; supersede it with a reason instead."
            ) % {"status": MeasurementStatus(stored_status).label.lower()}
        if errors:
            raise ValidationError(errors)

"""Tranches of money from funders to projects, their disbursements and loan terms."""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from portfolio import access
from portfolio.fields import (
    CalendarDateField,
    CurrencyField,
    FreeTextField,
    MoneyField,
    currency_is_iso_shaped,
    date_in_calendar,
    validate_rate,
)
from portfolio.loading import QuickLoad
from portfolio.tracking import StoredValues
from projects.models import CostCategory

from . import coverage, schedules

ZERO = Decimal("0.00")


class Instrument(models.TextChoices):
    GRANT = "grant", _("Grant")
    LOAN = "loan", _("Concessional loan")
    RESULTS_BASED = "results_based", _("Results-based funding")


class Purpose(models.TextChoices):
    LAUNCH = "launch", _("Launch (build and roll-out)")
    MAINTENANCE = "maintenance", _("Maintenance (operations, updates, security, support)")
    CAPACITY = "capacity", _("Capacity (training)")
    OTHER = "other", _("Other")


class TrancheStatus(models.TextChoices):
    PLANNED = "planned", _("Planned (not signed)")
    COMMITTED = "committed", _("Committed (signed)")
    CANCELLED = "cancelled", _("Cancelled")


class DisbursementState(models.TextChoices):
    NONE = "none", _("Not disbursed")
    PARTIAL = "partial", _("Partly disbursed")
    FULL = "full", _("Fully disbursed")


class TrancheQuerySet(models.QuerySet):
    def maintenance(self):
        return self.filter(purpose=Purpose.MAINTENANCE)

    def secured(self):
        return self.filter(status=TrancheStatus.COMMITTED)

    def not_cancelled(self):
        return self.exclude(status=TrancheStatus.CANCELLED)


class Tranche(StoredValues, QuickLoad, models.Model):
    Instrument = Instrument
    Purpose = Purpose
    Status = TrancheStatus

    project = models.ForeignKey(
        "projects.Project", on_delete=models.PROTECT, related_name="tranches"
    )
    funder = models.ForeignKey(
        "portfolio.Organisation",
        on_delete=models.PROTECT,
        related_name="tranches",
        limit_choices_to={"is_funder": True},
    )
    instrument = models.CharField(max_length=20, choices=Instrument.choices)
    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    amount = MoneyField(validators=[MinValueValidator(Decimal("0.01"))])
    currency = CurrencyField()
    status = models.CharField(
        max_length=20, choices=TrancheStatus.choices, default=TrancheStatus.PLANNED
    )
    committed_on = CalendarDateField(
        null=True, blank=True, help_text="Date the agreement was signed."
    )
    expected_disbursement_on = CalendarDateField(null=True, blank=True)
    # An exchange rate agreed in the agreement overrides the rate table for the commitment.
    fixed_rate = models.DecimalField(
        max_digits=18,
        decimal_places=8,
        null=True,
        blank=True,
        validators=[validate_rate],
        help_text=(
            "Optional: units of the portfolio's reporting currency for one unit of this "
            "tranche's currency, as agreed in the agreement; the commitment is converted at it."
        ),
    )
    covers_from = CalendarDateField(
        null=True, blank=True, help_text="Maintenance: first day of service paid for."
    )
    covers_until = CalendarDateField(
        null=True, blank=True, help_text="Maintenance: last day of service paid for."
    )
    funder_reference = models.CharField(
        max_length=100, blank=True, help_text="The funder's own reference; unique per funder."
    )
    notes = FreeTextField(blank=True)
    # Kept by services.disburse() under a row lock; the database refuses a total above the amount.
    disbursed_amount = MoneyField(default=ZERO, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    objects = TrancheQuerySet.as_manager()

    class Meta:
        ordering = ["project", "covers_from", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="tranche_amount_positive"
            ),
            models.CheckConstraint(
                condition=currency_is_iso_shaped("currency"), name="tranche_currency_iso"
            ),
            models.CheckConstraint(
                condition=models.Q(disbursed_amount__gte=0)
                & models.Q(disbursed_amount__lte=models.F("amount")),
                name="tranche_disbursed_within_amount",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="cancelled") | models.Q(disbursed_amount=0),
                name="tranche_cancelled_has_no_disbursements",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="committed") | models.Q(committed_on__isnull=False),
                name="tranche_committed_has_date",
            ),
            models.CheckConstraint(
                condition=models.Q(covers_from__isnull=True)
                | models.Q(covers_until__isnull=True)
                | models.Q(covers_from__lte=models.F("covers_until")),
                name="tranche_cover_period_ordered",
            ),
            models.CheckConstraint(
                condition=~models.Q(purpose="maintenance")
                | (models.Q(covers_from__isnull=False) & models.Q(covers_until__isnull=False)),
                name="tranche_maintenance_has_cover_period",
            ),
            models.UniqueConstraint(
                fields=["funder", "funder_reference"],
                condition=~models.Q(funder_reference=""),
                name="tranche_funder_reference_unique",
            ),
            *(
                date_in_calendar(name, f"tranche_{name}_in_calendar")
                for name in (
                    "committed_on",
                    "expected_disbursement_on",
                    "covers_from",
                    "covers_until",
                )
            ),
        ]
        indexes = [
            models.Index(fields=["purpose", "status", "project"]),
            # Each order the API offers (?ordering=), ended by id, read a page at a time.
            models.Index(fields=["amount", "id"]),
            models.Index(fields=["committed_on", "id"]),
            models.Index(fields=["expected_disbursement_on", "id"]),
            models.Index(fields=["covers_from", "id"]),
            models.Index(fields=["covers_until", "id"]),
        ]

    def __str__(self):
        return f"{self.get_instrument_display()} {self.currency} {self.amount:,} to {self.project.code}"

    # What a row was stored with is remembered (StoredValues): a tranche never moves to
    # another project, and keeps the currency its payments were made in.
    TRACKED_FIELDS = ("project_id", "currency")

    def save(self, *args, **kwargs):
        if not self._state.adding and kwargs.get("update_fields") is None:
            # disbursed_amount is kept by services.disburse() under a row lock; a copy of the
            # tranche read before a disbursement must never write its stale total back.
            # Attribute names (project_id), so StoredValues knows what this save wrote.
            kwargs["update_fields"] = [
                f.attname
                for f in self._meta.concrete_fields
                if not f.primary_key and f.name != "disbursed_amount"
            ]
        super().save(*args, **kwargs)

    @property
    def undisbursed_amount(self):
        return self.amount - self.disbursed_amount

    @property
    def disbursement_state(self):
        if self.disbursed_amount <= 0:
            return DisbursementState.NONE
        if self.disbursed_amount < self.amount:
            return DisbursementState.PARTIAL
        return DisbursementState.FULL

    @property
    def is_secured(self):
        return self.status == TrancheStatus.COMMITTED

    @property
    def disbursable_limit(self) -> Decimal:
        """The most that may ever be disbursed on this tranche.

        A results-based tranche pays only what verified results have earned (its payout
        terms' earned amount, kept by the evaluations' payout recalculation); any other
        tranche pays up to its amount. `services.disburse()` holds a payment to it under the
        tranche's row lock.
        """
        if self.instrument != Instrument.RESULTS_BASED:
            return self.amount
        terms = getattr(self, "payout_terms", None)
        earned = terms.eligible_amount if terms is not None else ZERO
        return min(self.amount, earned)

    @property
    def payable_amount(self) -> Decimal:
        """What may still be disbursed on this tranche now: its disbursable limit less what
        has been paid. Zero for a tranche that is not committed, which cannot be disbursed."""
        if not self.is_secured:
            return ZERO
        return max(self.disbursable_limit - self.disbursed_amount, ZERO)

    def currency_refused(self, stored_currency) -> str | None:
        """Why this tranche may not change from `stored_currency` to its currency, or None.
        Its disbursements, and the repayments and allocations that follow, are amounts in
        the currency they were made in: a new currency would restate them all."""
        if self.disbursed_amount > 0 and stored_currency != self.currency:
            return gettext(
                "A tranche with disbursements keeps its currency (%(currency)s); undo them "
                "first, or cancel the tranche and create a new one."
            ) % {"currency": stored_currency}
        return None

    def clean(self):
        errors = {}
        if self.purpose == Purpose.MAINTENANCE:
            if not self.covers_from:
                errors["covers_from"] = gettext(
                    "A maintenance tranche needs the first day of service it pays for."
                )
            if not self.covers_until:
                errors["covers_until"] = gettext(
                    "A maintenance tranche needs the last day of service it pays for."
                )
        if self.covers_from and self.covers_until and self.covers_from > self.covers_until:
            errors["covers_until"] = gettext("The cover period cannot end before it starts.")
        if self.status == TrancheStatus.COMMITTED and not self.committed_on:
            errors["committed_on"] = gettext("A committed tranche needs the date it was signed.")
        if self.amount is not None and self.amount < self.disbursed_amount:
            errors["amount"] = gettext(
                "The amount cannot fall below the %(disbursed)s already disbursed."
            ) % {"disbursed": f"{self.disbursed_amount:,}"}
        if self.status == TrancheStatus.CANCELLED and self.disbursed_amount > 0:
            errors["status"] = gettext("A tranche with disbursements cannot be cancelled.")
        if self.status != TrancheStatus.PLANNED and self.disbursed_amount > 0 and self.committed_on:
            first = (
                self.disbursements.order_by("disbursed_on")
                .values_list("disbursed_on", flat=True)
                .first()
            )
            if first and self.committed_on > first:
                errors["committed_on"] = gettext(
                    "The commitment cannot be dated after the first disbursement (%(first)s)."
                ) % {"first": first}
        if self.status == TrancheStatus.PLANNED and self.disbursed_amount > 0:
            errors["status"] = gettext(
                "A tranche with disbursements is committed; it cannot go back to planned."
            )
        if (
            self.project_id
            and self.is_stored
            and self.stored("project_id", self.project_id) != self.project_id
        ):
            errors["project"] = gettext(
                "A tranche cannot move to another project; cancel it and create a new one."
            )
        if self.is_stored:
            refused = self.currency_refused(self.stored("currency", self.currency))
            if refused:
                errors["currency"] = refused
        if self.funder_id and not self.funder.is_funder:
            errors["funder"] = gettext("The funder must be an organisation marked as a funder.")
        if errors:
            raise ValidationError(errors)


class LoanTerms(QuickLoad, models.Model):
    """The terms of a concessional loan tranche, from which its repayment schedule follows."""

    # What a person fills in; the API and the pages offer these fields.
    TERM_FIELDS = [
        "annual_rate_percent",
        "tenor_months",
        "grace_months",
        "method",
        "frequency_months",
        "first_payment_date",
    ]

    class Method(models.TextChoices):
        ANNUITY = schedules.ANNUITY, _("Annuity")
        LINEAR = schedules.LINEAR, _("Linear")

    FREQUENCIES = [
        (1, _("Monthly")),
        (3, _("Quarterly")),
        (6, _("Semi-annual")),
        (12, _("Annual")),
    ]

    tranche = models.OneToOneField(Tranche, on_delete=models.CASCADE, related_name="loan_terms")
    annual_rate_percent = models.DecimalField(
        max_digits=6,
        decimal_places=3,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
        help_text="Annual interest rate in percent, e.g. 0.750.",
    )
    tenor_months = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1)], help_text="Including grace."
    )
    grace_months = models.PositiveSmallIntegerField(default=0)
    method = models.CharField(max_length=10, choices=Method.choices, default=schedules.ANNUITY)
    frequency_months = models.PositiveSmallIntegerField(choices=FREQUENCIES, default=6)
    first_payment_date = CalendarDateField()
    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "loan terms"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(annual_rate_percent__gte=0)
                & models.Q(annual_rate_percent__lte=100),
                name="loan_rate_between_0_and_100",
            ),
            models.CheckConstraint(
                condition=models.Q(tenor_months__gt=0)
                & models.Q(grace_months__lt=models.F("tenor_months")),
                name="loan_grace_shorter_than_tenor",
            ),
            models.CheckConstraint(
                condition=models.Q(frequency_months__in=[1, 3, 6, 12]), name="loan_frequency_known"
            ),
            date_in_calendar("first_payment_date", "loan_first_payment_date_in_calendar"),
        ]

    def __str__(self):
        return f"Loan terms of {self.tranche}"

    def schedule(self):
        return schedules.repayment_schedule(
            principal=self.tranche.amount,
            annual_rate_percent=self.annual_rate_percent,
            tenor_months=self.tenor_months,
            grace_months=self.grace_months,
            method=self.method,
            frequency_months=self.frequency_months,
            first_payment_date=self.first_payment_date,
        )

    def clean(self):
        if self.tranche_id and self.tranche.instrument != Instrument.LOAN:
            raise ValidationError({"tranche": gettext("Loan terms belong to a loan tranche.")})
        if None in (
            self.tenor_months,
            self.grace_months,
            self.frequency_months,
            self.annual_rate_percent,
        ):
            return
        if self.tranche_id and self.first_payment_date:
            try:
                self.schedule()
            except schedules.ScheduleError as error:
                raise ValidationError(str(error)) from error


class Disbursement(QuickLoad, models.Model):
    tranche = models.ForeignKey(Tranche, on_delete=models.PROTECT, related_name="disbursements")
    disbursed_on = CalendarDateField()
    amount = MoneyField(validators=[MinValueValidator(Decimal("0.01"))])
    reference = models.CharField(max_length=100, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["tranche", "disbursed_on", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="disbursement_amount_positive"
            ),
            date_in_calendar("disbursed_on", "disbursement_disbursed_on_in_calendar"),
        ]
        # Each order the API offers (?ordering=), ended by id, read a page at a time.
        indexes = [
            models.Index(fields=["disbursed_on", "id"]),
            models.Index(fields=["amount", "id"]),
        ]

    def __str__(self):
        return f"{self.amount:,} {self.tranche.currency} on {self.disbursed_on}"

    def clean(self):
        # A disbursement is money that has moved. A payment still to come is the tranche's
        # expected disbursement date, never a disbursement dated in the future.
        today = timezone.localdate()
        if self.disbursed_on and self.disbursed_on > today:
            raise ValidationError(
                {
                    "disbursed_on": gettext(
                        "A disbursement records money already paid, so it cannot be dated "
                        "after today (%(today)s). Record it on the day it is paid; until "
                        "then, give the date it is expected on the tranche."
                    )
                    % {"today": today.isoformat()}
                }
            )


class Repayment(models.Model):
    """Principal and interest received on a loan tranche. Recorded through
    `services.record_repayment` under the tranche's row lock; undone, never edited."""

    tranche = models.ForeignKey(Tranche, on_delete=models.PROTECT, related_name="repayments")
    received_on = CalendarDateField(help_text="The day the money was received.")
    principal = MoneyField(
        default=ZERO, validators=[MinValueValidator(ZERO)], help_text="Principal repaid."
    )
    interest = MoneyField(
        default=ZERO, validators=[MinValueValidator(ZERO)], help_text="Interest paid."
    )
    reference = models.CharField(max_length=100, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["tranche", "received_on", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(principal__gte=0) & models.Q(interest__gte=0),
                name="repayment_parts_not_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(principal__gt=0) | models.Q(interest__gt=0),
                name="repayment_not_empty",
            ),
            date_in_calendar("received_on", "repayment_received_on_in_calendar"),
        ]
        # Each order the API offers (?ordering=), ended by id, read a page at a time.
        indexes = [
            models.Index(fields=["received_on", "id"]),
        ]

    def __str__(self):
        return (
            f"{self.principal:,} principal and {self.interest:,} interest "
            f"{self.tranche.currency} on {self.received_on}"
        )

    @property
    def amount(self) -> Decimal:
        return self.principal + self.interest

    def clean(self):
        errors = {}
        today = timezone.localdate()
        if self.received_on and self.received_on > today:
            errors["received_on"] = gettext(
                "A repayment records money already received, so it cannot be dated after "
                "today (%(today)s)."
            ) % {"today": today.isoformat()}
        if (
            self.principal is not None
            and self.interest is not None
            and self.principal <= 0
            and self.interest <= 0
        ):
            errors["principal"] = gettext("A repayment needs a principal or an interest part.")
        if errors:
            raise ValidationError(errors)


class Allocation(models.Model):
    """The part of a maintenance tranche that pays one cost line of the project's plan, over the
    tranche's cover period: an amount (in the tranche's currency) or a share of the tranche.

    A maintenance tranche with no allocation pays the plan as a whole, as before plans existed.
    """

    tranche = models.ForeignKey(Tranche, on_delete=models.CASCADE, related_name="allocations")
    category = models.CharField("cost line", max_length=20, choices=CostCategory.choices)
    amount = MoneyField(
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text="In the tranche's currency; or give a share.",
    )
    share = models.DecimalField(
        "share (%)",
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("100"))],
        help_text="Percent of the tranche; or give an amount.",
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["tranche", "category"]
        constraints = [
            models.UniqueConstraint(
                fields=["tranche", "category"], name="allocation_one_per_tranche_and_line"
            ),
            models.CheckConstraint(
                condition=(models.Q(amount__isnull=True) & models.Q(share__gt=0, share__lte=100))
                | (models.Q(share__isnull=True) & models.Q(amount__gt=0)),
                name="allocation_amount_or_share",
            ),
        ]

    def __str__(self):
        part = f"{self.share} %" if self.share is not None else f"{self.amount:,}"
        return f"{part} of tranche {self.tranche_id} to {self.get_category_display()}"

    def clean(self):
        if (self.amount is None) == (self.share is None):
            raise ValidationError(
                {"amount": gettext("Give either an amount or a share, not both.")}
            )
        if self.tranche_id is None:
            return
        if self.tranche.purpose != Purpose.MAINTENANCE:
            raise ValidationError(
                {"tranche": gettext("Only a maintenance tranche pays for the lines of a plan.")}
            )
        if self.amount is not None and self.amount > self.tranche.amount:
            raise ValidationError(
                {"amount": gettext("An allocation cannot exceed the tranche's amount.")}
            )


# The kinds of flag, from their one list (coverage.FLAG_KINDS, which also carries urgency and
# escalation): FlagKind.LAPSED, FlagKind.AT_RISK, ...
FlagKind = models.TextChoices(
    "FlagKind",
    [(kind.value.upper(), (kind.value, _(kind.label))) for kind in coverage.FLAG_KINDS],
    module=__name__,
)


class LapseFlagQuerySet(models.QuerySet):
    def open(self):
        return self.filter(resolved_at__isnull=True)


class LapseFlag(QuickLoad, models.Model):
    """A warning that a project's money does not cover what it must; kept after it resolves."""

    Kind = FlagKind

    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="lapse_flags"
    )
    kind = models.CharField(max_length=30, choices=FlagKind.choices)
    gap_start = models.DateField(null=True, blank=True)
    gap_end = models.DateField(null=True, blank=True, help_text="Empty when the gap is open-ended.")
    shortfall = MoneyField(
        null=True, blank=True, help_text="Underfunded: missing money in the reporting currency."
    )
    lines = models.CharField(
        max_length=500,
        blank=True,
        help_text="The cost lines the flag concerns, e.g. 'cybersecurity from 2026-03-01'.",
    )
    escalated_from = models.CharField(max_length=30, choices=FlagKind.choices, blank=True)
    raised_at = models.DateTimeField()
    last_seen_on = models.DateField(help_text="The scan date that last found the cause.")
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledgement_note = FreeTextField(blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    objects = LapseFlagQuerySet.as_manager()

    class Meta:
        ordering = ["-raised_at", "project"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "kind"],
                condition=models.Q(resolved_at__isnull=True),
                name="lapse_flag_one_open_per_project_and_kind",
            ),
            models.CheckConstraint(
                condition=models.Q(gap_start__isnull=True)
                | models.Q(gap_end__isnull=True)
                | models.Q(gap_start__lte=models.F("gap_end")),
                name="lapse_flag_gap_ordered",
            ),
        ]
        indexes = [
            models.Index(fields=["kind", "resolved_at"]),
            # Each order the API offers (?ordering=), ended by id, read a page at a time.
            models.Index(fields=["raised_at", "id"]),
            models.Index(fields=["gap_start", "id"]),
        ]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.project_id}"

    @property
    def days_to_lapse(self):
        """Days from the last scan to the gap: positive until the lapse, zero or negative after.

        Derived rather than stored, so a daily scan that finds nothing new touches one column.
        """
        if self.gap_start is None:
            return None
        return (self.gap_start - self.last_seen_on).days

    @property
    def is_open(self):
        return self.resolved_at is None

    def funder_ids(self) -> set:
        """Organisations whose money on this project counts (not cancelled): their officers may
        acknowledge its flags."""
        return set(
            Tranche.objects.filter(project_id=self.project_id)
            .not_cancelled()
            .values_list("funder_id", flat=True)
        )

    def acknowledge(self, user, note=""):
        access.check(user, access.ACKNOWLEDGE, self)
        if not self.is_open:
            raise ValidationError(gettext("A resolved flag cannot be acknowledged."))
        self.acknowledgement_note = note
        self.clean_fields(
            exclude=[f.name for f in self._meta.fields if f.name != "acknowledgement_note"]
        )
        self.acknowledged_by = user
        self.acknowledged_at = timezone.now()
        self.save(update_fields=["acknowledged_by", "acknowledged_at", "acknowledgement_note"])


class LapseReminder(models.Model):
    """A reminder sent as secured maintenance approaches its end; one per threshold and end date."""

    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="lapse_reminders"
    )
    coverage_ends_on = models.DateField()
    threshold_days = models.PositiveSmallIntegerField()
    sent_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "coverage_ends_on", "threshold_days"],
                name="lapse_reminder_sent_once",
            ),
        ]

    def __str__(self):
        return f"{self.threshold_days}-day reminder for {self.project_id} (ends {self.coverage_ends_on})"

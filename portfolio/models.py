"""Portfolios, organisations and their people's roles, and exchange rates."""

import re
from collections import defaultdict
from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField
from simple_history.models import HistoricalRecords

from .fields import (
    CalendarDateField,
    CurrencyField,
    currency_is_iso_shaped,
    date_in_calendar,
    validate_rate,
)
from .loading import QuickLoad
from .rates import Conversion, NoRateError, RateTable

__all__ = ["Conversion", "NoRateError"]


def default_reminder_days():
    return [180, 90, 30]


def validate_reminder_days(value):
    if not isinstance(value, list) or not all(isinstance(d, int) and 0 < d <= 3650 for d in value):
        raise ValidationError(
            gettext("Reminder days must be a list of whole days between 1 and 3650.")
        )


class Portfolio(QuickLoad, models.Model):
    name = models.CharField(max_length=200, unique=True)
    reporting_currency = CurrencyField(default="USD")
    lapse_warning_days = models.PositiveSmallIntegerField(
        default=90,
        help_text="Flag a project at risk when its secured maintenance ends within this many days.",
    )
    reminder_days = models.JSONField(
        default=default_reminder_days,
        validators=[validate_reminder_days],
        help_text="Remind funders this many days before secured maintenance ends.",
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=currency_is_iso_shaped("reporting_currency"),
                name="portfolio_reporting_currency_iso",
            ),
            models.CheckConstraint(
                condition=models.Q(lapse_warning_days__gt=0), name="portfolio_warning_days_positive"
            ),
        ]

    def __str__(self):
        return self.name


IATI_ORG_ID = re.compile(r"^[A-Z]{2}-[A-Z0-9]+-[A-Za-z0-9._/-]+$")


def validate_iati_identifier(value):
    if not IATI_ORG_ID.fullmatch(value):
        raise ValidationError(
            gettext(
                "An IATI organisation identifier is a registration agency prefix and a number, "
                "for example XM-DAC-41114 or GB-CHC-202918."
            )
        )


class Organisation(QuickLoad, models.Model):
    class FunderType(models.TextChoices):
        MULTILATERAL_BANK = "multilateral_bank", _("Multilateral development bank")
        BILATERAL_DONOR = "bilateral_donor", _("Bilateral donor")
        PHILANTHROPY = "philanthropy", _("Philanthropy")
        PRIVATE = "private", _("Private investor")

    name = models.CharField(max_length=200, unique=True)
    is_funder = models.BooleanField("funder", default=False)
    is_implementer = models.BooleanField("implementing partner", default=False)
    is_evaluator = models.BooleanField("evaluation firm", default=False)
    funder_type = models.CharField(max_length=20, choices=FunderType.choices, blank=True)
    country = CountryField(blank=True)
    iati_identifier = models.CharField(
        "IATI organisation identifier",
        max_length=100,
        blank=True,
        validators=[validate_iati_identifier],
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["iati_identifier"],
                condition=~models.Q(iati_identifier=""),
                name="organisation_iati_identifier_unique",
            ),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        if not (self.is_funder or self.is_implementer or self.is_evaluator):
            raise ValidationError(gettext("An organisation must play at least one part."))
        if self.funder_type and not self.is_funder:
            raise ValidationError({"funder_type": gettext("Only a funder has a funder type.")})


class Role(models.TextChoices):
    DONOR_OFFICER = "donor_officer", _("Donor officer")
    EVALUATOR = "evaluator", _("Evaluator")
    FINANCE = "finance", _("Finance staff")
    PORTFOLIO_MANAGER = "portfolio_manager", _("Portfolio manager")
    IMPLEMENTER = "implementer", _("Implementer")
    VERIFIER = "verifier", _("Verifier")


class Membership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organisation", "role"], name="membership_unique"
            ),
        ]

    def __str__(self):
        return f"{self.user} – {self.get_role_display()} at {self.organisation}"

    def clean(self):
        if (
            self.role == Role.DONOR_OFFICER
            and self.organisation_id
            and not self.organisation.is_funder
        ):
            raise ValidationError(
                {"organisation": gettext("A donor officer belongs to a funding organisation.")}
            )
        if (
            self.role == Role.IMPLEMENTER
            and self.organisation_id
            and not self.organisation.is_implementer
        ):
            raise ValidationError(
                {"organisation": gettext("An implementer belongs to an implementing partner.")}
            )


class ExchangeRate(QuickLoad, models.Model):
    """How many units of `to_currency` one unit of `currency` was worth on `valid_on`."""

    currency = CurrencyField()
    to_currency = CurrencyField()
    rate = models.DecimalField(max_digits=20, decimal_places=8, validators=[validate_rate])
    valid_on = CalendarDateField()
    source = models.CharField(max_length=200, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["currency", "to_currency", "-valid_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["currency", "to_currency", "valid_on"], name="exchange_rate_unique_per_day"
            ),
            models.CheckConstraint(condition=models.Q(rate__gt=0), name="exchange_rate_positive"),
            models.CheckConstraint(
                condition=~models.Q(currency=models.F("to_currency")),
                name="exchange_rate_distinct_currencies",
            ),
            models.CheckConstraint(
                condition=currency_is_iso_shaped("currency"), name="exchange_rate_currency_iso"
            ),
            models.CheckConstraint(
                condition=currency_is_iso_shaped("to_currency"),
                name="exchange_rate_to_currency_iso",
            ),
            date_in_calendar("valid_on", "exchange_rate_valid_on_in_calendar"),
        ]
        indexes = [
            models.Index(fields=["to_currency", "currency", "valid_on"]),
            # The API lists rates by date (?ordering=valid_on), a page at a time.
            models.Index(fields=["valid_on", "id"]),
        ]

    def __str__(self):
        return f"1 {self.currency} = {self.rate} {self.to_currency} on {self.valid_on}"

    @classmethod
    def table(cls, to_currency):
        """All rates into `to_currency`, for converting many amounts with one query."""
        return cls.tables([to_currency])[to_currency]

    @classmethod
    def tables(cls, to_currencies):
        """A RateTable per target currency, read in one query."""
        rows = defaultdict(list)
        for currency, to_currency, valid_on, rate in cls.objects.filter(
            to_currency__in=to_currencies
        ).values_list("currency", "to_currency", "valid_on", "rate"):
            rows[to_currency].append((currency, valid_on, rate))
        return {
            to_currency: RateTable(to_currency, rows[to_currency]) for to_currency in to_currencies
        }

    @classmethod
    def convert(cls, amount, currency, to_currency, on: date) -> Conversion:
        """Convert with the latest rate on or before `on`; raises NoRateError if there is none."""
        rows = (
            cls.objects.filter(currency=currency, to_currency=to_currency, valid_on__lte=on)
            .order_by("-valid_on")
            .values_list("currency", "valid_on", "rate")[:1]
        )
        return RateTable(to_currency, rows).convert(amount, currency, on)


class OutboxMessage(models.Model):
    """Work asked for by a change, written in the change's own transaction (see outbox.py).

    It is published to the broker once the transaction commits and then marked sent; if the
    broker was down, a periodic task (and every worker as it starts) publishes it later, so
    nothing a committed change asked for is lost.
    """

    task_name = models.CharField(max_length=200)
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=models.Q(sent_at__isnull=True),
                name="outbox_unsent_by_age",
            ),
        ]

    def __str__(self):
        state = f"sent {self.sent_at:%Y-%m-%d %H:%M:%S}" if self.sent_at else "waiting"
        return f"{self.task_name} ({state})"

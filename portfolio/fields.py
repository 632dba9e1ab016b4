"""Model fields shared by the apps: money, exchange rates, ISO 4217 currency codes, the dates
people type and the free text they write."""

from datetime import date
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .codelists import currencies, currency_choices, sector_choices, sectors


def validate_currency(value):
    if value not in currencies():
        raise ValidationError(
            gettext("%(value)s is not an ISO 4217 currency code."),
            code="currency",
            params={"value": value},
        )


def validate_sector(value):
    if value not in sectors():
        raise ValidationError(
            gettext("%(value)s is not an OECD DAC 5-digit purpose code."),
            code="sector",
            params={"value": value},
        )


class CodelistField(models.CharField):
    """A code from a shipped IATI codelist. The list is read at run time, not frozen into
    migrations, so a codelist update needs no migration."""

    validator = None
    choices_from = None

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", self.max_code_length)
        kwargs.setdefault("validators", [type(self).validator])
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs.pop("validators", None)
        return name, path, args, kwargs

    def formfield(self, **kwargs):
        field = super().formfield(**kwargs)
        field.widget = forms.Select(choices=[("", "---------"), *type(self).choices_from()])
        return field


class CurrencyField(CodelistField):
    """Three-letter ISO 4217 currency code."""

    max_code_length = 3
    validator = staticmethod(validate_currency)
    choices_from = staticmethod(currency_choices)


class SectorField(CodelistField):
    """OECD DAC 5-digit purpose code."""

    max_code_length = 5
    validator = staticmethod(validate_sector)
    choices_from = staticmethod(sector_choices)


class MoneyField(models.DecimalField):
    """Decimal with two places, large enough for any tranche (up to 10^16)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_digits", 18)
        kwargs.setdefault("decimal_places", 2)
        super().__init__(*args, **kwargs)


# An exchange rate holds eight decimal places; its smallest value would otherwise be shown to
# people as "1E-8".
RATE_MESSAGE = _(
    "A rate is a number greater than zero, such as 0.92 or 1250, with at most 8 decimal places."
)
validate_rate = MinValueValidator(Decimal("0.00000001"), message=RATE_MESSAGE)


def currency_is_iso_shaped(field_name):
    """Database-level guard: the column holds three capital letters (the model validates the
    code against the ISO list)."""
    return models.Q(**{f"{field_name}__regex": r"^[A-Z]{3}$"})


# Every date a person types lies in this range, the same through every door: a year 1 or
# 9999 is a typing slip, and date arithmetic near the calendar's ends fails (year 10000).
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2200, 12, 31)
DATE_RANGE_MESSAGE = _("Give a date from 1900-01-01 to 2200-12-31.")


def validate_calendar_date(value):
    if value is not None and not EARLIEST_DATE <= value <= LATEST_DATE:
        raise ValidationError(DATE_RANGE_MESSAGE, code="date_range")


class CalendarDateField(models.DateField):
    """A date a person types, from 1900-01-01 to 2200-12-31 (`validate_calendar_date`).

    The model's constraints hold the same range in the database (`date_in_calendar`)."""

    default_validators = [validate_calendar_date]


def date_in_calendar(field_name, name):
    """Database-level guard: the date lies from EARLIEST_DATE to LATEST_DATE, or is empty."""
    return models.CheckConstraint(
        condition=models.Q(**{f"{field_name}__isnull": True})
        | models.Q(**{f"{field_name}__range": (EARLIEST_DATE, LATEST_DATE)}),
        name=name,
    )


# Free text (notes, descriptions, findings): long enough for any honest paragraph, short
# enough that nobody stores a megabyte through a door that forgot to count.
TEXT_LENGTH = 10_000


class FreeTextField(models.TextField):
    """A TextField whose length is checked by the model itself (Django checks a TextField's
    max_length only in forms), so the API, pages, admin and imports all refuse the same."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", TEXT_LENGTH)
        super().__init__(*args, **kwargs)
        self.validators.append(MaxLengthValidator(self.max_length))

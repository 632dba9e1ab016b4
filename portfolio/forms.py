"""Forms of the portfolio pages, and what every page and admin form does with a refusal."""

from contextlib import suppress

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import NON_FIELD_ERRORS, FieldDoesNotExist, ValidationError
from django.db import models
from django.utils import formats
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from . import errors, logins, numbers
from .models import ExchangeRate


def posted(request):
    """The POST data to bind a form to, or None on GET (an empty POST still binds, and fails)."""
    return request.POST if request.method == "POST" else None


def form_status(*forms):
    """400 when a form comes back with errors, so scripts and tests see the refusal too."""
    return 400 if any(form is not None and form.is_bound and form.errors for form in forms) else 200


class PlainErrors:
    """A form mixin: every error it shows is plain (`portfolio.errors`), wherever it came from
    (the form's own validation of the model, or a service's refusal), and one about a field the
    form does not show is shown above the fields, saying which field it means."""

    def add_error(self, field, error):
        if not isinstance(error, ValidationError):
            error = ValidationError(error)
        if not hasattr(error, "error_dict"):
            error = ValidationError({field or NON_FIELD_ERRORS: error.error_list})
        shown = {}
        for name, found in errors.plain(error).error_dict.items():
            if name == NON_FIELD_ERRORS or name in self.fields:
                shown.setdefault(name, []).extend(found)
            else:
                shown.setdefault(NON_FIELD_ERRORS, []).extend(
                    each if each.code in errors.CONSTRAINTS else self._about(name, each)
                    for each in found
                )
        super().add_error(None, ValidationError(shown))

    def _about(self, name, error):
        """`error` prefixed with the name of the field it is about."""
        label = name
        model = getattr(getattr(self, "_meta", None), "model", None)
        if model is not None:
            with suppress(FieldDoesNotExist):
                label = model._meta.get_field(name).verbose_name
        return ValidationError(
            gettext("%(field)s: %(message)s"),
            code=error.code,
            params={"field": capfirst(label), "message": " ".join(error.messages)},
        )


NUMBER_FIELDS = (forms.DecimalField, forms.IntegerField, forms.FloatField)


def reads_typed_numbers(field):
    """`field` (a form's own copy) accepts a number as people type it in the active language
    ("900,000", "12 500,50") and shows its value that way: a text box with a numeric keyboard,
    since a browser's number box refuses grouped digits before the server sees them."""
    field.localize = True
    if isinstance(field.widget, forms.NumberInput):
        attrs = {k: v for k, v in field.widget.attrs.items() if k not in ("step", "min", "max")}
        field.widget = forms.TextInput(attrs=attrs)
    field.widget.is_localized = True
    # DecimalField and FloatField are IntegerFields to Django: ask for the decimal point first.
    whole = not isinstance(field, (forms.DecimalField, forms.FloatField))
    field.widget.attrs.setdefault("inputmode", "numeric" if whole else "decimal")
    read = field.to_python

    def to_python(value):
        return read(
            numbers.plain_number(
                value,
                formats.get_format("DECIMAL_SEPARATOR"),
                formats.get_format("THOUSAND_SEPARATOR"),
            )
        )

    field.to_python = to_python


class PageFormMixin(PlainErrors):
    """What every page form does: plain errors, a service's refusal next to its fields, and
    numbers read as people type them in their language."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field, NUMBER_FIELDS) and not isinstance(field.widget, forms.HiddenInput):
                reads_typed_numbers(field)

    def add_service_error(self, error: ValidationError):
        self.add_error(None, error)


def with_plain_errors(form_class):
    """`form_class`, its errors made plain: for forms built elsewhere (the admin's)."""
    if issubclass(form_class, PlainErrors):
        return form_class
    return type(form_class.__name__, (PlainErrors, form_class), {})


class ExchangeRateForm(PageFormMixin, forms.ModelForm):
    class Meta:
        model = ExchangeRate
        fields = ["currency", "to_currency", "rate", "valid_on", "source"]
        labels = {
            "currency": _("Currency"),
            "to_currency": _("Into currency"),
            "rate": _("Rate (units of the second currency for one unit of the first)"),
            "valid_on": _("Valid from"),
            "source": _("Source"),
        }
        widgets = {"valid_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}
        localized_fields = ["rate"]


class RateFilterForm(PageFormMixin, forms.Form):
    """The rates list narrowed to one currency (either side of the rate)."""

    currency = forms.ChoiceField(label=_("Currency"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        rates = ExchangeRate.objects.order_by()
        codes = set(rates.values_list("currency", flat=True).distinct())
        codes |= set(rates.values_list("to_currency", flat=True).distinct())
        self.fields["currency"].choices = [("", _("All currencies"))] + [
            (code, code) for code in sorted(codes)
        ]

    def filter(self, rates):
        if self.is_valid() and self.cleaned_data["currency"]:
            code = self.cleaned_data["currency"]
            rates = rates.filter(models.Q(currency=code) | models.Q(to_currency=code))
        return rates


class RetireRateForm(PageFormMixin, forms.Form):
    reason = forms.CharField(
        label=_("Why is it retired?"),
        max_length=100,
        help_text=_("Kept in the history, e.g. typed the wrong way round."),
    )


class LoginLockMixin:
    """Refuses, before any password is checked, a login whose address or username has failed
    too often (`portfolio.logins`); Django counts each failure as it happens."""

    def clean(self):
        self.wait_seconds = logins.wait_seconds(self.request, self.data.get("username"))
        if self.wait_seconds:
            raise ValidationError(
                gettext("Too many failed logins. Try again in %(seconds)d seconds.")
                % {"seconds": self.wait_seconds},
                code="throttled",
            )
        return super().clean()


class LoginForm(LoginLockMixin, AuthenticationForm):
    """The page login."""


class AdminLoginForm(LoginLockMixin, AdminAuthenticationForm):
    """The admin's login, under the same lock as the pages and the API."""


class UploadForm(forms.Form):
    """One workbook to import; `label` names what it holds."""

    workbook = forms.FileField(
        widget=forms.ClearableFileInput(
            attrs={
                "accept": ".xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
        ),
    )

    def __init__(self, *args, label, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["workbook"].label = label

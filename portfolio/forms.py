"""Forms of the portfolio pages, and how any page form shows a service's refusal."""

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from . import logins
from .models import ExchangeRate


def posted(request):
    """The POST data to bind a form to, or None on GET (an empty POST still binds, and fails)."""
    return request.POST if request.method == "POST" else None


def form_status(*forms):
    """400 when a form comes back with errors, so scripts and tests see the refusal too."""
    return 400 if any(form is not None and form.is_bound and form.errors for form in forms) else 200


class PageFormMixin:
    """What every page form does: show the models' choice labels (English in the models) in
    the reader's language, and put a service's ValidationError next to the fields it names."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field, forms.ChoiceField) and not isinstance(
                field, forms.ModelChoiceField
            ):
                field.choices = [(value, gettext(str(label))) for value, label in field.choices]

    def add_service_error(self, error: ValidationError):
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for name, messages in error.message_dict.items():
            field = name if name in self.fields else None
            if name == NON_FIELD_ERRORS:
                field = None
            self.add_error(field, messages)


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

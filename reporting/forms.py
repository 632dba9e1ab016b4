"""Form of the export page: which part of the portfolio the workbook covers."""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from funding.models import Instrument
from portfolio.fields import validate_calendar_date
from portfolio.forms import PageFormMixin
from portfolio.models import Organisation, Portfolio
from projects.models import Project

from .workbook import ExportFilters


class ExportForm(PageFormMixin, forms.Form):
    """Which part of the portfolio the workbook covers; everything is optional."""

    portfolio = forms.ModelChoiceField(
        label=_("Portfolio"), queryset=Portfolio.objects.all(), required=False
    )
    funder = forms.ModelChoiceField(
        label=_("Funder"), queryset=Organisation.objects.filter(is_funder=True), required=False
    )
    country = forms.ChoiceField(label=_("Country"), required=False)
    instrument = forms.ChoiceField(label=_("Instrument"), required=False)
    as_of = forms.DateField(
        label=_("As of"),
        required=False,
        validators=[validate_calendar_date],
        help_text=_("Leave empty for today."),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    with_schedules = forms.BooleanField(
        label=_("Full loan schedules"),
        required=False,
        help_text=_(
            "Every instalment of every loan, on a sheet of its own. Without it the workbook has "
            "one row per loan with its terms; a large portfolio's schedules take much longer."
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        anything = [("", gettext("All"))]
        self.fields["portfolio"].empty_label = gettext("All")
        self.fields["funder"].empty_label = gettext("All")
        self.fields["instrument"].choices = anything + Instrument.choices
        codes = Project.objects.order_by().values_list("country", flat=True).distinct()
        self.fields["country"].choices = anything + sorted(
            ((code, countries.name(code)) for code in codes), key=lambda choice: choice[1]
        )

    def filters(self) -> ExportFilters:
        data = self.cleaned_data
        return ExportFilters(
            portfolio=data["portfolio"].pk if data["portfolio"] else None,
            funder=data["funder"].pk if data["funder"] else None,
            country=data["country"],
            instrument=data["instrument"],
            as_of=data["as_of"],
            with_schedules=data["with_schedules"],
        )


class AsOfForm(forms.Form):
    """The day the dashboard shows the portfolio as of; empty or unreadable means today."""

    as_of = forms.DateField(
        label=_("As of"),
        required=False,
        validators=[validate_calendar_date],
        help_text=_("Leave empty for today."),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def day(self):
        if self.is_valid() and self.cleaned_data["as_of"]:
            return self.cleaned_data["as_of"]
        return timezone.localdate()

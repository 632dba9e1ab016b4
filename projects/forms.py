"""The project list's filters."""

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from funding.models import Instrument
from portfolio.forms import PageFormMixin
from portfolio.models import Organisation

from .models import Project, Status


class ProjectFilterForm(PageFormMixin, forms.Form):
    q = forms.CharField(label=_("Search"), required=False, help_text=_("Code, title or partner."))
    status = forms.ChoiceField(label=_("Status"), required=False)
    country = forms.ChoiceField(label=_("Country"), required=False)
    funder = forms.ModelChoiceField(
        label=_("Funder"), required=False, queryset=Organisation.objects.filter(is_funder=True)
    )
    instrument = forms.ChoiceField(label=_("Instrument"), required=False)
    flagged = forms.BooleanField(label=_("Only projects with open flags"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        anything = [("", _("Any"))]
        for name, choices in (("status", Status.choices), ("instrument", Instrument.choices)):
            self.fields[name].choices = anything + list(choices)
        self.fields["funder"].empty_label = _("Any")
        codes = Project.objects.order_by().values_list("country", flat=True).distinct()
        named = sorted(((code, countries.name(code)) for code in codes), key=lambda c: c[1])
        self.fields["country"].choices = anything + named

    def filter(self, projects):
        if not self.is_valid():
            return projects
        data = self.cleaned_data
        if data["q"]:
            q = data["q"].strip()
            projects = projects.filter(
                Q(code__icontains=q)
                | Q(title__icontains=q)
                | Q(implementing_partner__name__icontains=q)
            )
        if data["status"]:
            projects = projects.filter(status=data["status"])
        if data["country"]:
            projects = projects.filter(country=data["country"])
        if data["funder"]:
            projects = projects.filter(tranches__funder=data["funder"]).distinct()
        if data["instrument"]:
            projects = projects.filter(tranches__instrument=data["instrument"]).distinct()
        if data["flagged"]:
            projects = projects.filter(lapse_flags__resolved_at__isnull=True).distinct()
        return projects

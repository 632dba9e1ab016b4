"""Forms of the money pages: a tranche (with loan terms), a disbursement, a loan repayment
and its undoing, a flag acknowledgement."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from portfolio import access
from portfolio.forms import PageFormMixin
from portfolio.models import Organisation

from .models import LoanTerms, Tranche

DATE = {"type": "date"}


def date_input():
    # Browsers send ISO dates from a date picker, whatever the page's language.
    return forms.DateInput(attrs=DATE, format="%Y-%m-%d")


class TrancheForm(PageFormMixin, forms.ModelForm):
    class Meta:
        model = Tranche
        fields = [
            "funder",
            "funder_reference",
            "instrument",
            "purpose",
            "status",
            "currency",
            "amount",
            "committed_on",
            "expected_disbursement_on",
            "covers_from",
            "covers_until",
            "notes",
        ]
        labels = {
            "funder": _("Funder"),
            "funder_reference": _("Funder's reference"),
            "instrument": _("Instrument"),
            "purpose": _("Purpose"),
            "status": _("Status"),
            "currency": _("Currency"),
            "amount": _("Amount"),
            "committed_on": _("Signed on"),
            "expected_disbursement_on": _("Expected disbursement"),
            "covers_from": _("Pays for service from"),
            "covers_until": _("Pays for service until"),
            "notes": _("Notes"),
        }
        help_texts = {
            "funder_reference": _("Your organisation's own reference; unique for the funder."),
            "committed_on": _("Needed once the tranche is committed (signed)."),
            "covers_from": _("Maintenance tranches: the first day of service they pay for."),
            "covers_until": _("Maintenance tranches: the last day of service they pay for."),
        }
        widgets = {
            "committed_on": date_input(),
            "expected_disbursement_on": date_input(),
            "covers_from": date_input(),
            "covers_until": date_input(),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }
        localized_fields = ["amount"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        funders = Organisation.objects.filter(is_funder=True)
        found = access.roles(user)
        if not found.manager:
            # A donor officer logs tranches for their own organisations only.
            funders = funders.filter(pk__in=found.funders)
        self.fields["funder"].queryset = funders
        if not self.instance.pk and len(funders) == 1:
            self.initial["funder"] = funders[0].pk
        self.fields["amount"].widget.attrs["inputmode"] = "decimal"


class LoanTermsForm(PageFormMixin, forms.ModelForm):
    """Filled in only for a concessional loan; its repayment schedule follows from it."""

    class Meta:
        model = LoanTerms
        fields = LoanTerms.TERM_FIELDS
        labels = {
            "annual_rate_percent": _("Annual interest rate (%)"),
            "tenor_months": _("Tenor (months, including grace)"),
            "grace_months": _("Grace period (months)"),
            "method": _("Repayment method"),
            "frequency_months": _("Repayment every"),
            "first_payment_date": _("First repayment"),
        }
        help_texts = {"annual_rate_percent": _("For example 0.75."), "tenor_months": ""}
        widgets = {"first_payment_date": date_input()}
        localized_fields = ["annual_rate_percent"]


class DisbursementForm(PageFormMixin, forms.Form):
    disbursed_on = forms.DateField(label=_("Disbursed on"), widget=date_input())
    amount = forms.DecimalField(
        label=_("Amount"),
        max_digits=18,
        decimal_places=2,
        min_value=Decimal("0.01"),
        localize=True,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    reference = forms.CharField(
        label=_("Payment reference"),
        max_length=100,
        required=False,
        help_text=_("The transfer's reference, if any."),
    )


def _money(label, required=True, minimum=Decimal("0.01")):
    return forms.DecimalField(
        label=label,
        required=required,
        max_digits=18,
        decimal_places=2,
        min_value=minimum,
        localize=True,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )


class RepaymentForm(PageFormMixin, forms.Form):
    received_on = forms.DateField(label=_("Received on"), widget=date_input())
    principal = _money(_("Principal repaid"), required=False, minimum=Decimal("0"))
    interest = _money(_("Interest paid"), required=False, minimum=Decimal("0"))
    reference = forms.CharField(
        label=_("Payment reference"),
        max_length=100,
        required=False,
        help_text=_("The transfer's reference, if any."),
    )


class UndoRepaymentForm(PageFormMixin, forms.Form):
    reason = forms.CharField(
        label=_("Why is it undone?"), max_length=100, help_text=_("Kept in its history.")
    )


class AcknowledgeForm(PageFormMixin, forms.Form):
    note = forms.CharField(
        label=_("Note"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("What is being done about it: a renewal under way, a funder approached."),
    )


class UploadForm(forms.Form):
    workbook = forms.FileField(
        label=_("Tranche workbook (.xlsx)"),
        widget=forms.ClearableFileInput(
            attrs={
                "accept": ".xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
        ),
    )

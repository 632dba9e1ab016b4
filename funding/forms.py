"""Forms of the money pages: a tranche (with loan terms), a disbursement, a flag acknowledgement."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from portfolio import access
from portfolio.forms import PageFormMixin
from portfolio.models import Organisation
from projects.models import CostCategory, CostLine

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


class AllocationSharesForm(PageFormMixin, forms.Form):
    """The share of a maintenance tranche each cost line of the project's plan gets; all empty,
    the tranche pays the whole plan. One field per line of the plan, `share_<category>`."""

    def __init__(self, *args, tranche, **kwargs):
        super().__init__(*args, **kwargs)
        labels = dict(CostCategory.choices)
        categories = []
        if tranche.project_id:
            categories = list(
                dict.fromkeys(
                    CostLine.objects.filter(project_id=tranche.project_id)
                    .order_by("category")
                    .values_list("category", flat=True)
                )
            )
        given = {}
        if tranche.pk:
            given = {a.category: a for a in tranche.allocations.all()}
        order = {value: n for n, value in enumerate(CostCategory.values)}
        for category in sorted(categories, key=order.get):
            found = given.get(category)
            self.fields[f"share_{category}"] = forms.DecimalField(
                label=_("%(line)s (%% of the tranche)") % {"line": labels[category]},
                required=False,
                max_digits=5,
                decimal_places=2,
                min_value=Decimal("0.01"),
                max_value=Decimal("100"),
                localize=True,
                initial=found.share if found is not None else None,
                help_text=(
                    _("Now an amount of %(amount)s; a share given here replaces it.")
                    % {"amount": f"{found.amount:,.2f}"}
                    if found is not None and found.amount is not None
                    else ""
                ),
                widget=forms.TextInput(attrs={"inputmode": "decimal"}),
            )

    def shares(self) -> dict:
        """category -> share (None: the line is not paid by a share of this tranche)."""
        return {name.removeprefix("share_"): value for name, value in self.cleaned_data.items()}

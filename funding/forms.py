"""Forms of the money pages: a tranche (with loan terms), a disbursement, a loan repayment
and its undoing, a flag acknowledgement."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from portfolio import access
from portfolio.codelists import NOT_PAID_IN, currencies, money_currencies
from portfolio.fields import TEXT_LENGTH, validate_calendar_date
from portfolio.forms import PageFormMixin
from portfolio.models import Organisation
from projects.models import CostCategory, CostLine

from . import selectors
from .models import LoanTerms, Tranche
from .services import UNDO_REASON_MAX

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
            "purpose",  # two columns wide on a wide screen: its labels are long
            "instrument",
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
        funder = self.instance.funder if self.instance.funder_id else None
        if not self.instance.pk and len(funders) == 1:
            # A single choice is made for the officer.
            funder = funders[0]
            self.initial["funder"] = funder.pk
            self.fields["funder"].empty_label = None
        self._currency_choices(funder)
        # With JavaScript the loan terms show only while the instrument is a loan
        # (funding/static/funding/shows_when.js); without it they show, and are ignored.
        self.fields["instrument"].widget.attrs.update(
            {"data-shows": "loan-terms", "data-when": Tranche.Instrument.LOAN}
        )

    def _currency_choices(self, funder):
        """The portfolio's usual currencies first, then every currency money is paid in; the
        likely one chosen for a new tranche. A withdrawn code already stored still shows."""
        project = self.instance.project
        usual = [c for c in selectors.usual_currencies(project, funder) if c in currencies()]
        paid_in = money_currencies()
        current = self.instance.currency
        if current and current not in paid_in:
            paid_in = {**paid_in, current: currencies().get(current, current)}
        names = {**currencies(), **paid_in}
        first = [(code, f"{code} – {names[code]}") for code in usual if code in paid_in]
        rest = [(code, f"{code} – {name}") for code, name in sorted(paid_in.items())]
        self.fields["currency"].widget.choices = [
            ("", "---------"),
            (_("This portfolio's currencies"), first),
            (_("All currencies"), rest),
        ]
        if not self.instance.pk and first and not self.initial.get("currency"):
            self.initial["currency"] = first[0][0]

    def clean_currency(self):
        code = self.cleaned_data["currency"]
        if code and code in NOT_PAID_IN and code != self.instance.currency:
            raise forms.ValidationError(
                _("%(code)s is not a currency tranches are paid in; choose a national currency."),
                code="currency",
                params={"code": code},
            )
        return code


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
    disbursed_on = forms.DateField(
        label=_("Disbursed on"), widget=date_input(), validators=[validate_calendar_date]
    )
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


class UndoDisbursementForm(PageFormMixin, forms.Form):
    reason = forms.CharField(
        label=_("Why is it undone?"),
        max_length=UNDO_REASON_MAX,
        widget=forms.TextInput(),
        help_text=_("Kept in the history, e.g. recorded twice, or the wrong tranche."),
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
        label=_("Why is it undone?"),
        max_length=UNDO_REASON_MAX,
        help_text=_("Kept in its history."),
    )


class AcknowledgeForm(PageFormMixin, forms.Form):
    note = forms.CharField(
        label=_("Note"),
        max_length=TEXT_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("What is being done about it: a renewal under way, a funder approached."),
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

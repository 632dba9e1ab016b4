"""Admin for tranches, loan terms, disbursements and lapse flags.

Money moves only through `funding.services`, as it does through the API and the pages: a
tranche is saved (with its loan terms) by `save_tranche()`, loan terms by `save_loan_terms()`,
a disbursement is added by `disburse()` and removed by `undo_disbursement()`. The admin never
saves one of these rows itself, so the same locks and checks hold in every door.
"""

from contextlib import contextmanager

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms.models import BaseInlineFormSet
from django.http import Http404, HttpResponseRedirect
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from portfolio import access
from portfolio.admin import HistoryAdmin, RowAccess

from . import schedules, services
from .models import (
    Allocation,
    Disbursement,
    Instrument,
    LapseFlag,
    LapseReminder,
    LoanTerms,
    Repayment,
    Tranche,
)

TRANCHE_TOTALS = ["disbursed_amount", "undisbursed", "disbursement_state"]


# --- Saving through the services ------------------------------------------------------------


class Refused(Exception):
    """A service refused a save that the admin's forms had accepted."""

    def __init__(self, error: ValidationError, label=""):
        if label:  # the row is not the page's own (an inline): say which one
            error = ValidationError([f"{label}: {message}" for message in error.messages])
        super().__init__(error)
        self.error = error


@contextmanager
def through_service(label=""):
    """Run a service save; its refusal (bad input, or the role table) becomes `Refused`,
    which `ServiceSaves` shows on the form."""
    try:
        yield
    except PermissionDenied as denied:
        raise Refused(ValidationError(str(denied)), label) from denied
    except ValidationError as error:
        raise Refused(error, label) from error


def add_refusal(form, refusal: ValidationError):
    """Put a service's refusal on `form`: beside each field it names that the form shows,
    the rest above the form."""
    if not hasattr(refusal, "error_dict"):
        form.add_error(None, refusal)
        return
    for name, errors in refusal.error_dict.items():
        form.add_error(name if name in form.fields else None, errors)


class ShowsRefusal:
    """Form mixin: the form comes back with the service's refusal (`refusal`) as its errors."""

    refusal = None

    def clean(self):
        cleaned = super().clean()
        add_refusal(self, self.refusal)
        return cleaned


class ServiceSaves:
    """Admin pages whose saves call the services once the forms' own checks pass.

    A service checks again, under its row locks and with every rule (the role table for the
    funder chosen, constraints on fields the form does not show, a payment recorded
    meanwhile), so it may still refuse. Then the whole save is undone (the admin saves in one
    transaction) and the page comes back with the input and the service's reasons, as the
    pages and the API answer a refusal.
    """

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except Refused as refused:
            request.service_refusal = refused.error
            return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        refusal = getattr(request, "service_refusal", None)
        if refusal is None:
            return form
        return type(form.__name__, (ShowsRefusal, form), {"refusal": refusal})


def asked_loan_terms(formset):
    """What the loan-terms inline asks for, once saved with commit=False: the values to write,
    None to remove the terms, or `services.UNCHANGED`."""
    if formset.deleted_objects:
        return None
    written = [*formset.new_objects, *(terms for terms, _changed in formset.changed_objects)]
    if not written:
        return services.UNCHANGED
    return {name: getattr(written[0], name) for name in LoanTerms.TERM_FIELDS}


# --- Tranches and loan terms ------------------------------------------------------------------


class TrancheTotals:
    """Read-only columns derived from a tranche's amount and what has been paid on it."""

    @admin.display(description="undisbursed")
    def undisbursed(self, tranche):
        if tranche.pk is None:
            return None
        return tranche.undisbursed_amount

    @admin.display(description="disbursement")
    def disbursement_state(self, tranche):
        if tranche.pk is None:
            return None
        return tranche.disbursement_state.label


class TrancheFormSet(BaseInlineFormSet):
    """Saves each tranche added or changed in the inline through `services.save_tranche`, as
    `acting_user` (set per request by `TrancheInline.get_formset`)."""

    acting_user = None

    def save_new(self, form, commit=True):
        return self._save(super().save_new(form, commit=False), commit)

    def save_existing(self, form, obj, commit=True):
        return self._save(super().save_existing(form, obj, commit=False), commit)

    def _save(self, tranche, commit):
        if commit:
            with through_service(label=str(tranche)):
                services.save_tranche(tranche, self.acting_user)
        return tranche


class TrancheInline(TrancheTotals, admin.TabularInline):
    """A project's tranches; disbursements are seen and recorded from each tranche's page.
    The project's page must use `ServiceSaves`, which shows a refused tranche save."""

    model = Tranche
    formset = TrancheFormSet
    fields = [
        "funder",
        "instrument",
        "purpose",
        "amount",
        "currency",
        "status",
        "committed_on",
        "covers_from",
        "covers_until",
        *TRANCHE_TOTALS,
    ]
    readonly_fields = TRANCHE_TOTALS
    autocomplete_fields = ["funder"]
    show_change_link = True
    can_delete = False  # a signed tranche is cancelled, not deleted
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("project", "funder")

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.acting_user = request.user  # a fresh class per call, so this stays per request
        return formset


class LoanTermsInline(admin.StackedInline):
    model = LoanTerms
    fields = [
        "annual_rate_percent",
        ("tenor_months", "grace_months"),
        ("method", "frequency_months"),
        "first_payment_date",
    ]
    max_num = 1
    extra = 1


class DisbursementInline(admin.TabularInline):
    """What has been paid on a tranche, read-only: payments are added and undone on the
    disbursement pages, through the service."""

    model = Disbursement
    fields = ["disbursed_on", "amount", "reference", "recorded_by", "recorded_at"]
    readonly_fields = fields
    show_change_link = True
    can_delete = False
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("tranche__project", "recorded_by")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Tranche)
class TrancheAdmin(ServiceSaves, RowAccess, TrancheTotals, HistoryAdmin):
    list_display = [
        "project",
        "funder",
        "instrument",
        "purpose",
        "amount",
        "currency",
        "status",
        "disbursed_amount",
        "disbursement_state",
        "covers_from",
        "covers_until",
    ]
    list_filter = ["status", "instrument", "purpose", "currency", "project__portfolio"]
    search_fields = [
        "project__code",
        "project__title",
        "funder__name",
        "funder_reference",
    ]
    date_hierarchy = "committed_on"
    list_select_related = ["project", "funder"]
    autocomplete_fields = ["project", "funder"]
    fieldsets = [
        (None, {"fields": ["project", "funder", "funder_reference", "instrument", "purpose"]}),
        (
            "Money",
            {
                "fields": [
                    ("amount", "currency"),
                    ("status", "committed_on"),
                    "expected_disbursement_on",
                    *TRANCHE_TOTALS,
                ]
            },
        ),
        ("Maintenance cover", {"fields": [("covers_from", "covers_until")]}),
        (None, {"fields": ["notes", "created_at", "updated_at"]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        readonly = [*TRANCHE_TOTALS, "created_at", "updated_at"]
        if obj is not None:
            readonly.append("project")  # a tranche never moves to another project
        return readonly

    def get_inlines(self, request, obj):
        if obj is None:
            return []
        if obj.instrument == Instrument.LOAN:
            return [LoanTermsInline, DisbursementInline]
        return [DisbursementInline]

    def save_model(self, request, obj, form, change):
        """Nothing yet: save_related saves the tranche with its loan terms, in one service call."""

    def save_related(self, request, form, formsets, change):
        loan_terms = services.UNCHANGED
        for formset in formsets:
            formset.save(commit=False)  # what each inline asks for; disbursements are read-only
            if formset.model is LoanTerms:
                loan_terms = asked_loan_terms(formset)
        with through_service():
            try:
                services.save_tranche(form.instance, request.user, loan_terms=loan_terms)
            except services.LoanTermsRefused as error:
                raise Refused(error, label=_("Loan terms")) from error
        form.save_m2m()


@admin.register(LoanTerms)
class LoanTermsAdmin(ServiceSaves, RowAccess, HistoryAdmin):
    list_display = [
        "tranche",
        "annual_rate_percent",
        "tenor_months",
        "grace_months",
        "method",
        "frequency_months",
        "first_payment_date",
    ]
    list_filter = ["method", "frequency_months"]
    search_fields = ["tranche__project__code", "tranche__funder__name", "tranche__funder_reference"]
    list_select_related = ["tranche__project"]
    autocomplete_fields = ["tranche"]
    readonly_fields = ["repayment_schedule"]

    @admin.display(description="repayment schedule")
    def repayment_schedule(self, terms):
        if terms.pk is None:
            return None
        try:
            instalments = terms.schedule()
        except schedules.ScheduleError as error:
            return str(error)
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    i.number,
                    i.due_on.isoformat(),
                    f"{i.opening_balance:,}",
                    f"{i.interest:,}",
                    f"{i.principal:,}",
                    f"{i.payment:,}",
                    f"{i.closing_balance:,}",
                )
                for i in instalments
            ),
        )
        return format_html(
            "<table><thead><tr><th>#</th><th>due on</th><th>opening balance</th>"
            "<th>interest</th><th>principal</th><th>payment</th><th>closing balance</th>"
            "</tr></thead><tbody>{}</tbody></table>",
            rows,
        )

    def save_model(self, request, obj, form, change):
        with through_service():
            services.save_loan_terms(obj, obj.tranche, request.user)

    def delete_model(self, request, obj):
        services.remove_loan_terms(obj.tranche, request.user)

    def delete_queryset(self, request, queryset):
        for terms in queryset.select_related("tranche"):
            services.remove_loan_terms(terms.tranche, request.user)


class DisbursementAddForm(forms.ModelForm):
    """Records the disbursement through `services.disburse()` as its last validation step.

    Checking the limit and recording the payment are one locked operation in the service;
    a separate check here could pass and then lose a race. So the form is valid exactly
    when the service has recorded the disbursement, and the service's refusal becomes the
    form's errors. The admin runs this inside the request's transaction.
    """

    acting_user = None  # set per request by DisbursementAdmin.get_form

    class Meta:
        model = Disbursement
        fields = ["tranche", "disbursed_on", "amount", "reference"]

    def _post_clean(self):
        super()._post_clean()
        if self.errors:
            return
        data = self.cleaned_data
        try:
            self.instance = services.disburse(
                data["tranche"],
                data["amount"],
                data["disbursed_on"],
                reference=data.get("reference", ""),
                recorded_by=self.acting_user,
            )
        except ValidationError as refusal:
            add_refusal(self, refusal)


@admin.register(Disbursement)
class DisbursementAdmin(RowAccess, HistoryAdmin):
    list_display = [
        "tranche",
        "disbursed_on",
        "amount",
        "currency",
        "reference",
        "recorded_by",
        "recorded_at",
    ]
    list_filter = ["tranche__currency", "tranche__instrument", "tranche__project__portfolio"]
    search_fields = [
        "reference",
        "tranche__project__code",
        "tranche__funder__name",
        "tranche__funder_reference",
    ]
    date_hierarchy = "disbursed_on"
    list_select_related = ["tranche__project", "recorded_by"]
    autocomplete_fields = ["tranche"]

    ADD_FIELDS = ["tranche", "disbursed_on", "amount", "reference"]

    @admin.display(description="currency", ordering="tranche__currency")
    def currency(self, disbursement):
        return disbursement.tranche.currency

    def get_fields(self, request, obj=None):
        if obj is None:
            return self.ADD_FIELDS
        return [*self.ADD_FIELDS, "recorded_by", "recorded_at"]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.get_fields(request, obj)

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = DisbursementAddForm
        form = super().get_form(request, obj, change=change, **kwargs)
        form.acting_user = request.user  # a fresh class per call, so this stays per request
        return form

    def has_change_permission(self, request, obj=None):
        return False  # a disbursement recorded in error is deleted (undone) and entered again

    def save_model(self, request, obj, form, change):
        """Nothing left to save: DisbursementAddForm recorded the disbursement through
        services.disburse() while it validated."""

    def delete_view(self, request, object_id, extra_context=None):
        """Deleting is undoing: it takes a reason, and a payment undone meanwhile (another
        request, another door) is a 404, never a second refund."""
        reason = request.POST.get("reason", "").strip()
        if request.method == "POST" and not 0 < len(reason) <= services.UNDO_REASON_MAX:
            self.message_user(
                request,
                _("Say why this disbursement is undone, in at most %(limit)d characters.")
                % {"limit": services.UNDO_REASON_MAX},
                messages.ERROR,
            )
            return HttpResponseRedirect(request.path)
        try:
            return super().delete_view(request, object_id, extra_context)
        except services.AlreadyUndone as gone:
            raise Http404(str(gone)) from gone

    def delete_model(self, request, obj):
        services.undo_disbursement(obj, request.user, request.POST.get("reason", ""))

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # each deletion must give its amount back
        return actions


@admin.register(Repayment)
class RepaymentAdmin(RowAccess, HistoryAdmin):
    """Repayments, read-only with their history: they are recorded and undone on the loan page
    and through the API, both through `services.record_repayment()` / `undo_repayment()`."""

    list_display = [
        "tranche",
        "received_on",
        "principal",
        "interest",
        "reference",
        "recorded_by",
        "recorded_at",
    ]
    list_filter = ["tranche__currency", "tranche__project__portfolio"]
    search_fields = ["reference", "tranche__project__code", "tranche__funder_reference"]
    date_hierarchy = "received_on"
    list_select_related = ["tranche__project", "recorded_by"]
    readonly_fields = list_display

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(LapseFlag)
class LapseFlagAdmin(admin.ModelAdmin):
    """Flags are raised and resolved by the scan; people only acknowledge them."""

    list_display = [
        "project",
        "kind",
        "gap_start",
        "gap_end",
        "days_to_lapse",
        "raised_at",
        "acknowledged_by",
        "resolved_at",
    ]
    list_filter = [
        "kind",
        ("resolved_at", admin.EmptyFieldListFilter),
        ("acknowledged_at", admin.EmptyFieldListFilter),
        "project__portfolio",
    ]
    search_fields = ["project__code", "project__title"]
    date_hierarchy = "raised_at"
    list_select_related = ["project", "acknowledged_by"]
    actions = ["acknowledge"]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in LapseFlag._meta.fields] + ["days_to_lapse"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_acknowledge_permission(self, request):
        return access.may(request.user, access.ACKNOWLEDGE, LapseFlag)

    @admin.action(description="Acknowledge the selected open flags", permissions=["acknowledge"])
    def acknowledge(self, request, queryset):
        flags = list(queryset.open())
        for flag in flags:
            flag.acknowledge(request.user, note="Acknowledged in the admin.")
        self.message_user(request, f"{len(flags)} flag(s) acknowledged.", messages.SUCCESS)


@admin.register(LapseReminder)
class LapseReminderAdmin(admin.ModelAdmin):
    list_display = ["project", "coverage_ends_on", "threshold_days", "sent_at"]
    list_filter = ["threshold_days"]
    search_fields = ["project__code"]
    date_hierarchy = "sent_at"
    list_select_related = ["project"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- Sustainability plans: which lines a maintenance tranche pays ----------------------------


@admin.register(Allocation)
class AllocationAdmin(ServiceSaves, RowAccess, HistoryAdmin):
    list_display = ["tranche", "category", "amount", "share"]
    list_filter = ["category"]
    search_fields = ["tranche__project__code", "tranche__funder__name", "tranche__funder_reference"]
    list_select_related = ["tranche__project", "tranche__funder"]
    autocomplete_fields = ["tranche"]

    def save_model(self, request, obj, form, change):
        with through_service():
            services.save_allocation(obj, request.user)

    def delete_model(self, request, obj):
        services.delete_allocation(obj, request.user)

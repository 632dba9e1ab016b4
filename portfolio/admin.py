"""Admin for portfolios, organisations and their people, and exchange rates."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from simple_history.admin import SimpleHistoryAdmin

from reporting.admin import export_iati_xml, export_workbook

from . import access, services
from .forms import AdminLoginForm, with_plain_errors
from .models import ExchangeRate, Membership, Organisation, Portfolio

# The admin's login is locked after failed logins like the pages' and the API's.
admin.site.login_form = AdminLoginForm


class RowAccess:
    """Asks the role table about each row, not only its model: a donor officer changes only
    its own organisation's tranches, and cannot save one under another funder's name."""

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or access.may(request.user, access.CHANGE, obj))

    def has_delete_permission(self, request, obj=None):
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or access.may(request.user, access.DELETE, obj))

    def save_model(self, request, obj, form, change):
        access.check(request.user, access.CHANGE if change else access.ADD, obj)
        super().save_model(request, obj, form, change)


class PlainErrorsAdmin:
    """The admin's forms, and its inlines' forms, show refusals as the pages and the API do:
    a plain sentence on its field, never a constraint's name (`portfolio.errors`)."""

    def get_form(self, request, obj=None, change=False, **kwargs):
        return with_plain_errors(super().get_form(request, obj, change=change, **kwargs))

    def get_formsets_with_inlines(self, request, obj=None):
        for formset, inline in super().get_formsets_with_inlines(request, obj):
            formset.form = with_plain_errors(formset.form)
            yield formset, inline


class HistoryAdmin(PlainErrorsAdmin, SimpleHistoryAdmin):
    """Shows who changed what and when, but never reverts.

    A revert saves an old version of the row as it was, past the services and the lifecycle
    rules (an old disbursed total, a deleted disbursement, a closed project reopened), so the
    history pages of this project are read-only.
    """

    def revert_disabled(self, request, obj=None):
        return True

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method == "POST":
            raise PermissionDenied("History is read-only; change the record itself.")
        return super().history_form_view(request, object_id, version_id, extra_context)


@admin.register(Portfolio)
class PortfolioAdmin(PlainErrorsAdmin, admin.ModelAdmin):
    list_display = ["name", "reporting_currency", "lapse_warning_days", "reminder_days"]
    list_filter = ["reporting_currency"]
    search_fields = ["name"]
    actions = [export_iati_xml, export_workbook]

    def save_model(self, request, obj, form, change):
        services.save_portfolio(obj, request.user)


class MembershipInline(admin.TabularInline):
    model = Membership
    fields = ["user", "role"]
    autocomplete_fields = ["user"]
    extra = 0


@admin.register(Organisation)
class OrganisationAdmin(PlainErrorsAdmin, admin.ModelAdmin):
    list_display = [
        "name",
        "is_funder",
        "is_implementer",
        "is_evaluator",
        "funder_type",
        "country",
        "iati_identifier",
    ]
    list_filter = ["is_funder", "is_implementer", "is_evaluator", "funder_type", "country"]
    search_fields = ["name", "iati_identifier"]
    fieldsets = [
        (None, {"fields": ["name", "country", "iati_identifier"]}),
        (
            "Parts it plays",
            {"fields": ["is_funder", "funder_type", "is_implementer", "is_evaluator"]},
        ),
    ]
    inlines = [MembershipInline]

    def save_model(self, request, obj, form, change):
        services.save_organisation(obj, request.user)


@admin.register(Membership)
class MembershipAdmin(PlainErrorsAdmin, admin.ModelAdmin):
    list_display = ["user", "organisation", "role"]
    list_filter = ["role", "organisation"]
    search_fields = ["user__username", "user__email", "organisation__name"]
    list_select_related = ["user", "organisation"]
    autocomplete_fields = ["user", "organisation"]


@admin.register(ExchangeRate)
class ExchangeRateAdmin(HistoryAdmin):
    list_display = ["currency", "to_currency", "rate", "valid_on", "source"]
    list_filter = ["currency", "to_currency"]
    search_fields = ["currency", "to_currency", "source"]
    date_hierarchy = "valid_on"

    def save_model(self, request, obj, form, change):
        services.save_exchange_rate(obj, request.user)

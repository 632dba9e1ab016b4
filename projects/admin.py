"""Admin for projects, with their tranches, indicators and evaluations underneath; tranches
are saved through `funding.services`, whose refusal comes back on the page (ServiceSaves)."""

from django.contrib import admin

from evaluations.admin import EvaluationInline, IndicatorInline
from funding.admin import ServiceSaves, TrancheInline
from portfolio.admin import HistoryAdmin
from portfolio.services import save_row

from .models import CostLine, Project


class CostLineInline(admin.TabularInline):
    """The project's sustainability plan: its recurrent cost lines and their handover."""

    model = CostLine
    fields = [
        "category",
        "annual_cost",
        "currency",
        "starts_on",
        "ends_on",
        "successor",
        "handover_on",
        "handover_document",
    ]
    extra = 0


@admin.register(Project)
class ProjectAdmin(ServiceSaves, HistoryAdmin):
    list_display = [
        "code",
        "title",
        "portfolio",
        "country",
        "sector_code",
        "implementing_partner",
        "status",
        "launch_date",
        "obligation_end",
    ]
    list_filter = ["status", "portfolio", "country", "sector_code"]
    search_fields = ["code", "title", "implementing_partner__name"]
    date_hierarchy = "launch_date"
    list_select_related = ["portfolio", "implementing_partner"]
    autocomplete_fields = ["implementing_partner"]
    readonly_fields = ["obligation_end", "created_at", "updated_at"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    ("portfolio", "code"),
                    "title",
                    "description",
                    ("country", "sector_code"),
                    "implementing_partner",
                    "target_groups",
                ]
            },
        ),
        (
            "Lifecycle",
            {"fields": ["status", ("planned_launch_date", "launch_date")]},
        ),
        (
            "Sustainability",
            {
                "fields": [
                    ("sustainability_months", "obligation_end"),
                ]
            },
        ),
        (
            "IATI",
            {
                "fields": [
                    ("gender_marker", "disability_marker"),
                    "sdg_goals",
                    "admin_regions",
                    "iati_identifier",
                ]
            },
        ),
        (None, {"fields": ["created_at", "updated_at"]}),
    ]
    inlines = [CostLineInline, TrancheInline, IndicatorInline, EvaluationInline]

    @admin.display(description="must stay funded until")
    def obligation_end(self, project):
        return project.obligation_end


@admin.register(CostLine)
class CostLineAdmin(HistoryAdmin):
    list_display = ["project", "category", "annual_cost", "currency", "starts_on", "ends_on"]
    list_filter = ["category", "project__portfolio"]
    search_fields = ["project__code", "project__title", "successor"]
    list_select_related = ["project"]
    autocomplete_fields = ["project"]

    def save_model(self, request, obj, form, change):
        save_row(obj, request.user)

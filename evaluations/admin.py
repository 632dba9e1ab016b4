"""Admin for the results framework; every save, review and payout goes through the services."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from portfolio import access
from portfolio.admin import HistoryAdmin, PlainErrorsAdmin, RowAccess
from portfolio.fields import TEXT_LENGTH

from . import services
from .models import (
    DAC_CRITERIA,
    DisaggregationDimension,
    DisaggregationValue,
    Evaluation,
    Indicator,
    Measurement,
    MeasurementStatus,
    PayoutTerms,
    Recommendation,
    StandardIndicator,
    Target,
)


def _message(error: ValidationError | PermissionDenied) -> str:
    if isinstance(error, PermissionDenied):
        return str(error)
    return " ".join(error.messages)


class TargetForm(forms.ModelForm):
    change_reason = forms.CharField(
        max_length=TEXT_LENGTH,
        required=False,
        widget=forms.TextInput(attrs={"size": 40}),
        help_text="Required when the value or due date of a saved target changes.",
    )

    class Meta:
        model = Target
        fields = ["indicator", "due_on", "value", "disaggregation"]

    def clean(self):
        cleaned = super().clean()
        # Set before the model validates itself, which refuses a change without a reason.
        self.instance.change_reason = cleaned.get("change_reason", "")
        return cleaned


class TargetInline(admin.TabularInline):
    model = Target
    form = TargetForm
    fields = ["due_on", "value", "disaggregation", "change_reason"]
    extra = 0


class IndicatorInline(admin.TabularInline):
    """A project's indicators at a glance; they are edited on their own page."""

    model = Indicator
    fields = ["code", "name", "level", "measure", "direction", "baseline_value", "baseline_date"]
    readonly_fields = fields
    extra = 0
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class EvaluationInline(admin.TabularInline):
    """A project's evaluations at a glance; they are edited on their own page."""

    model = Evaluation
    fields = ["kind", "evaluator", "completed_on", "effectiveness", "sustainability"]
    readonly_fields = fields
    extra = 0
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Indicator)
class IndicatorAdmin(HistoryAdmin):
    list_display = ["code", "name", "project", "level", "measure", "direction", "aggregation"]
    list_filter = ["level", "measure", "direction", "aggregation", "project__portfolio"]
    search_fields = ["code", "name", "project__code", "project__title"]
    list_select_related = ["project"]
    autocomplete_fields = ["standard"]
    inlines = [TargetInline]
    fieldsets = [
        (None, {"fields": ["project", "standard", "code", "name", "definition", "unit", "level"]}),
        ("How it is measured", {"fields": ["measure", "direction", "aggregation"]}),
        ("Baseline", {"fields": ["baseline_value", "baseline_date"]}),
        ("Disaggregation", {"fields": ["disaggregations"]}),
    ]

    def save_model(self, request, obj, form, change):
        services.save_indicator(obj, request.user)

    def save_formset(self, request, form, formset, change):
        if formset.model is not Target:
            return super().save_formset(request, form, formset, change)
        targets = formset.save(commit=False)
        for target in formset.deleted_objects:
            target.delete()
        for target in targets:
            services.save_target(target, reason=target.change_reason, user=request.user)
        formset.save_m2m()


@admin.register(Target)
class TargetAdmin(HistoryAdmin):
    form = TargetForm
    list_display = ["indicator", "disaggregation", "due_on", "value"]
    list_filter = ["disaggregation", "indicator__level", "indicator__project__portfolio"]
    search_fields = ["indicator__code", "indicator__name", "indicator__project__code"]
    list_select_related = ["indicator"]
    history_list_display = ["history_change_reason"]

    def save_model(self, request, obj, form, change):
        services.save_target(obj, reason=obj.change_reason, user=request.user)


class ReviewActionForm(ActionForm):
    reason = forms.CharField(
        required=False, max_length=TEXT_LENGTH, label="Comment or rejection reason"
    )


@admin.register(Measurement)
class MeasurementAdmin(HistoryAdmin):
    list_display = [
        "indicator",
        "disaggregation",
        "period_start",
        "period_end",
        "value",
        "status",
        "reported_by",
        "verified_by",
    ]
    list_filter = ["status", "indicator__level", "indicator__project__portfolio", "period_end"]
    search_fields = ["indicator__code", "indicator__name", "indicator__project__code", "source"]
    list_select_related = ["indicator", "reported_by", "verified_by"]
    date_hierarchy = "period_end"
    readonly_fields = [
        "status",
        "reported_by",
        "reported_at",
        "verified_by",
        "verified_at",
        "rejection_reason",
        "submitted_at",
        "superseded_by",
        "superseded_reason",
        "evidence_files",
        "review_comments",
    ]
    action_form = ReviewActionForm
    actions = ["verify_selected", "return_selected", "reject_selected"]

    @admin.display(description="evidence")
    def evidence_files(self, measurement):
        # Private files: each link is the access-checked download, never a media URL.
        return (
            format_html_join(
                mark_safe("<br>"),
                '<a href="{}">{}</a>',
                (
                    (reverse("evidence-download", args=[e.pk]), e.name)
                    for e in measurement.evidence.all()
                ),
            )
            or "–"
        )

    @admin.display(description="comments")
    def review_comments(self, measurement):
        return (
            format_html_join(
                mark_safe("<br>"),
                "{} ({}, {:%Y-%m-%d}): {}",
                (
                    (c.author, c.get_kind_display(), c.created_at, c.text)
                    for c in measurement.comments.select_related("author")
                ),
            )
            or "–"
        )

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and not obj.is_open:
            # Reviewed evidence is final; the model refuses edits, so do not offer them.
            return [name.removesuffix("_id") for name in Measurement.RECORDED_FIELDS] + list(
                self.readonly_fields
            )
        return self.readonly_fields

    def save_model(self, request, obj, form, change):
        services.report_measurement(obj, request.user)

    def delete_model(self, request, obj):
        services.delete_measurement(obj, request.user)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for measurement in queryset:
                services.delete_measurement(measurement, request.user)

    def has_review_permission(self, request):
        # Whether to offer the actions; each measurement is asked again (never one's own).
        return access.may(request.user, access.REVIEW, Measurement)

    @admin.action(description="Verify selected measurements", permissions=["review"])
    def verify_selected(self, request, queryset):
        self._review(
            request, queryset, lambda each: services.verify_measurement(each, request.user)
        )

    @admin.action(
        description="Return selected measurements for revision (give the comment above)",
        permissions=["review"],
    )
    def return_selected(self, request, queryset):
        reason = request.POST.get("reason", "")
        self._review(
            request, queryset, lambda each: services.return_measurement(each, request.user, reason)
        )

    @admin.action(
        description="Reject selected measurements (give the reason above)", permissions=["review"]
    )
    def reject_selected(self, request, queryset):
        reason = request.POST.get("reason", "")
        self._review(
            request, queryset, lambda each: services.reject_measurement(each, request.user, reason)
        )

    def _review(self, request, queryset, review):
        done = 0
        for measurement in queryset.filter(status=MeasurementStatus.SUBMITTED):
            try:
                review(measurement)
            except (ValidationError, PermissionDenied) as error:
                self.message_user(request, f"{measurement}: {_message(error)}", messages.ERROR)
            else:
                done += 1
        skipped = queryset.exclude(status=MeasurementStatus.SUBMITTED).count()
        if done:
            self.message_user(request, f"{done} measurement(s) reviewed.", messages.SUCCESS)
        if skipped:
            self.message_user(
                request, f"{skipped} measurement(s) were already reviewed.", messages.WARNING
            )


class RecommendationInline(admin.TabularInline):
    model = Recommendation
    fields = [
        "text",
        "owner_organisation",
        "owner",
        "due_on",
        "status",
        "response",
        "response_text",
    ]
    extra = 0


@admin.register(Evaluation)
class EvaluationAdmin(HistoryAdmin):
    list_display = [
        "project",
        "kind",
        "evaluator",
        "completed_on",
        *DAC_CRITERIA,
    ]
    list_filter = ["kind", "evaluator", "project__portfolio", "completed_on"]
    search_fields = ["project__code", "project__title", "evaluator__name", "summary", "findings"]
    list_select_related = ["project", "evaluator"]
    inlines = [RecommendationInline]
    fieldsets = [
        (None, {"fields": ["project", "kind", "evaluator", "completed_on"]}),
        (
            "OECD DAC ratings (6 highly satisfactory … 1 highly unsatisfactory)",
            {
                "fields": [
                    ("relevance", "coherence", "effectiveness"),
                    ("efficiency", "impact", "sustainability"),
                ]
            },
        ),
        (None, {"fields": ["summary", "findings", "participants", "participation_method"]}),
        (None, {"fields": ["report", "report_download", "report_is_public"]}),
    ]
    readonly_fields = ["report_download"]

    @admin.display(description="stored report")
    def report_download(self, evaluation):
        # Reports are private: the link is the access-checked download, never a media URL.
        if not evaluation.report:
            return "–"
        return format_html(
            '<a href="{}">{}</a>', reverse("evaluation-report", args=[evaluation.pk]), "Download"
        )

    def save_model(self, request, obj, form, change):
        services.save_evaluation(obj, request.user)

    def save_formset(self, request, form, formset, change):
        if formset.model is not Recommendation:
            return super().save_formset(request, form, formset, change)
        recommendations = formset.save(commit=False)
        for recommendation in formset.deleted_objects:
            services.delete_recommendation(recommendation, request.user)
        for recommendation in recommendations:
            services.save_recommendation(recommendation, request.user)
        formset.save_m2m()


@admin.register(Recommendation)
class RecommendationAdmin(HistoryAdmin):
    list_display = [
        "__str__",
        "evaluation",
        "owner_organisation",
        "owner",
        "due_on",
        "status",
        "response",
    ]
    list_filter = ["status", "response", "evaluation__kind", "evaluation__project__portfolio"]
    search_fields = ["text", "owner", "evaluation__project__code"]
    list_select_related = ["evaluation__project"]

    def save_model(self, request, obj, form, change):
        services.save_recommendation(obj, request.user)


@admin.register(PayoutTerms)
class PayoutTermsAdmin(RowAccess, HistoryAdmin):
    list_display = ["tranche", "target", "rule", "minimum_achievement", "eligible_amount"]
    list_filter = ["rule", "tranche__status", "tranche__project__portfolio"]
    search_fields = [
        "tranche__project__code",
        "tranche__funder__name",
        "tranche__funder_reference",
        "target__indicator__code",
    ]
    list_select_related = ["tranche__project", "tranche__funder", "target__indicator"]
    readonly_fields = ["eligible_amount", "achievement"]
    actions = ["recalculate_selected"]

    def save_model(self, request, obj, form, change):
        services.save_payout_terms(obj, user=request.user)

    @admin.action(description="Recalculate eligible amounts", permissions=["change"])
    def recalculate_selected(self, request, queryset):
        for terms in queryset.select_related("target"):
            services.recalculate_payouts(
                terms.target, reason="Recalculated from the admin.", user=request.user
            )
        self.message_user(request, "Eligible amounts recalculated.", messages.SUCCESS)


# --- The portfolio's results vocabulary ----------------------------------------------------


@admin.register(StandardIndicator)
class StandardIndicatorAdmin(HistoryAdmin):
    list_display = [
        "code",
        "title",
        "unit",
        "measure",
        "aggregation",
        "across_projects",
        "portfolio",
    ]
    list_filter = ["portfolio", "measure"]
    search_fields = ["code", "title", "sdg_indicator"]
    fieldsets = [
        (None, {"fields": ["portfolio", "code", "title", "definition", "unit"]}),
        (
            "How it is measured and added up",
            {"fields": ["measure", "direction", "aggregation", "across_projects"]},
        ),
        ("References", {"fields": ["sdg_indicator", "iati_vocabulary", "iati_code"]}),
    ]

    def save_model(self, request, obj, form, change):
        services.save_standard_indicator(obj, request.user)


class ValuesFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        for form in self.deleted_forms:
            if form.instance.pk and services.value_in_use(form.instance):
                raise ValidationError(
                    _("Results or targets are recorded for %(value)s; keep it.")
                    % {"value": form.instance.name}
                )


class DisaggregationValueInline(admin.TabularInline):
    model = DisaggregationValue
    formset = ValuesFormSet
    fields = ["code", "name", "position"]
    extra = 0


@admin.register(DisaggregationDimension)
class DisaggregationDimensionAdmin(PlainErrorsAdmin, admin.ModelAdmin):
    list_display = ["name", "code", "portfolio", "position"]
    list_filter = ["portfolio"]
    search_fields = ["code", "name"]
    inlines = [DisaggregationValueInline]

    def save_model(self, request, obj, form, change):
        services.save_dimension(obj, request.user)

    def has_delete_permission(self, request, obj=None):
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or not services.dimension_in_use(obj))

    def delete_model(self, request, obj):
        services.delete_dimension(obj, request.user)

    def save_formset(self, request, form, formset, change):
        values = formset.save(commit=False)
        for value in formset.deleted_objects:
            services.delete_dimension_value(value, request.user)
        for value in values:
            services.save_dimension_value(value, request.user)

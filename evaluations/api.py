"""REST API for results: indicators, targets, measurements (verified or rejected by an
evaluator) and evaluations."""

from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from portfolio import access
from portfolio.api import InputSerializer, RoleTableViewSet, ServiceModelSerializer, row_filter
from portfolio.models import Portfolio
from projects.models import Project

from . import services
from .models import (
    DAC_CRITERIA,
    Evaluation,
    Indicator,
    Measurement,
    Recommendation,
    Target,
)


class IndicatorSerializer(ServiceModelSerializer):
    disaggregations = serializers.ListField(
        child=serializers.SlugField(),
        required=False,
        help_text="Codes of the portfolio's disaggregation dimensions (see /disaggregation-dimensions/).",
    )

    class Meta:
        model = Indicator
        fields = [
            "id",
            "project",
            "code",
            "name",
            "definition",
            "unit",
            "level",
            "measure",
            "direction",
            "aggregation",
            "baseline_value",
            "baseline_date",
            "disaggregations",
            "standard",
            "created_at",
            "updated_at",
        ]
        extra_kwargs = {
            "name": {
                "required": False,
                "help_text": "Required, unless a standard is adopted: then its title.",
            }
        }

    def create(self, validated_data):
        standard = validated_data.pop("standard", None)
        if standard is not None:
            # What the request leaves out is the standard's: its title, unit, measure, rules.
            return self.persist(Indicator.adopting(standard, **validated_data))
        if not validated_data.get("name"):
            raise serializers.ValidationError({"name": ["This field is required."]})
        return self.persist(Indicator(**validated_data))

    def persist(self, indicator):
        with self.model_errors():
            return services.save_indicator(indicator, self.user)


class IndicatorFilter(filters.FilterSet):
    portfolio = row_filter("project__portfolio", Portfolio)

    class Meta:
        model = Indicator
        fields = ["project", "level", "measure"]


class IndicatorViewSet(RoleTableViewSet):
    """What a project measures; written by evaluators."""

    queryset = Indicator.objects.all()
    serializer_class = IndicatorSerializer
    filterset_class = IndicatorFilter
    search_fields = ["code", "name", "project__code", "project__title"]
    ordering = ["project_id", "code"]
    ordering_fields = ["code", "name", "id"]


class TargetSerializer(ServiceModelSerializer):
    change_reason = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        help_text="Required when the value or due date of a saved target changes.",
    )

    class Meta:
        model = Target
        fields = ["id", "indicator", "due_on", "value", "disaggregation", "change_reason"]

    def create(self, validated_data):
        reason = validated_data.pop("change_reason", "")
        return self.persist(Target(**validated_data), reason)

    def update(self, target, validated_data):
        reason = validated_data.pop("change_reason", "")
        for name, value in validated_data.items():
            setattr(target, name, value)
        return self.persist(target, reason)

    def persist(self, target, reason=""):
        with self.model_errors():
            return services.save_target(target, reason=reason, user=self.user)


class TargetFilter(filters.FilterSet):
    project = row_filter("indicator__project", Project)

    class Meta:
        model = Target
        fields = {"indicator": ["exact"], "disaggregation": ["exact"], "due_on": ["gte", "lte"]}


class TargetViewSet(RoleTableViewSet):
    """Values indicators should reach by a date; a change of value or date needs a reason."""

    queryset = Target.objects.all()
    serializer_class = TargetSerializer
    filterset_class = TargetFilter
    search_fields = ["indicator__code", "indicator__name", "indicator__project__code"]
    ordering = ["indicator_id", "disaggregation", "due_on"]
    ordering_fields = ["due_on", "id"]


class MeasurementSerializer(ServiceModelSerializer):
    class Meta:
        model = Measurement
        fields = [
            "id",
            "indicator",
            "period_start",
            "period_end",
            "value",
            "numerator",
            "denominator",
            "disaggregation",
            "source",
            "comment",
            "status",
            "reported_by",
            "reported_at",
            "verified_by",
            "verified_at",
            "rejection_reason",
        ]
        extra_kwargs = {
            "value": {"help_text": "Leave out for a percentage: numerator / denominator give it."}
        }

    def persist(self, measurement):
        with self.model_errors():
            return services.report_measurement(measurement, self.user)


class RejectionSerializer(InputSerializer):
    reason = serializers.CharField(help_text="Why the measurement does not count.")


class MeasurementFilter(filters.FilterSet):
    project = row_filter("indicator__project", Project)
    portfolio = row_filter("indicator__project__portfolio", Portfolio)

    class Meta:
        model = Measurement
        fields = {
            "indicator": ["exact"],
            "status": ["exact"],
            "disaggregation": ["exact"],
            "period_start": ["gte", "lte"],
            "period_end": ["gte", "lte"],
        }


class MeasurementViewSet(RoleTableViewSet):
    """Observed values; they count once an evaluator other than the reporter verifies them."""

    queryset = Measurement.objects.all()
    serializer_class = MeasurementSerializer
    filterset_class = MeasurementFilter
    search_fields = ["indicator__code", "indicator__name", "indicator__project__code", "source"]
    ordering = ["id"]
    ordering_fields = ["period_start", "period_end", "id"]
    access_actions = {"verify": access.REVIEW, "reject": access.REVIEW}

    def perform_destroy(self, measurement):
        services.delete_measurement(measurement, self.request.user)

    @extend_schema(request=None, responses=MeasurementSerializer)
    @action(detail=True, methods=["post"])
    def verify(self, request, pk=None):
        """Verify a reported measurement, so it counts toward targets and payouts."""
        measurement = services.verify_measurement(self.get_object(), request.user)
        return Response(self.get_serializer(measurement).data)

    @extend_schema(request=RejectionSerializer, responses=MeasurementSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        """Reject a reported measurement, with the reason; it never counts."""
        measurement = self.get_object()
        body = RejectionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        measurement = services.reject_measurement(
            measurement, request.user, body.validated_data["reason"]
        )
        return Response(self.get_serializer(measurement).data)


class RecommendationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Recommendation
        fields = ["id", "text", "owner", "due_on", "status"]
        read_only_fields = fields


class EvaluationSerializer(ServiceModelSerializer):
    recommendations = RecommendationSerializer(many=True, read_only=True)

    class Meta:
        model = Evaluation
        fields = [
            "id",
            "project",
            "kind",
            "evaluator",
            "completed_on",
            *DAC_CRITERIA,
            "summary",
            "findings",
            "report",
            "report_is_public",
            "recommendations",
            "created_at",
            "updated_at",
        ]
        # Reports are uploaded through the pages and the admin, which check the file.
        read_only_fields = ["report"]

    def persist(self, evaluation):
        with self.model_errors():
            return services.save_evaluation(evaluation, self.user)


class EvaluationFilter(filters.FilterSet):
    portfolio = row_filter("project__portfolio", Portfolio)

    class Meta:
        model = Evaluation
        fields = {
            "project": ["exact"],
            "kind": ["exact"],
            "evaluator": ["exact"],
            "completed_on": ["gte", "lte"],
        }


class EvaluationViewSet(RoleTableViewSet):
    """Evaluations with OECD DAC ratings and their recommendations."""

    queryset = Evaluation.objects.prefetch_related("recommendations")
    serializer_class = EvaluationSerializer
    filterset_class = EvaluationFilter
    search_fields = ["project__code", "project__title", "summary"]
    ordering = ["id"]
    ordering_fields = ["completed_on", "id"]

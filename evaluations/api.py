"""REST API for results: indicators, targets, measurements (from draft to verified, returned
or rejected by an independent verifier, with comments and evidence files) and evaluations."""

from django.urls import reverse
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from portfolio import access
from portfolio.api import InputSerializer, RoleTableViewSet, ServiceModelSerializer, row_filter
from portfolio.fields import TEXT_LENGTH
from portfolio.models import Portfolio
from portfolio.rows import Prefetched, related_rows
from projects.models import Project

from . import services
from .models import (
    DAC_CRITERIA,
    Evaluation,
    Evidence,
    Indicator,
    ManagementResponse,
    Measurement,
    MeasurementComment,
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
            raise serializers.ValidationError(
                {"name": [self.fields["name"].error_messages["required"]]}
            )
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
        max_length=TEXT_LENGTH,
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

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action == "list":
            # Not the times a target was created and changed, which a page does not show
            # (reading a time costs more than the rest of a target).
            queryset = queryset.only("id", "indicator", "due_on", "value", "disaggregation")
        return queryset


class EvidenceSerializer(serializers.ModelSerializer):
    download = serializers.SerializerMethodField()

    class Meta:
        model = Evidence
        fields = ["id", "name", "uploaded_by", "uploaded_at", "download"]
        read_only_fields = fields
        list_serializer_class = Prefetched

    def get_download(self, evidence) -> str:
        return reverse("evidence-download", args=[evidence.pk])


class CommentSerializer(serializers.ModelSerializer):
    class Meta:
        model = MeasurementComment
        fields = ["id", "kind", "author", "text", "created_at"]
        read_only_fields = fields
        list_serializer_class = Prefetched


class MeasurementSerializer(ServiceModelSerializer):
    draft = serializers.BooleanField(
        write_only=True,
        required=False,
        default=False,
        help_text="Save without sending it to review (a new or draft measurement only).",
    )
    can_verify = serializers.SerializerMethodField(
        help_text="May you verify, return or reject it (the independence rule)? "
        "Answered on one measurement; null in lists."
    )
    evidence = EvidenceSerializer(many=True, read_only=True)
    comments = CommentSerializer(many=True, read_only=True)

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
            "submitted_at",
            "superseded_by",
            "superseded_reason",
            "can_verify",
            "draft",
            "evidence",
            "comments",
        ]
        extra_kwargs = {
            "value": {"help_text": "Leave out for a percentage: numerator / denominator give it."}
        }

    def get_can_verify(self, measurement) -> bool | None:
        if self.parent is not None:
            return None  # per row it would read each row's history; lists stay cheap
        return access.may_verify(self.user, measurement)

    def create(self, validated_data):
        draft = validated_data.pop("draft", False)
        return self.persist(Measurement(**validated_data), submit=not draft)

    def update(self, measurement, validated_data):
        draft = validated_data.pop("draft", False)
        for name, value in validated_data.items():
            setattr(measurement, name, value)
        return self.persist(measurement, submit=not draft)

    def persist(self, measurement, submit=True):
        with self.model_errors():
            return services.report_measurement(measurement, self.user, submit=submit)


class RejectionSerializer(InputSerializer):
    reason = serializers.CharField(
        max_length=TEXT_LENGTH, help_text="Why the measurement does not count."
    )


class VerificationSerializer(InputSerializer):
    comment = serializers.CharField(
        required=False, allow_blank=True, max_length=4000, help_text="Optional remark."
    )


class ReturnSerializer(InputSerializer):
    comment = serializers.CharField(max_length=4000, help_text="What the reporter should revise.")


class CommentInputSerializer(InputSerializer):
    text = serializers.CharField(max_length=4000)


class SupersedeSerializer(InputSerializer):
    reason = serializers.CharField(
        max_length=4000, help_text="Why the verified value is corrected."
    )
    value = serializers.DecimalField(max_digits=20, decimal_places=4, required=False)
    numerator = serializers.DecimalField(max_digits=20, decimal_places=4, required=False)
    denominator = serializers.DecimalField(max_digits=20, decimal_places=4, required=False)
    source = serializers.CharField(max_length=300, required=False)


class EvidenceUploadSerializer(InputSerializer):
    file = serializers.FileField(help_text="PDF, PNG, JPEG, .xlsx, .csv or .docx.")


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
    access_actions = {
        "verify": access.REVIEW,
        "reject": access.REVIEW,
        "return_for_revision": access.REVIEW,
        "submit": access.CHANGE,
        "supersede": access.CHANGE,
        "evidence": access.CHANGE,
        "comment": access.COMMENT,
    }

    def get_queryset(self):
        # Each measurement's files and comments in their models' order, which within one
        # measurement is by time and id.
        return (
            super()
            .get_queryset()
            .annotate(
                **related_rows(Measurement, "evidence", ["uploaded_at", "id"]),
                **related_rows(Measurement, "comments", ["created_at", "id"]),
            )
        )

    def perform_destroy(self, measurement):
        services.delete_measurement(measurement, self.request.user)

    def _answer(self, measurement):
        return Response(self.get_serializer(Measurement.objects.get(pk=measurement.pk)).data)

    def _body(self, serializer_class):
        body = serializer_class(data=self.request.data)
        body.is_valid(raise_exception=True)
        return body.validated_data

    @extend_schema(request=VerificationSerializer, responses=MeasurementSerializer)
    @action(detail=True, methods=["post"])
    def verify(self, request, pk=None):
        """Verify a submitted measurement, so it counts toward targets and payouts."""
        measurement = self.get_object()
        body = self._body(VerificationSerializer)
        return self._answer(
            services.verify_measurement(measurement, request.user, body.get("comment", ""))
        )

    @extend_schema(request=RejectionSerializer, responses=MeasurementSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        """Reject a submitted measurement, with the reason; it never counts."""
        measurement = self.get_object()
        body = self._body(RejectionSerializer)
        return self._answer(services.reject_measurement(measurement, request.user, body["reason"]))

    @extend_schema(request=ReturnSerializer, responses=MeasurementSerializer)
    @action(detail=True, methods=["post"], url_path="return")
    def return_for_revision(self, request, pk=None):
        """Send a submitted measurement back to its reporter, saying what to revise."""
        measurement = self.get_object()
        body = self._body(ReturnSerializer)
        return self._answer(services.return_measurement(measurement, request.user, body["comment"]))

    @extend_schema(request=None, responses=MeasurementSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        """Send a draft or returned measurement to review."""
        return self._answer(services.submit_measurement(self.get_object(), request.user))

    @extend_schema(request=SupersedeSerializer, responses=MeasurementSerializer)
    @action(detail=True, methods=["post"])
    def supersede(self, request, pk=None):
        """Correct a verified measurement: a new one goes to review, this one stops counting."""
        measurement = self.get_object()
        body = dict(self._body(SupersedeSerializer))
        reason = body.pop("reason")
        replacement = services.supersede_measurement(measurement, request.user, reason, **body)
        return self._answer(replacement)

    @extend_schema(request=CommentInputSerializer, responses=MeasurementSerializer)
    @action(detail=True, methods=["post"])
    def comment(self, request, pk=None):
        """Comment on a measurement, as its reporter or a reviewer."""
        measurement = self.get_object()
        body = self._body(CommentInputSerializer)
        services.comment_on_measurement(measurement, request.user, body["text"])
        return self._answer(measurement)

    @extend_schema(
        request={"multipart/form-data": EvidenceUploadSerializer}, responses=MeasurementSerializer
    )
    @action(
        detail=True,
        methods=["post"],
        parser_classes=[MultiPartParser, FormParser, JSONParser],
    )
    def evidence(self, request, pk=None):
        """Attach an evidence file to an open measurement."""
        measurement = self.get_object()
        body = self._body(EvidenceUploadSerializer)
        services.attach_evidence(measurement, request.user, body["file"])
        return self._answer(measurement)


class RecommendationSerializer(serializers.ModelSerializer):
    response = serializers.ChoiceField(
        choices=ManagementResponse.choices,
        allow_blank=True,
        read_only=True,
        help_text="Management's response; empty until it responds.",
    )

    class Meta:
        model = Recommendation
        fields = [
            "id",
            "text",
            "owner",
            "owner_organisation",
            "due_on",
            "status",
            "response",
            "response_text",
        ]
        read_only_fields = fields


class EvaluationSerializer(ServiceModelSerializer):
    recommendations = RecommendationSerializer(many=True, read_only=True)
    report = serializers.SerializerMethodField(
        help_text="Where the report is downloaded (for those who may read it), or null."
    )

    def get_report(self, evaluation) -> str | None:
        return reverse("evaluation-report", args=[evaluation.pk]) if evaluation.report else None

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
            "participants",
            "participation_method",
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

"""REST API for the portfolio's results vocabulary: standard indicators (with their results
across the portfolio), disaggregation dimensions with their values, and the measurement import."""

from django.core.exceptions import ValidationError
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import exceptions, permissions, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from portfolio.api import RoleTableViewSet, ServiceModelSerializer, field_errors, row_filter
from portfolio.models import Portfolio

from . import selectors, services
from .measurement_import import import_measurements
from .models import (
    VALUE_PLACES,
    DisaggregationDimension,
    DisaggregationValue,
    StandardIndicator,
    plain,
)


class StandardIndicatorSerializer(ServiceModelSerializer):
    service = services.save_standard_indicator

    class Meta:
        model = StandardIndicator
        fields = [
            "id",
            "portfolio",
            "code",
            "title",
            "definition",
            "unit",
            "measure",
            "direction",
            "aggregation",
            "across_projects",
            "sdg_indicator",
            "iati_vocabulary",
            "iati_code",
            "created_at",
            "updated_at",
        ]


class StandardIndicatorFilter(filters.FilterSet):
    portfolio = row_filter("portfolio", Portfolio)

    class Meta:
        model = StandardIndicator
        fields = ["portfolio", "measure"]


def _number(value):
    # To the places values are stored in; a recomputed percentage may run on.
    return None if value is None else plain(value.quantize(VALUE_PLACES))


def _cell(cell):
    if cell is None:
        return None
    return {
        "value": _number(cell.value),
        "numerator": _number(cell.numerator),
        "denominator": _number(cell.denominator),
        "measured_until": cell.measured_until,
        "projects": cell.projects,
    }


def results_answer(found: selectors.StandardResults) -> dict:
    values = found.values
    return {
        "standard_indicator": found.standard.pk,
        "code": found.standard.code,
        "adds_up": values.rule.adds_up,
        "not_added": values.not_added,
        "categories": [
            {
                "category": category,
                "label": label,
                "total": _cell(total),
                "projects": [
                    {
                        "indicator": found.indicators[name].pk,
                        "project": found.indicators[name].project.code,
                        **(_cell(cell) or {"value": None}),
                    }
                    for name, cell in cells
                    if cell is not None
                ],
            }
            for category, label, total, cells in found.rows()
        ],
    }


class StandardIndicatorViewSet(RoleTableViewSet):
    """The portfolio's library of standard indicators; project indicators adopt them."""

    queryset = StandardIndicator.objects.all()
    serializer_class = StandardIndicatorSerializer
    filterset_class = StandardIndicatorFilter
    search_fields = ["code", "title", "sdg_indicator"]
    ordering = ["portfolio_id", "code"]
    ordering_fields = ["code", "title", "id"]

    @extend_schema(
        parameters=[
            OpenApiParameter("as_of", str, description="A date (YYYY-MM-DD); today if left out.")
        ],
        responses=inline_serializer(
            "StandardIndicatorResults",
            {
                "standard_indicator": serializers.IntegerField(),
                "code": serializers.CharField(),
                "adds_up": serializers.BooleanField(),
                "not_added": serializers.CharField(),
                "categories": serializers.ListField(child=serializers.DictField()),
            },
        ),
    )
    @action(detail=True, methods=["get"])
    def results(self, request, pk=None):
        """Verified results of every project indicator adopting this standard, per
        disaggregation category, with the portfolio total where adding up is meaningful."""
        as_of = request.query_params.get("as_of")
        if as_of:
            try:
                as_of = serializers.DateField().to_internal_value(as_of)
            except exceptions.ValidationError as error:
                raise exceptions.ValidationError({"as_of": error.detail}) from error
        found = selectors.results_of(self.get_object(), as_of or None)
        return Response(results_answer(found))


class DisaggregationValueSerializer(ServiceModelSerializer):
    service = services.save_dimension_value

    class Meta:
        model = DisaggregationValue
        fields = ["id", "dimension", "code", "name", "position"]


class DisaggregationDimensionSerializer(ServiceModelSerializer):
    service = services.save_dimension
    values = DisaggregationValueSerializer(many=True, read_only=True)

    class Meta:
        model = DisaggregationDimension
        fields = ["id", "portfolio", "code", "name", "position", "values"]


class DimensionFilter(filters.FilterSet):
    portfolio = row_filter("portfolio", Portfolio)

    class Meta:
        model = DisaggregationDimension
        fields = ["portfolio", "code"]


class ServiceDeletes:
    """Deletes through the service, which refuses what results still use."""

    delete_service = None

    def perform_destroy(self, row):
        try:
            type(self).delete_service(row, self.request.user)
        except ValidationError as error:
            raise exceptions.ValidationError(field_errors(error)) from error


class DisaggregationDimensionViewSet(ServiceDeletes, RoleTableViewSet):
    """The ways a portfolio splits its results (sex, urban / rural, ...), with their values."""

    queryset = DisaggregationDimension.objects.prefetch_related("values")
    serializer_class = DisaggregationDimensionSerializer
    filterset_class = DimensionFilter
    search_fields = ["code", "name"]
    ordering = ["portfolio_id", "code"]
    ordering_fields = ["code", "id"]
    delete_service = services.delete_dimension


class ValueFilter(filters.FilterSet):
    dimension = row_filter("dimension", DisaggregationDimension)
    portfolio = row_filter("dimension__portfolio", Portfolio)

    class Meta:
        model = DisaggregationValue
        fields = ["dimension", "code"]


class DisaggregationValueViewSet(ServiceDeletes, RoleTableViewSet):
    """The values of a disaggregation dimension (female, rural, ...)."""

    queryset = DisaggregationValue.objects.all()
    serializer_class = DisaggregationValueSerializer
    filterset_class = ValueFilter
    search_fields = ["code", "name"]
    ordering = ["dimension_id", "code"]
    ordering_fields = ["code", "id"]
    delete_service = services.delete_dimension_value


# --- Measurement import -----------------------------------------------------------------------

IMPORT_RESULT = inline_serializer(
    "MeasurementImportResult",
    {
        "created": serializers.IntegerField(),
        "updated": serializers.IntegerField(),
        "unchanged": serializers.IntegerField(),
        "errors": serializers.ListField(child=serializers.DictField()),
    },
)


class MeasurementImportView(APIView):
    """Import measurements from a workbook; all rows are reported, or none."""

    parser_classes = [MultiPartParser]
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        summary="Import measurements from a workbook",
        description=(
            "Sheet 'Measurements' with the columns Project, Indicator, Period start, Period end, "
            "Group, Value, Numerator, Denominator, Source, Comment. Every row is checked first; "
            "either all rows are saved as reported or none. A 400 lists every error by sheet, "
            "row and column."
        ),
        request={
            "multipart/form-data": inline_serializer(
                "MeasurementImportUpload", fields={"file": serializers.FileField()}
            )
        },
        responses={201: IMPORT_RESULT, 400: IMPORT_RESULT},
        tags=["measurement imports"],
    )
    def post(self, request):
        upload = request.FILES.get("file")
        if upload is None:
            return Response(
                {"created": 0, "updated": 0, "unchanged": 0, "errors": [
                    {"sheet": "", "row": None, "column": "", "header": "",
                     "reason": "Attach the workbook as the form field 'file'."}
                ]},
                status=status.HTTP_400_BAD_REQUEST,
            )  # fmt: skip
        result = import_measurements(upload, request.user)
        if not result.ok:
            return Response(result.as_dict(), status=status.HTTP_400_BAD_REQUEST)
        return Response(result.as_dict(), status=status.HTTP_201_CREATED)

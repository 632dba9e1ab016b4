"""API for the Excel workbook: exports at once or as a job with progress."""

from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django_countries import countries
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from funding.models import Instrument
from portfolio.models import Organisation, Portfolio
from portfolio.xlsx import XLSX

from . import exports
from .models import ExportJob
from .workbook import ExportFilters


class ExportRequestSerializer(serializers.Serializer):
    portfolio = serializers.PrimaryKeyRelatedField(
        queryset=Portfolio.objects.all(), required=False, allow_null=True
    )
    funder = serializers.PrimaryKeyRelatedField(
        queryset=Organisation.objects.filter(is_funder=True), required=False, allow_null=True
    )
    country = serializers.ChoiceField(choices=list(countries), required=False, allow_blank=True)
    instrument = serializers.ChoiceField(
        choices=Instrument.choices, required=False, allow_blank=True
    )
    as_of = serializers.DateField(required=False, allow_null=True)
    with_schedules = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Add every instalment of every loan (long); by default one row per loan.",
    )

    def filters(self) -> ExportFilters:
        data = self.validated_data
        return ExportFilters(
            portfolio=data["portfolio"].pk if data.get("portfolio") else None,
            funder=data["funder"].pk if data.get("funder") else None,
            country=data.get("country") or "",
            instrument=data.get("instrument") or "",
            as_of=data.get("as_of"),
            with_schedules=data.get("with_schedules", False),
        )


class ExportJobSerializer(serializers.ModelSerializer):
    status_url = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField()
    expired = serializers.SerializerMethodField()

    class Meta:
        model = ExportJob
        fields = [
            "id",
            "status",
            "progress",
            "filters",
            "rows",
            "error",
            "created_at",
            "finished_at",
            "expires_at",
            "expired",
            "status_url",
            "download_url",
        ]
        read_only_fields = fields

    def _url(self, name, job):
        return self.context["request"].build_absolute_uri(reverse(name, args=[job.pk]))

    def get_status_url(self, job) -> str:
        return self._url("api-export-detail", job)

    def get_download_url(self, job) -> str | None:
        return self._url("api-export-download", job) if job.is_ready else None

    def get_expired(self, job) -> bool:
        return job.is_expired()


def _job_for(request, pk):
    """The job, if the user asked for it or manages the portfolio; others get a 404."""
    job = get_object_or_404(ExportJob, pk=pk)
    if not exports.may_download(request.user, job):
        raise Http404
    return job


class ExportListView(APIView):
    @extend_schema(
        summary="Export the portfolio summary workbook",
        description=(
            "Small exports are written at once (201, status done, with a download URL); "
            "large ones are queued (202): poll the status URL for progress."
        ),
        request=ExportRequestSerializer,
        responses={201: ExportJobSerializer, 202: ExportJobSerializer},
        tags=["exports"],
    )
    def post(self, request):
        incoming = ExportRequestSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        job = exports.request_export(request.user, incoming.filters())
        code = status.HTTP_202_ACCEPTED
        if job.status in (ExportJob.Status.DONE, ExportJob.Status.FAILED):
            code = status.HTTP_201_CREATED
        return Response(ExportJobSerializer(job, context={"request": request}).data, status=code)


class ExportDetailView(APIView):
    @extend_schema(
        summary="Status and progress of an export",
        responses={200: ExportJobSerializer},
        tags=["exports"],
    )
    def get(self, request, pk):
        job = _job_for(request, pk)
        return Response(ExportJobSerializer(job, context={"request": request}).data)


class ExportDownloadView(APIView):
    @extend_schema(
        summary="Download an export's workbook",
        responses={
            (200, XLSX): OpenApiResponse(OpenApiTypes.BINARY, description="The workbook."),
            404: OpenApiResponse(description="No such export, or not yours."),
            409: OpenApiResponse(description="Not written yet (or it failed)."),
            410: OpenApiResponse(description="The file has expired."),
        },
        tags=["exports"],
    )
    def get(self, request, pk):
        job = _job_for(request, pk)
        if job.is_expired() or (job.status == ExportJob.Status.DONE and not job.file):
            return Response(
                {"detail": "This export has expired; ask for a new one."},
                status=status.HTTP_410_GONE,
            )
        if job.status != ExportJob.Status.DONE:
            return Response(
                {
                    "detail": f"The export is {job.get_status_display().lower()}.",
                    "progress": job.progress,
                },
                status=status.HTTP_409_CONFLICT,
            )
        return exports.download_response(job)


urlpatterns = [
    path("exports/", ExportListView.as_view(), name="api-export-list"),
    path("exports/<uuid:pk>/", ExportDetailView.as_view(), name="api-export-detail"),
    path("exports/<uuid:pk>/download/", ExportDownloadView.as_view(), name="api-export-download"),
]

"""API for reporting: the portfolio's headline figures, and the Excel workbook (exported at
once or as a job with progress)."""

from django.urls import path, reverse
from django_countries import countries
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from funding import selectors
from funding.api import AS_OF, as_of_from
from funding.models import FlagKind, Instrument
from portfolio.api import InputSerializer, RoleTableMixin
from portfolio.fields import validate_calendar_date
from portfolio.models import Organisation, Portfolio
from portfolio.xlsx import XLSX

from . import exports
from .models import ExportJob
from .workbook import ExportFilters

# --- Headline figures ------------------------------------------------------------------------


def money_field(**kwargs):
    return serializers.DecimalField(max_digits=20, decimal_places=2, **kwargs)


class MoneyRowSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="The instrument or purpose.")
    label = serializers.CharField()
    committed = money_field(help_text="At the rate of each commitment's date (or its fixed rate).")
    disbursed = money_field(help_text="Each disbursement at the rate of its own date.")
    undisbursed = money_field(help_text="What is still to disburse, at the as-of rate.")


class RateUsedSerializer(serializers.Serializer):
    currency = serializers.CharField()
    rate = serializers.DecimalField(max_digits=20, decimal_places=8)
    rate_date = serializers.DateField(allow_null=True)
    used_for = serializers.ChoiceField(choices=["commitment", "disbursement", "undisbursed"])


class FlagCountSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=FlagKind.choices)
    label = serializers.CharField()
    count = serializers.IntegerField()


class FiguresSerializer(serializers.Serializer):
    portfolio = serializers.IntegerField()
    as_of = serializers.DateField()
    currency = serializers.CharField(help_text="The portfolio's reporting currency.")
    committed = money_field()
    disbursed = money_field()
    undisbursed = money_field()
    leverage = serializers.DecimalField(
        max_digits=20,
        decimal_places=2,
        allow_null=True,
        help_text="Loan and results-based money committed for each unit of grant committed.",
    )
    by_instrument = MoneyRowSerializer(many=True)
    by_purpose = MoneyRowSerializer(many=True)
    open_flags = FlagCountSerializer(many=True, help_text="Open at the end of as_of, by kind.")
    rates = RateUsedSerializer(many=True, help_text="Every exchange rate a figure used.")
    missing_rates = serializers.ListField(
        child=serializers.CharField(),
        help_text="Currencies without a rate on a date needed; their tranches are left out.",
    )


class PortfolioFigures(RoleTableMixin, generics.RetrieveAPIView):
    """The portfolio's headline figures as of a day: a snapshot, the same figures the dashboard
    and the workbook show."""

    detail = True  # a user without a role gets 404, as for every single row
    queryset = Portfolio.objects.all()
    serializer_class = FiguresSerializer

    @extend_schema(
        parameters=[AS_OF],
        tags=["portfolios"],
    )
    def get(self, request, *args, **kwargs):
        portfolio = self.get_object()
        as_of = as_of_from(request)
        money = selectors.portfolio_figures(portfolio, as_of)
        flags = selectors.open_flags_on(as_of).filter(project__portfolio=portfolio)
        report = {
            "portfolio": portfolio.pk,
            "as_of": as_of,
            "currency": money.currency,
            "committed": money.committed,
            "disbursed": money.disbursed,
            "undisbursed": money.undisbursed,
            "leverage": money.leverage,
            "by_instrument": money.by_instrument,
            "by_purpose": money.by_purpose,
            "open_flags": [
                {"kind": kind, "label": label, "count": n}
                for kind, label, n in selectors.flag_counts(flags.values_list("kind", flat=True))
            ],
            "rates": money.rates,
            "missing_rates": sorted(money.missing_rates),
        }
        return Response(FiguresSerializer(report).data)


# --- Workbook exports ------------------------------------------------------------------------


class ExportRequestSerializer(InputSerializer):
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
    as_of = serializers.DateField(
        required=False, allow_null=True, validators=[validate_calendar_date]
    )
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
        job = exports.job_for(request.user, pk)
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
        job = exports.job_for(request.user, pk)
        try:
            return exports.download(request.user, job)
        except exports.ExportUnavailable as why:
            return Response({"detail": str(why), "progress": job.progress}, status=why.status)


urlpatterns = [
    path("portfolios/<str:pk>/figures/", PortfolioFigures.as_view(), name="api-portfolio-figures"),
    path("exports/", ExportListView.as_view(), name="api-export-list"),
    path("exports/<uuid:pk>/", ExportDetailView.as_view(), name="api-export-detail"),
    path("exports/<uuid:pk>/download/", ExportDownloadView.as_view(), name="api-export-download"),
]

"""API door to IATI: the activity file (GET iati/activities.xml?portfolio=<id>), its import
(POST iati-imports/) and the evaluation reports the file links to (GET iati/documents/...)."""

import re
from pathlib import PurePath

from django.conf import settings
from django.http import FileResponse, Http404
from django.urls import path, re_path
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from evaluations.models import Evaluation
from funding.models import Tranche
from portfolio import access
from portfolio.models import Portfolio

from . import iati, iati_import

PORTFOLIO_ID = re.compile(r"[0-9]{1,18}")


class ErrorsAsJson(DefaultContentNegotiation):
    """The file itself is a plain Django response; only errors go through DRF's renderers,
    and a client asking for XML must still get them (as JSON), not a 406."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class IatiActivitiesView(APIView):
    renderer_classes = [JSONRenderer]
    content_negotiation_class = ErrorsAsJson

    @extend_schema(
        operation_id="iati_activities",
        summary="The portfolio's projects as an IATI 2.03 activity file",
        parameters=[
            OpenApiParameter(
                "portfolio", OpenApiTypes.INT, required=True, description="Portfolio id."
            ),
            OpenApiParameter(
                "reporting_org",
                OpenApiTypes.STR,
                description="IATI identifier of the publishing organisation; by default the "
                "organisation the portfolio managers work for.",
            ),
        ],
        responses={
            (200, "application/xml"): OpenApiResponse(
                OpenApiTypes.BINARY, description="An iati-activities file, version 2.03."
            ),
            400: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description="The parameter at fault (portfolio or reporting_org) and why.",
            ),
            403: OpenApiResponse(OpenApiTypes.OBJECT, description="Not signed in."),
            404: OpenApiResponse(OpenApiTypes.OBJECT, description="No role in the portfolio."),
        },
    )
    def get(self, request):
        if not access.can_read(request.user):
            raise NotFound()
        value = request.query_params.get("portfolio", "")
        if not PORTFOLIO_ID.fullmatch(value):
            raise ValidationError(
                {"portfolio": [_("Give the id of a portfolio, e.g. ?portfolio=1.")]}
            )
        portfolio = Portfolio.objects.filter(pk=int(value)).first()
        if portfolio is None:
            raise ValidationError(
                {"portfolio": [_("No portfolio has the id %(id)s.") % {"id": value}]}
            )
        try:
            return iati.download(portfolio, request.query_params.get("reporting_org") or None)
        except iati.ExportError as error:
            raise ValidationError({error.field: [str(error)]}) from error


COUNTS = inline_serializer(
    "IatiImportCounts",
    fields={
        "created": serializers.IntegerField(),
        "updated": serializers.IntegerField(),
        "unchanged": serializers.IntegerField(),
    },
)
IMPORT_RESULT = inline_serializer(
    "IatiImportResult",
    fields={
        "projects": COUNTS,
        "organisations": COUNTS,
        "tranches": COUNTS,
        "disbursements": COUNTS,
        "errors": inline_serializer(
            "IatiImportError",
            fields={"xpath": serializers.CharField(), "reason": serializers.CharField()},
            many=True,
        ),
    },
)
# A 400 is either the import's list of problems, or, before the file is read, the field
# that names no portfolio.
IMPORT_REFUSED = PolymorphicProxySerializer(
    component_name="IatiImportRefusal",
    serializers=[
        IMPORT_RESULT,
        inline_serializer(
            "IatiImportPortfolioMissing",
            fields={"portfolio": serializers.ListField(child=serializers.CharField())},
        ),
    ],
    resource_type_field_name=None,
)
# Room for the multipart envelope around a file of the largest size accepted.
MULTIPART_OVERHEAD = 64 * 1024


def refused(reason, xpath="/"):
    result = iati_import.ImportResult(errors=[iati_import.Problem(xpath, reason)])
    return Response(result.as_dict(), status=status.HTTP_400_BAD_REQUEST)


class IatiImportView(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        operation_id="iati_import",
        summary="Import an IATI activity file into a portfolio",
        description=(
            "Creates or updates projects (by iati-identifier), their funding and implementing "
            "organisations, and tranches (by funder and commitment reference) with their "
            "disbursements. Everything is checked first; either all of it is saved or none. "
            "A 400 lists every problem with the XPath of its cause. Importing the same file "
            "again changes nothing."
        ),
        request={
            "multipart/form-data": inline_serializer(
                "IatiImportUpload",
                fields={
                    "file": serializers.FileField(),
                    "portfolio": serializers.IntegerField(),
                },
            )
        },
        responses={200: IMPORT_RESULT, 201: IMPORT_RESULT, 400: IMPORT_REFUSED},
    )
    def post(self, request):
        access.check(request.user, access.ADD, Tranche)
        # A body far over the limit is refused before it is read at all.
        length = request.META.get("CONTENT_LENGTH") or "0"
        limit = settings.MAX_UPLOAD_BYTES
        if length.isdigit() and int(length) > limit + MULTIPART_OVERHEAD:
            return refused(iati_import.size_refusal(int(length), limit))
        value = str(request.data.get("portfolio", ""))
        portfolio = None
        if PORTFOLIO_ID.fullmatch(value):
            portfolio = Portfolio.objects.filter(pk=int(value)).first()
        if portfolio is None:
            raise ValidationError(
                {"portfolio": [_("Give the id of the portfolio to import into.")]}
            )
        upload = request.FILES.get("file")
        if upload is None:
            return refused(_("Attach the IATI activity file as the form field 'file'."))
        result = iati_import.import_activities(upload, portfolio, request.user)
        if not result.ok:
            return Response(result.as_dict(), status=status.HTTP_400_BAD_REQUEST)
        code = status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
        return Response(result.as_dict(), status=code)


class IatiDocumentView(APIView):
    """An evaluation report its evaluator marked as publishable, for anyone who follows the
    IATI file's document-link; every other report answers 404, as if it did not exist."""

    authentication_classes = []
    permission_classes = [AllowAny]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = ErrorsAsJson

    @extend_schema(
        operation_id="iati_document",
        summary="A publishable evaluation report linked from the IATI file",
        responses={
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY),
            404: OpenApiResponse(OpenApiTypes.OBJECT, description="No such public report."),
        },
    )
    def get(self, request, pk, name):
        # Any path below documents/ reaches this view, so whatever a link holds is answered
        # here in JSON, not by the site's HTML page for an unknown address.
        if not (pk.isdigit() and len(pk) < 19):
            raise Http404()
        evaluation = (
            Evaluation.objects.filter(pk=pk, report_is_public=True).exclude(report="").first()
        )
        if evaluation is None or PurePath(evaluation.report.name).name != name:
            raise Http404()
        media_type = iati.DOCUMENT_FORMAT.get(PurePath(name).suffix.lower())
        if media_type is None:
            raise Http404()
        try:
            opened = evaluation.report.open("rb")
        except OSError as error:  # the row names a file the storage no longer holds
            raise Http404() from error
        response = FileResponse(
            opened,
            content_type=media_type,
            as_attachment=media_type != "application/pdf",
            filename=name,
        )
        # Uploaded content: never run as part of this site, whatever it holds.
        response["Content-Security-Policy"] = "sandbox"
        response["X-Content-Type-Options"] = "nosniff"
        return response


urlpatterns = [
    path("iati/activities.xml", IatiActivitiesView.as_view(), name="iati-activities"),
    path("iati-imports/", IatiImportView.as_view(), name="iati-import"),
    re_path(
        r"^iati/documents/(?P<pk>[^/]+)/(?P<name>.+)$",
        IatiDocumentView.as_view(),
        name="iati-document",
    ),
]

"""API door to the IATI export: GET iati/activities.xml?portfolio=<id> downloads the file."""

import re

from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from portfolio import access
from portfolio.models import Portfolio

from . import iati

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
            raise ValidationError({"portfolio": ["Give the id of a portfolio, e.g. ?portfolio=1."]})
        portfolio = Portfolio.objects.filter(pk=int(value)).first()
        if portfolio is None:
            raise ValidationError({"portfolio": [f"No portfolio has the id {value}."]})
        try:
            return iati.download(portfolio, request.query_params.get("reporting_org") or None)
        except iati.ExportError as error:
            raise ValidationError({error.field: [str(error)]}) from error


urlpatterns = [
    path("iati/activities.xml", IatiActivitiesView.as_view(), name="iati-activities"),
]

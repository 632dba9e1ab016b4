"""Routes of the REST API, mounted at /api/v1/."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from evaluations.api import (
    EvaluationViewSet,
    IndicatorViewSet,
    MeasurementViewSet,
    TargetViewSet,
)
from funding.api import DisbursementViewSet, LapseFlagViewSet, ProjectCoverage, TrancheViewSet
from projects.api import ProjectViewSet

from .api import ExchangeRateViewSet, OrganisationViewSet, PortfolioViewSet, TokenLogin

router = DefaultRouter()
router.include_format_suffixes = False  # ids are whole path segments; no .json variants
router.register("portfolios", PortfolioViewSet, basename="portfolio")
router.register("organisations", OrganisationViewSet, basename="organisation")
router.register("exchange-rates", ExchangeRateViewSet, basename="exchangerate")
router.register("projects", ProjectViewSet, basename="project")
router.register("tranches", TrancheViewSet, basename="tranche")
router.register("disbursements", DisbursementViewSet, basename="disbursement")
router.register("lapse-flags", LapseFlagViewSet, basename="lapseflag")
router.register("indicators", IndicatorViewSet, basename="indicator")
router.register("targets", TargetViewSet, basename="target")
router.register("measurements", MeasurementViewSet, basename="measurement")
router.register("evaluations", EvaluationViewSet, basename="evaluation")

urlpatterns = [
    path("auth/token/", TokenLogin.as_view(), name="api-token"),
    path("projects/<str:pk>/coverage/", ProjectCoverage.as_view(), name="project-coverage"),
    *router.urls,
]

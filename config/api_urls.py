"""Routes of the REST API, mounted at /api/v1/."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from evaluations.api import (
    EvaluationViewSet,
    IndicatorViewSet,
    MeasurementViewSet,
    TargetViewSet,
)
from evaluations.api_standards import (
    DisaggregationDimensionViewSet,
    DisaggregationValueViewSet,
    MeasurementImportView,
    StandardIndicatorViewSet,
)
from funding.api import (
    AllocationViewSet,
    DisbursementViewSet,
    LapseFlagViewSet,
    ProjectCoverageView,
    ProjectPlanView,
    RepaymentViewSet,
    TrancheImportView,
    TrancheTemplateView,
    TrancheViewSet,
)
from portfolio.api import ExchangeRateViewSet, OrganisationViewSet, PortfolioViewSet, TokenLogin
from projects.api import CostLineViewSet, ProjectViewSet

router = DefaultRouter()
router.include_format_suffixes = False  # ids are whole path segments; no .json variants
router.register("portfolios", PortfolioViewSet, basename="api-portfolio")
router.register("organisations", OrganisationViewSet, basename="api-organisation")
router.register("exchange-rates", ExchangeRateViewSet, basename="api-exchangerate")
router.register("projects", ProjectViewSet, basename="api-project")
router.register("tranches", TrancheViewSet, basename="api-tranche")
router.register("disbursements", DisbursementViewSet, basename="api-disbursement")
router.register("repayments", RepaymentViewSet, basename="api-repayment")
router.register("cost-lines", CostLineViewSet, basename="api-costline")
router.register("allocations", AllocationViewSet, basename="api-allocation")
router.register("lapse-flags", LapseFlagViewSet, basename="api-lapseflag")
router.register("indicators", IndicatorViewSet, basename="api-indicator")
router.register("targets", TargetViewSet, basename="api-target")
router.register("measurements", MeasurementViewSet, basename="api-measurement")
router.register("evaluations", EvaluationViewSet, basename="api-evaluation")
router.register("standard-indicators", StandardIndicatorViewSet, basename="api-standardindicator")
router.register(
    "disaggregation-dimensions",
    DisaggregationDimensionViewSet,
    basename="api-disaggregationdimension",
)
router.register(
    "disaggregation-values", DisaggregationValueViewSet, basename="api-disaggregationvalue"
)

urlpatterns = [
    path("auth/token/", TokenLogin.as_view(), name="api-token"),
    path("projects/<str:pk>/coverage/", ProjectCoverageView.as_view(), name="project-coverage"),
    path(
        "projects/<str:pk>/sustainability-plan/",
        ProjectPlanView.as_view(),
        name="project-sustainability-plan",
    ),
    path("tranche-imports/template/", TrancheTemplateView.as_view(), name="api-tranche-template"),
    path("tranche-imports/", TrancheImportView.as_view(), name="api-tranche-import"),
    path("measurement-imports/", MeasurementImportView.as_view(), name="api-measurement-import"),
    *router.urls,
]

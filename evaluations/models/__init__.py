"""The results framework's data, one module per reason to change:

- `indicators`: what a project measures, its targets and the measurements reported against them;
- `evaluations`: evaluations with their OECD DAC ratings, and their recommendations;
- `verification`: comments on a measurement's review and the evidence files behind it;
- `payouts`: how a results-based tranche is earned (money, beside `services.payouts`).

Every name is importable from `evaluations.models`, as Django and the other apps expect.
"""

from .evaluations import (
    DAC_CRITERIA,
    Evaluation,
    EvaluationKind,
    FollowUp,
    ManagementResponse,
    Rating,
    Recommendation,
    RecommendationUpdate,
)
from .indicators import (
    CATEGORIES,
    CATEGORY_CHOICES,
    DECIDED_STATUSES,
    HUNDRED,
    OPEN_STATUSES,
    VALUE_DIGITS,
    VALUE_PLACES,
    Aggregation,
    Direction,
    Disaggregation,
    Indicator,
    Level,
    Measure,
    Measurement,
    MeasurementQuerySet,
    MeasurementStatus,
    Target,
    category_problem,
    plain,
    validate_disaggregations,
)
from .payouts import ZERO, PayoutRule, PayoutTerms
from .verification import CommentKind, Evidence, MeasurementComment, MeasurementNotice

__all__ = [
    "CATEGORIES",
    "CATEGORY_CHOICES",
    "DECIDED_STATUSES",
    "OPEN_STATUSES",
    "CommentKind",
    "Evidence",
    "MeasurementComment",
    "MeasurementNotice",
    "DAC_CRITERIA",
    "HUNDRED",
    "VALUE_DIGITS",
    "VALUE_PLACES",
    "ZERO",
    "Aggregation",
    "Direction",
    "Disaggregation",
    "Evaluation",
    "EvaluationKind",
    "FollowUp",
    "ManagementResponse",
    "Indicator",
    "Level",
    "Measure",
    "Measurement",
    "MeasurementQuerySet",
    "MeasurementStatus",
    "PayoutRule",
    "PayoutTerms",
    "Rating",
    "Recommendation",
    "RecommendationUpdate",
    "Target",
    "category_problem",
    "plain",
    "validate_disaggregations",
]

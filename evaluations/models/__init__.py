"""The results framework's data, one module per reason to change:

- `indicators`: what a project measures, its targets and the measurements reported against them;
- `evaluations`: evaluations with their OECD DAC ratings, and their recommendations;
- `verification`: comments on a measurement's review and the evidence files behind it;
- `payouts`: how a results-based tranche is earned (money, beside `services.payouts`);
- `standards`: the portfolio's standard indicators and its disaggregation dimensions.

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
    CATEGORY_LENGTH,
    DECIDED_STATUSES,
    HUNDRED,
    OPEN_STATUSES,
    VALUE_DIGITS,
    VALUE_PLACES,
    Aggregation,
    Direction,
    Indicator,
    Level,
    Measure,
    Measurement,
    MeasurementQuerySet,
    MeasurementStatus,
    Target,
    canonical_category,
    category_label,
    category_problem,
    plain,
    validate_disaggregations,
)
from .payouts import ZERO, PayoutRule, PayoutTerms
from .standards import (
    DEFAULT_DIMENSIONS,
    IATI_VOCABULARY_CHOICES,
    AcrossProjects,
    DisaggregationDimension,
    DisaggregationValue,
    StandardIndicator,
    categories_of,
    category_names,
)
from .verification import CommentKind, Evidence, MeasurementComment, MeasurementNotice

__all__ = [
    "CATEGORY_LENGTH",
    "DECIDED_STATUSES",
    "OPEN_STATUSES",
    "CommentKind",
    "Evidence",
    "MeasurementComment",
    "MeasurementNotice",
    "DAC_CRITERIA",
    "DEFAULT_DIMENSIONS",
    "HUNDRED",
    "IATI_VOCABULARY_CHOICES",
    "VALUE_DIGITS",
    "VALUE_PLACES",
    "ZERO",
    "AcrossProjects",
    "Aggregation",
    "Direction",
    "DisaggregationDimension",
    "DisaggregationValue",
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
    "StandardIndicator",
    "Target",
    "canonical_category",
    "categories_of",
    "category_label",
    "category_names",
    "category_problem",
    "plain",
    "validate_disaggregations",
]

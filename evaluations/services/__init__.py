"""Every write to results goes through these services, whichever door it comes from (API,
pages, admin): each asks the role table, validates the row and saves it with its history.

- `indicators`: indicators and targets;
- `measurements`: measurements from draft to verification, return, rejection or supersession,
  their comments and evidence;
- `digests`: the email each measurement change sends, once;
- `evaluations`: evaluations and their recommendations;
- `payouts`: payout terms and the eligible amounts that verified results earn;
- `standards`: standard indicators, disaggregation dimensions and values, and the check that
  a measurement's parts stay within its total.
"""

from .evaluations import (
    delete_recommendation,
    follow_up_recommendation,
    save_evaluation,
    save_recommendation,
)
from .indicators import save_indicator, save_target
from .measurements import (
    attach_evidence,
    comment_on_measurement,
    delete_measurement,
    reject_measurement,
    report_measurement,
    return_measurement,
    submit_measurement,
    supersede_measurement,
    verify_measurement,
)
from .payouts import recalculate_payouts, save_payout_terms
from .standards import (
    add_default_dimensions,
    check_parts_within_total,
    delete_dimension,
    delete_dimension_value,
    dimension_in_use,
    save_dimension,
    save_dimension_value,
    save_standard_indicator,
    value_in_use,
)

__all__ = [
    "add_default_dimensions",
    "attach_evidence",
    "check_parts_within_total",
    "comment_on_measurement",
    "delete_dimension",
    "delete_dimension_value",
    "delete_measurement",
    "delete_recommendation",
    "dimension_in_use",
    "follow_up_recommendation",
    "recalculate_payouts",
    "reject_measurement",
    "report_measurement",
    "return_measurement",
    "save_dimension",
    "save_dimension_value",
    "save_evaluation",
    "save_indicator",
    "save_payout_terms",
    "save_recommendation",
    "save_standard_indicator",
    "save_target",
    "submit_measurement",
    "supersede_measurement",
    "value_in_use",
    "verify_measurement",
]

"""Plain errors: the one mapping from the database's constraints to sentences people can act on.

A model validates its constraints before it saves, and the database checks them again; either
way Django would name the constraint (`Constraint "exchange_rate_distinct_currencies" is
violated.`). The API's error handler, the page forms and the admin pass every refusal through
`plain()` (and a database IntegrityError through `from_integrity_error()`), so a person reads
which field is wrong and why, in their language, whatever door they came through.

The mapping names constraints of every app by name, as the role table names models by label:
the kernel imports none of them. tests/portfolio/test_errors.py checks that every constraint
of every model has its sentence here.
"""

import re
from functools import cache

from django.apps import apps
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError
from django.utils.translation import gettext_lazy as _

from .fields import DATE_RANGE_MESSAGE, RATE_MESSAGE

# constraint name -> (the model field it is about, the sentence). The sentence names the field
# in words: a door without that field (a form showing only some fields) shows it on its own.
CONSTRAINTS = {
    # portfolio
    "portfolio_reporting_currency_iso": (
        "reporting_currency",
        _("The reporting currency must be a three-letter ISO 4217 code, such as USD."),
    ),
    "portfolio_warning_days_positive": (
        "lapse_warning_days",
        _("The lapse warning must be at least one day."),
    ),
    "organisation_iati_identifier_unique": (
        "iati_identifier",
        _("Another organisation already has this IATI organisation identifier."),
    ),
    "membership_unique": (
        "role",
        _("This person already has this role at this organisation."),
    ),
    "exchange_rate_unique_per_day": (
        "valid_on",
        _("There is already a rate between these two currencies for this day; correct that one."),
    ),
    "exchange_rate_positive": ("rate", RATE_MESSAGE),
    "exchange_rate_distinct_currencies": (
        "to_currency",
        _("A rate converts one currency into another: choose two different currencies."),
    ),
    "exchange_rate_currency_iso": (
        "currency",
        _("The currency must be a three-letter ISO 4217 code, such as EUR."),
    ),
    "exchange_rate_to_currency_iso": (
        "to_currency",
        _("The currency converted into must be a three-letter ISO 4217 code, such as USD."),
    ),
    # projects
    "project_code_unique_in_portfolio": (
        "code",
        _("Another project of this portfolio already has this code."),
    ),
    "project_launched_has_launch_date": (
        "launch_date",
        _("A launched or closed project needs its actual launch date."),
    ),
    "project_sustainability_positive": (
        "sustainability_months",
        _("The service must stay funded for at least one month after launch."),
    ),
    "cost_line_amount_positive": (
        "annual_cost",
        _("The annual cost of a line must be more than zero."),
    ),
    "cost_line_currency_iso": (
        "currency",
        _("The currency must be a three-letter ISO 4217 code, such as USD."),
    ),
    "cost_line_period_ordered": ("ends_on", _("A cost cannot end before it starts.")),
    # funding
    "allocation_one_per_tranche_and_line": (
        "category",
        _("This tranche already pays for this line; change that allocation instead."),
    ),
    "allocation_amount_or_share": (
        "amount",
        _("Give either an amount above zero or a share between 0 and 100 %, not both."),
    ),
    "tranche_amount_positive": ("amount", _("The amount must be more than zero.")),
    "tranche_currency_iso": (
        "currency",
        _("The currency must be a three-letter ISO 4217 code, such as EUR."),
    ),
    "tranche_disbursed_within_amount": (
        "amount",
        _("The amount cannot fall below what has already been disbursed."),
    ),
    "tranche_cancelled_has_no_disbursements": (
        "status",
        _("A tranche with disbursements cannot be cancelled; undo the disbursements first."),
    ),
    "tranche_committed_has_date": (
        "committed_on",
        _("A committed tranche needs the date its agreement was signed."),
    ),
    "tranche_cover_period_ordered": (
        "covers_until",
        _("The last day covered cannot come before the first."),
    ),
    "tranche_maintenance_has_cover_period": (
        "covers_from",
        _("A maintenance tranche needs the first and last day of service it pays for."),
    ),
    "tranche_funder_reference_unique": (
        "funder_reference",
        _("This funder already has a tranche with this reference."),
    ),
    "loan_rate_between_0_and_100": (
        "annual_rate_percent",
        _("The annual interest rate is a percentage from 0 to 100."),
    ),
    "loan_grace_shorter_than_tenor": (
        "grace_months",
        _("The grace period must be shorter than the tenor, which includes it."),
    ),
    "loan_frequency_known": (
        "frequency_months",
        _("Repayments are monthly, quarterly, semi-annual or annual."),
    ),
    "disbursement_amount_positive": ("amount", _("The amount must be more than zero.")),
    "lapse_flag_one_open_per_project_and_kind": (
        "kind",
        _("This project already has an open flag of this kind."),
    ),
    "lapse_flag_gap_ordered": ("gap_end", _("The gap cannot end before it starts.")),
    "lapse_reminder_sent_once": (
        "threshold_days",
        _("This reminder has already been sent."),
    ),
    # evaluations
    "indicator_code_unique_in_project": (
        "code",
        _("This project already has an indicator with this code."),
    ),
    "indicator_qualitative_not_cumulative": (
        "aggregation",
        _("Scores on a scale do not add up; a qualitative indicator is non-cumulative."),
    ),
    "indicator_adopts_standard_once_per_project": (
        "standard",
        _("Another indicator of this project already adopts this standard indicator."),
    ),
    "standard_indicator_code_unique": (
        "code",
        _("This portfolio already has a standard indicator with this code."),
    ),
    "standard_indicator_qualitative_not_cumulative": (
        "aggregation",
        _("Scores on a scale do not add up; a qualitative indicator is non-cumulative."),
    ),
    "standard_indicator_scores_not_added": (
        "across_projects",
        _("Scores on a scale are not added up across projects."),
    ),
    "standard_indicator_iati_reference_complete": (
        "iati_code",
        _("An IATI reference needs both the vocabulary and the code."),
    ),
    "disaggregation_dimension_unique": (
        "code",
        _("This portfolio already has a disaggregation dimension with this code."),
    ),
    "disaggregation_value_unique": (
        "code",
        _("This dimension already has a value with this code."),
    ),
    "target_one_per_category_and_date": (
        "due_on",
        _("This indicator already has a target for this group on this due date."),
    ),
    "measurement_period_ordered": (
        "period_end",
        _("The period cannot end before it starts."),
    ),
    "measurement_fraction_complete_and_positive": (
        "denominator",
        _(
            "Give both numerator and denominator: a numerator of zero or more, a denominator above zero."
        ),
    ),
    "measurement_review_recorded": (
        "status",
        _("A verified or rejected measurement records who reviewed it and when."),
    ),
    "measurement_rejection_has_reason": (
        "rejection_reason",
        _("A rejection needs its reason."),
    ),
    "measurement_superseded_has_reason": (
        "superseded_reason",
        _("A superseded measurement needs the reason it was corrected."),
    ),
    "measurement_not_self_verified": (
        "verified_by",
        _("Nobody verifies a measurement they reported."),
    ),
    "measurement_one_per_period_and_category": (
        "period_start",
        _("This indicator already has a measurement for this group and period."),
    ),
    **{
        f"evaluation_{criterion}_rated_1_to_6": (
            criterion,
            _(
                "A rating is a whole number from 1 (highly unsatisfactory) to 6 (highly satisfactory)."
            ),
        )
        for criterion in (
            "relevance",
            "coherence",
            "effectiveness",
            "efficiency",
            "impact",
            "sustainability",
        )
    },
    "payout_eligible_not_negative": (
        "eligible_amount",
        _("What results have earned cannot be negative."),
    ),
    "payout_minimum_is_pro_rata_fraction": (
        "minimum_achievement",
        _("A minimum achievement is a fraction from 0 to 1, and applies to pro rata payouts."),
    ),
    "repayment_parts_not_negative": (
        "principal",
        _("Principal and interest repaid cannot be negative."),
    ),
    "repayment_not_empty": (
        "principal",
        _("A repayment needs a principal or an interest part above zero."),
    ),
    # Every date a person types: constraint name -> its field (portfolio.fields.date_in_calendar).
    **{
        name: (field, DATE_RANGE_MESSAGE)
        for name, field in {
            "exchange_rate_valid_on_in_calendar": "valid_on",
            "project_planned_launch_date_in_calendar": "planned_launch_date",
            "project_launch_date_in_calendar": "launch_date",
            "cost_line_starts_on_in_calendar": "starts_on",
            "cost_line_ends_on_in_calendar": "ends_on",
            "cost_line_handover_on_in_calendar": "handover_on",
            "tranche_committed_on_in_calendar": "committed_on",
            "tranche_expected_disbursement_on_in_calendar": "expected_disbursement_on",
            "tranche_covers_from_in_calendar": "covers_from",
            "tranche_covers_until_in_calendar": "covers_until",
            "loan_first_payment_date_in_calendar": "first_payment_date",
            "disbursement_disbursed_on_in_calendar": "disbursed_on",
            "repayment_received_on_in_calendar": "received_on",
            "indicator_baseline_date_in_calendar": "baseline_date",
            "target_due_on_in_calendar": "due_on",
            "measurement_period_start_in_calendar": "period_start",
            "measurement_period_end_in_calendar": "period_end",
            "evaluation_completed_on_in_calendar": "completed_on",
            "recommendation_due_on_in_calendar": "due_on",
        }.items()
    },
    # reporting
    "export_job_progress_percent": ("progress", _("Progress is a percentage from 0 to 100.")),
}

# A constraint added without a sentence still never shows its name.
UNKNOWN_CONSTRAINT = _("These values cannot be saved together; check them and try again.")
# What else the database refuses once validation has passed: another request got there first.
CONFLICT = _("The change conflicts with data saved meanwhile; read it again and retry.")


@cache
def _constraints() -> dict:
    """Every constraint of every installed model, by name: (model, constraint)."""
    return {
        constraint.name: (model, constraint)
        for model in apps.get_models()
        for constraint in model._meta.constraints
    }


def sentence(name) -> tuple[str, str]:
    """(field, sentence) for the constraint called `name`."""
    return CONSTRAINTS.get(name, (NON_FIELD_ERRORS, UNKNOWN_CONSTRAINT))


def words(name):
    """The sentence for the constraint called `name`: a clean() that checks the same rule
    before the database does says it in the same words."""
    return sentence(name)[1]


def _violated(item: ValidationError, by_message: dict, by_fields: dict):
    """The name of the constraint one validation message reports, or None."""
    params = item.params or {}
    if item.code in ("unique", "unique_together") and "unique_check" in params:
        return by_fields.get((params.get("model_class"), tuple(params["unique_check"])))
    message = str(item.message % params if params else item.message)
    return by_message.get(message)


def plain(error: ValidationError) -> ValidationError:
    """`error` with every constraint's own message replaced by its sentence, on its field.

    Django words a violated constraint by its name (or, for a unique constraint, by the model
    and fields); both are matched here in the language the message was made in, which is the
    request's. Anything else passes unchanged.
    """
    known = _constraints()
    # Worded now, in the current language, as Django worded the violation.
    by_message = {
        str(constraint.get_violation_error_message()): name
        for name, (_model, constraint) in known.items()
    }
    by_fields = {
        (model, tuple(constraint.fields)): name
        for name, (model, constraint) in known.items()
        if getattr(constraint, "fields", None)
    }
    items = (
        error.error_dict.items()
        if hasattr(error, "error_dict")
        else [(NON_FIELD_ERRORS, error.error_list)]
    )
    changed = False
    result = {}
    for field, found in items:
        for item in found:
            name = _violated(item, by_message, by_fields)
            if name is None:
                result.setdefault(field, []).append(item)
                continue
            changed = True
            target, words = sentence(name)
            if not any(each.code == name for each in result.get(target, [])):
                result.setdefault(target, []).append(ValidationError(words, code=name))
    return ValidationError(result) if changed else error


def from_integrity_error(error: IntegrityError) -> ValidationError:
    """The database's refusal as a plain ValidationError on the field it concerns.

    PostgreSQL and SQLite name a check constraint; PostgreSQL names a unique one too, while
    SQLite lists its columns instead.
    """
    text = str(error)
    columns = text.split("UNIQUE constraint failed:", 1)[-1].strip() if "UNIQUE" in text else ""
    for name, (model, constraint) in _constraints().items():
        if re.search(rf"\b{re.escape(name)}\b", text) or (
            columns and columns == _sqlite_columns(model, constraint)
        ):
            target, words = sentence(name)
            return ValidationError({target: [ValidationError(words, code=name)]})
    return ValidationError({NON_FIELD_ERRORS: [ValidationError(CONFLICT, code="conflict")]})


def _sqlite_columns(model, constraint) -> str:
    fields = getattr(constraint, "fields", None)
    if not fields:
        return ""
    table = model._meta.db_table
    return ", ".join(f"{table}.{model._meta.get_field(name).column}" for name in fields)

"""The list sheets of the workbook, each declared once: its columns and how its totals go.

Each column holds one type. Totals add like with like only: converted money in the reporting
currency under a header that names its status and rate, and money in a tranche's own currency
per currency. The Tranches sheet's columns are declared in funding, shared with the import.
"""

from datetime import date

from dateutil.relativedelta import relativedelta

from funding.tranche_import import TRANCHE_COLUMNS
from portfolio.xlsx import CODE, COUNT, DATE, MONEY_FORMAT, PERCENT, RATE, REPORTING, Column, key

FORECAST_MONTHS = 24
STATE_FILLS = {
    "Secured": "#C6EFCE",
    "Pipeline": "#FFEB9C",
    "Gap": "#FFC7CE",
    "": "#D9D9D9",  # outside the obligation window
}
DECIMAL = "#,##0.####"

PROJECT_COLUMNS = [
    Column("Portfolio", key("portfolio__name"), width=22),
    Column("Project", key("code"), width=13),
    Column("Title", key("title"), width=30),
    Column("Country", key("country_name"), width=14),
    Column("Sector", key("sector"), CODE, width=8),
    Column("Implementing partner", key("implementing_partner__name"), width=22),
    Column("Launch date", key("launch_date"), DATE, width=12),
    Column("Status", key("status_label"), width=12),
    Column("Grant committed", key("grant"), REPORTING, width=16, total=True),
    Column("Loan committed", key("loan"), REPORTING, width=16, total=True),
    Column("Results-based committed", key("results_based"), REPORTING, width=16, total=True),
    Column("Committed (commitment-date rates)", key("committed"), REPORTING, width=16, total=True),
    Column("Disbursed (payment-date rates)", key("disbursed"), REPORTING, width=16, total=True),
    Column("Undisbursed (as-of rate)", key("undisbursed"), REPORTING, width=16, total=True),
    Column("Planned (as-of rate)", key("pipeline"), REPORTING, width=16, total=True),
    Column(
        "FX revaluation of disbursed (to as-of rate)",
        key("revaluation"),
        REPORTING,
        width=16,
        total=True,
    ),
    Column("Maintenance secured until", key("secured_until"), DATE, width=13),
    Column("Flags on as-of date", key("flags"), width=20),
    Column("Indicators", key("indicators"), COUNT, width=10, total=True),
    Column("Indicators on track", key("on_track"), COUNT, width=10, total=True),
]

DISBURSEMENT_COLUMNS = [
    Column("Portfolio", key("portfolio"), width=22),
    Column("Project", key("project"), width=13),
    Column("Funder", key("funder"), width=22),
    Column("Tranche reference", key("tranche_reference"), width=15),
    Column("Instrument", key("instrument"), width=13),
    Column("Disbursed on", key("disbursed_on"), DATE, width=12),
    Column("Amount", key("amount"), MONEY_FORMAT, width=15),
    Column("Currency", key("currency"), width=9),
    Column("Rate", key("rate"), RATE, width=11),
    Column("Rate date", key("rate_date"), DATE, width=12),
    Column("Reference", key("reference"), width=15),
    Column(
        "Amount (reporting currency, rate of the payment date)",
        key("amount_rc"),
        REPORTING,
        width=19,
        total=True,
    ),
]

COVERAGE_COLUMNS = [
    Column("Portfolio", key("portfolio"), width=22),
    Column("Project", key("project"), width=13),
    Column("Launch date", key("launch_date"), DATE, width=12),
    Column("Window start", key("window_start"), DATE, width=12),
    Column("Window end", key("window_end"), DATE, width=12),
    Column("Secured until", key("secured_until"), DATE, width=12),
    Column("Gap start", key("gap_start"), DATE, width=12),
    Column("Days to lapse", key("days_to_lapse"), COUNT, width=9),
    Column("Flags on as-of date", key("flags"), width=20),
]

RESULT_COLUMNS = [
    Column("Portfolio", key("portfolio"), width=22),
    Column("Project", key("project"), width=13),
    Column("Indicator", key("code"), width=11),
    Column("Name", key("name"), width=32),
    Column("Unit", key("unit"), width=10),
    Column("Level", key("level"), width=9),
    Column("Category", key("category"), width=16),
    Column("Baseline", key("baseline_value"), DECIMAL, width=11),
    Column("Baseline date", key("baseline_date"), DATE, width=12),
    Column("Target", key("target"), DECIMAL, width=11),
    Column("Target due", key("target_due"), DATE, width=12),
    Column("Latest verified actual", key("actual"), DECIMAL, width=12),
    Column("Measured until", key("measured_until"), DATE, width=12),
    Column("Achievement", key("achievement"), PERCENT, width=11),
    Column("Status", key("status"), width=10),
]

# Results across the portfolio: per standard indicator and group, the portfolio total (where
# adding up is meaningful) and each adopting project's verified value.
STANDARD_COLUMNS = [
    Column("Portfolio", key("portfolio"), width=22),
    Column("Standard indicator", key("code"), width=13),
    Column("Title", key("title"), width=32),
    Column("Unit", key("unit"), width=10),
    Column("Measure", key("measure"), width=11),
    Column("SDG indicator", key("sdg"), width=10),
    Column("Group", key("category"), width=22),
    Column("Project", key("project"), width=16),
    Column("Value", key("value"), DECIMAL, width=12),
    Column("Numerator", key("numerator"), DECIMAL, width=12),
    Column("Denominator", key("denominator"), DECIMAL, width=12),
    Column("Projects counted", key("projects"), COUNT, width=10),
    Column("Measured until", key("measured_until"), DATE, width=12),
]

# One row per cost line of a launched service's sustainability plan and calendar year of its
# obligation window (funding.selectors.project_plans): cost against secured money, pro rata.
SUSTAINABILITY_COLUMNS = [
    Column("Portfolio", key("portfolio"), width=22),
    Column("Project", key("project"), width=13),
    Column("Cost line", key("line"), width=26),
    Column("Year", key("year"), CODE, width=7),
    Column("Cost (reporting currency, as-of rate)", key("cost"), REPORTING, width=16, total=True),
    Column(
        "Secured (reporting currency, as-of rate)", key("secured"), REPORTING, width=16, total=True
    ),
    Column("Short by", key("shortfall"), REPORTING, width=16, total=True),
    Column("Gaps in secured money", key("gaps"), width=30),
    Column("Taken over by", key("successor"), width=30),
]

# One row per committed loan: its terms and where its schedule stands on the as-of date.
LOAN_COLUMNS = [
    Column("Portfolio", key("portfolio"), width=22),
    Column("Project", key("project"), width=13),
    Column("Funder", key("funder"), width=22),
    Column("Tranche reference", key("reference"), width=15),
    Column("Committed on", key("committed_on"), DATE, width=12),
    Column("Currency", key("currency"), width=10),
    Column("Amount", key("amount"), MONEY_FORMAT, width=15, per_currency=True),
    Column("Rate %", key("annual_rate_percent"), "0.000", width=8),
    Column("Tenor (months)", key("tenor_months"), COUNT, width=8),
    Column("Grace (months)", key("grace_months"), COUNT, width=8),
    Column("Method", key("method"), width=9),
    Column("Every (months)", key("frequency_months"), COUNT, width=8),
    Column("First payment", key("first_payment_date"), DATE, width=12),
    Column("Last payment", key("last_payment_date"), DATE, width=12),
    Column("Instalments", key("instalments"), COUNT, width=10),
    Column("Schedule on as-of date", key("schedule_status"), width=13),
    Column("Interest over the term", key("interest"), MONEY_FORMAT, width=15, per_currency=True),
    Column(
        "Principal due after as-of date", key("balance"), MONEY_FORMAT, width=15, per_currency=True
    ),
    Column("Next payment on", key("next_due_on"), DATE, width=12),
    Column("Next payment", key("next_payment"), MONEY_FORMAT, width=14, per_currency=True),
    Column(
        "Committed (reporting currency, commitment-date rate)",
        key("committed_rc"),
        REPORTING,
        width=17,
        total=True,
    ),
    Column(
        "Principal due after as-of date (reporting currency, as-of rate)",
        key("balance_rc"),
        REPORTING,
        width=17,
        total=True,
    ),
    # Loan status on the as-of date (funding.loans): what was disbursed and repaid, arrears.
    Column("Principal disbursed", key("principal_disbursed"), MONEY_FORMAT, width=15),
    Column("Principal repaid", key("principal_repaid"), MONEY_FORMAT, width=15),
    Column("Principal outstanding", key("principal_outstanding"), MONEY_FORMAT, width=15),
    Column("Interest received", key("interest_received"), MONEY_FORMAT, width=14),
    Column("Principal in arrears", key("principal_in_arrears"), MONEY_FORMAT, width=14),
    Column("Interest in arrears", key("interest_in_arrears"), MONEY_FORMAT, width=14),
    Column("Days overdue", key("days_overdue"), COUNT, width=9),
    Column(
        "Principal outstanding (reporting currency, as-of rate)",
        key("outstanding_rc"),
        REPORTING,
        width=17,
        total=True,
    ),
    Column(
        "In arrears (reporting currency, as-of rate)",
        key("arrears_rc"),
        REPORTING,
        width=17,
        total=True,
    ),
]

# Every instalment of every committed loan: only when asked for (with schedules).
SCHEDULE_COLUMNS = [
    Column("Portfolio", key("portfolio"), width=22),
    Column("Project", key("project"), width=13),
    Column("Funder", key("funder"), width=22),
    Column("Tranche reference", key("reference"), width=15),
    Column("Currency", key("currency"), width=10),
    Column("Rate %", key("annual_rate_percent"), "0.000", width=8),
    Column("No.", key("number"), COUNT, width=6),
    Column("Due on", key("due_on"), DATE, width=12),
    Column("Opening balance", key("opening_balance"), MONEY_FORMAT, width=15),
    Column("Interest", key("interest"), MONEY_FORMAT, width=14, per_currency=True),
    Column("Principal", key("principal"), MONEY_FORMAT, width=14, per_currency=True),
    Column("Payment", key("payment"), MONEY_FORMAT, width=14, per_currency=True),
    Column("Closing balance", key("closing_balance"), MONEY_FORMAT, width=15),
    # The instalment due that day on the schedule of what was disbursed (funding.loans).
    Column("State on as-of date", key("state"), width=12),
]

SHEETS = [
    "Cover",
    "Summary",
    "Projects",
    "Tranches",
    "Disbursements",
    "Maintenance coverage",
    "Sustainability",
    "Results",
    "Standard indicators",
    "Loans",
]
SCHEDULES_SHEET = "Loan schedules"


def long_date(day: date) -> str:
    """1 March 2026: how the workbook writes a date in words."""
    return f"{day.day} {day:%B %Y}"


def coverage_columns(first_month: date) -> list[Column]:
    """The fixed coverage columns, then one per forecast month headed by its real date."""
    first = first_month.replace(day=1)
    months = [
        # Each month's state as a word and a colour: Secured, Pipeline, Gap, grey outside.
        Column(
            first + relativedelta(months=offset), key(("month", offset)), width=9, fills=STATE_FILLS
        )
        for offset in range(FORECAST_MONTHS)
    ]
    return [*COVERAGE_COLUMNS, *months]


__all__ = [
    "COVERAGE_COLUMNS",
    "DISBURSEMENT_COLUMNS",
    "LOAN_COLUMNS",
    "PROJECT_COLUMNS",
    "RESULT_COLUMNS",
    "SCHEDULE_COLUMNS",
    "SHEETS",
    "SUSTAINABILITY_COLUMNS",
    "TRANCHE_COLUMNS",
]

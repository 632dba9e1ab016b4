"""The models' choice labels, marked for translation so the pages show them in the reader's
language. The models keep plain English labels, which the workbook, IATI files and email
digests write as they are; tests/pages/test_i18n.py checks that this list stays complete."""

from django.utils.translation import gettext_noop

LABELS = [
    # Tranche instruments
    gettext_noop("Grant"),
    gettext_noop("Concessional loan"),
    gettext_noop("Results-based funding"),
    # Tranche purposes
    gettext_noop("Launch (build and roll-out)"),
    gettext_noop("Maintenance (operations, updates, security, support)"),
    gettext_noop("Capacity (training)"),
    gettext_noop("Other"),
    # Tranche statuses
    gettext_noop("Planned (not signed)"),
    gettext_noop("Committed (signed)"),
    gettext_noop("Cancelled"),
    # Lapse flags
    gettext_noop("Lapsed"),
    gettext_noop("At risk"),
    gettext_noop("Unsecured"),
    gettext_noop("No maintenance funding"),
    gettext_noop("Underfunded"),
    gettext_noop("Disbursement overdue"),
    # Loan repayment methods and frequencies
    gettext_noop("Annuity"),
    gettext_noop("Linear"),
    gettext_noop("Monthly"),
    gettext_noop("Quarterly"),
    gettext_noop("Semi-annual"),
    gettext_noop("Annual"),
    # Project statuses
    gettext_noop("Pipeline"),
    gettext_noop("Approved"),
    gettext_noop("Implementing"),
    gettext_noop("Launched"),
    gettext_noop("Closed"),
    # Indicator levels, measures, directions and aggregation
    gettext_noop("Output"),
    gettext_noop("Outcome"),
    gettext_noop("Impact"),
    gettext_noop("Number"),
    gettext_noop("Percentage (numerator / denominator)"),
    gettext_noop("Qualitative (scored on a defined scale)"),
    gettext_noop("Increase is better"),
    gettext_noop("Decrease is better"),
    gettext_noop("Non-cumulative (the latest value counts)"),
    gettext_noop("Cumulative (values add up over periods)"),
    # Measurement statuses
    gettext_noop("Reported"),
    gettext_noop("Verified"),
    gettext_noop("Rejected"),
    # Disaggregation categories
    gettext_noop("Total"),
    gettext_noop("Sex: Female"),
    gettext_noop("Sex: Male"),
    gettext_noop("Disability: With a disability"),
    gettext_noop("Disability: Without a disability"),
    gettext_noop("Location (urban / rural): Urban"),
    gettext_noop("Location (urban / rural): Rural"),
    gettext_noop("Age group: Under 18"),
    gettext_noop("Age group: 18 to 34"),
    gettext_noop("Age group: 35 to 59"),
    gettext_noop("Age group: 60 and over"),
    # Evaluations, ratings and follow-up
    gettext_noop("Baseline"),
    gettext_noop("Mid-term"),
    gettext_noop("Final"),
    gettext_noop("Ex-post"),
    gettext_noop("Independent"),
    gettext_noop("Participatory"),
    gettext_noop("6 – Highly satisfactory"),
    gettext_noop("5 – Satisfactory"),
    gettext_noop("4 – Moderately satisfactory"),
    gettext_noop("3 – Moderately unsatisfactory"),
    gettext_noop("2 – Unsatisfactory"),
    gettext_noop("1 – Highly unsatisfactory"),
    gettext_noop("Open"),
    gettext_noop("In progress"),
    gettext_noop("Done"),
    gettext_noop("Dropped"),
    # Export jobs
    gettext_noop("Queued"),
    gettext_noop("Running"),
    gettext_noop("Failed"),
]

"""Demo library of standard indicators for digital public services, and the demo portfolio's
own disaggregation values (languages), so results add up across the demo's pilots."""

from evaluations import services
from evaluations.models import (
    AcrossProjects,
    Aggregation,
    Direction,
    DisaggregationDimension,
    DisaggregationValue,
    Measure,
    StandardIndicator,
)

IATI_OWN = "99"  # IATI IndicatorVocabulary: the reporting organisation's own code

LIBRARY = [
    {
        "code": "DPS-ID-1",
        "title": "People registered with a digital ID",
        "definition": "Unique people with an active digital ID credential, from the ID registry.",
        "unit": "people",
        "measure": Measure.NUMBER,
        "aggregation": Aggregation.CUMULATIVE,
        "sdg_indicator": "16.9.1",
    },
    {
        "code": "DPS-REG-1",
        "title": "Share of registrations completed online",
        "definition": "Registrations completed through the online service over all registrations "
        "of the period (numerator and denominator from the registry).",
        "unit": "%",
        "measure": Measure.PERCENTAGE,
        "aggregation": Aggregation.NON_CUMULATIVE,
        "sdg_indicator": "17.19.2",
    },
    {
        "code": "DPS-USE-90",
        "title": "Active users in the last 90 days",
        "definition": "Unique people who completed at least one transaction with the service in "
        "the 90 days before the end of the period.",
        "unit": "people",
        "measure": Measure.NUMBER,
        "aggregation": Aggregation.NON_CUMULATIVE,
    },
    {
        "code": "DPS-ID-3",
        "title": "Median days to credential",
        "definition": "Median calendar days from enrolment to the credential being issued, over "
        "the credentials issued in the period.",
        "unit": "days",
        "measure": Measure.NUMBER,
        "direction": Direction.DECREASE,
        "aggregation": Aggregation.NON_CUMULATIVE,
        "across_projects": AcrossProjects.NOT_ADDED,
    },
    {
        "code": "DPS-PAY-1",
        "title": "Payments delivered digitally",
        "definition": "Government-to-person payments credited to an account or mobile wallet.",
        "unit": "payments",
        "measure": Measure.NUMBER,
        "aggregation": Aggregation.CUMULATIVE,
        "sdg_indicator": "8.10.2",
    },
    {
        "code": "DPS-OPS-1",
        "title": "Service availability (uptime %)",
        "definition": "Minutes the service was available over the minutes of the period, from "
        "the operator's monitoring.",
        "unit": "%",
        "measure": Measure.PERCENTAGE,
        "aggregation": Aggregation.CUMULATIVE,
    },
    {
        "code": "DPS-SEC-1",
        "title": "Security incidents resolved within the agreed time",
        "definition": "Security incidents closed within the time the service agreement sets, over "
        "all security incidents closed in the period.",
        "unit": "%",
        "measure": Measure.PERCENTAGE,
        "aggregation": Aggregation.NON_CUMULATIVE,
    },
    {
        "code": "DPS-SUP-1",
        "title": "User-support tickets resolved",
        "definition": "Help-desk tickets closed as resolved in the period.",
        "unit": "tickets",
        "measure": Measure.NUMBER,
        "aggregation": Aggregation.CUMULATIVE,
    },
]

LANGUAGES = [("en", "English"), ("fr", "French"), ("sw", "Kiswahili"), ("other", "Other")]


def seed_standards(portfolio, manager):
    """Create the library (with the portfolio's own IATI codes) and the demo's languages;
    running it twice changes nothing."""
    services.add_default_dimensions(portfolio)
    for spec in LIBRARY:
        if StandardIndicator.objects.filter(portfolio=portfolio, code=spec["code"]).exists():
            continue
        standard = StandardIndicator(
            portfolio=portfolio, iati_vocabulary=IATI_OWN, iati_code=spec["code"], **spec
        )
        services.save_standard_indicator(standard, manager)
    language = DisaggregationDimension.objects.get(portfolio=portfolio, code="language")
    for position, (code, name) in enumerate(LANGUAGES):
        DisaggregationValue.objects.get_or_create(
            dimension=language, code=code, defaults={"name": name, "position": position}
        )

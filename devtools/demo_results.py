"""Demo results for the seeded portfolio: indicators, targets, measurements, evaluations, a payout."""

import textwrap
from datetime import timedelta
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.core.files.base import ContentFile
from django.utils import timezone

from evaluations import services
from evaluations.models import (
    Aggregation,
    Direction,
    Evaluation,
    EvaluationKind,
    FollowUp,
    Indicator,
    Level,
    Measure,
    Measurement,
    MeasurementStatus,
    PayoutRule,
    PayoutTerms,
    Recommendation,
    StandardIndicator,
    Target,
)
from funding.models import Tranche
from portfolio.models import Membership, Role
from projects.models import Project

VERIFIED = MeasurementStatus.VERIFIED
REJECTED = MeasurementStatus.REJECTED
REPORTED = MeasurementStatus.SUBMITTED

# Each project's results are dated in whole months from the first whole month of its service
# (from its launch, actual or planned before go-live), so they keep their place around the
# launch dates seed_demo writes relative to today. A period (3, 6) covers months four to six
# of the service; a baseline, target, evaluation or recommendation at 12 falls on the last day
# of month twelve; at 0, on the day before month one; negative numbers are before it.
# A measurement whose period has not ended yet is left out: it cannot be reported. A project
# launched n months ago has at least n - 1 whole months behind it, one due to launch in n
# months at least n + 1 months before it, whatever day of the month today is.

# The results frameworks, each with the codes of the projects it measures; a project no
# framework names gets no results. Measurements are (period, category, value or
# (numerator, denominator), source, what the evaluator decides, rejection reason).
FRAMEWORKS = [
    {
        "name": "digital identity",
        "projects": ["KE-ID-01"],
        "indicators": [
            {
                "code": "ID-OUT-1",
                "standard": "DPS-ID-1",
                "name": "People holding a digital ID",
                "definition": "Unique people with an active digital ID credential, from the ID registry.",
                "unit": "people",
                "level": Level.OUTPUT,
                "measure": Measure.NUMBER,
                "direction": Direction.INCREASE,
                "aggregation": Aggregation.CUMULATIVE,
                "baseline_value": Decimal("0"),
                "baseline_at": 0,
                "disaggregations": ["sex", "location"],
                "targets": [
                    (12, "", Decimal("150000")),
                    (24, "location:rural+sex:female", Decimal("60000")),
                    (24, "", Decimal("400000")),
                    (24, "sex:female", Decimal("200000")),
                ],
                "measurements": [
                    ((0, 3), "", "30000", "ID registry extract, months 1-3", VERIFIED),
                    ((3, 6), "", "45000", "ID registry extract, months 4-6", VERIFIED),
                    ((6, 9), "", "40000", "ID registry extract, months 7-9", VERIFIED),
                    ((9, 12), "", "38000", "ID registry extract, months 10-12", REPORTED),
                    ((0, 3), "sex:female", "14000", "ID registry extract, months 1-3", VERIFIED),
                    ((3, 6), "sex:female", "22000", "ID registry extract, months 4-6", VERIFIED),
                    ((6, 9), "sex:female", "21000", "ID registry extract, months 7-9", VERIFIED),
                    (
                        (6, 9),
                        "location:rural+sex:female",
                        "8500",
                        "ID registry extract, months 7-9, by district",
                        VERIFIED,
                    ),
                ],
            },
            {
                "code": "ID-OC-1",
                "name": "% of ID holders who used their ID for an online service in the last 90 days",
                "definition": "Household survey of ID holders; numerator: respondents who used it, denominator: respondents.",
                "level": Level.OUTCOME,
                "measure": Measure.PERCENTAGE,
                "direction": Direction.INCREASE,
                "aggregation": Aggregation.NON_CUMULATIVE,
                "baseline_value": Decimal("0"),
                "baseline_at": 0,
                "disaggregations": ["sex"],
                "targets": [(24, "", Decimal("40"))],
                "measurements": [
                    (
                        (6, 9),
                        "",
                        (312, 1200),
                        "Household survey, round 1 (capital only)",
                        REJECTED,
                        "Sample drawn only in the capital; not representative of rural ID holders.",
                    ),
                    (
                        (9, 12),
                        "",
                        (389, 1450),
                        "Household survey, round 2 (national sample)",
                        VERIFIED,
                    ),
                ],
            },
            {
                "code": "ID-OUT-2",
                "standard": "DPS-ID-3",
                "name": "Median days from enrolment to ID credential issued",
                "unit": "days",
                "level": Level.OUTPUT,
                "measure": Measure.NUMBER,
                "direction": Direction.DECREASE,
                "aggregation": Aggregation.NON_CUMULATIVE,
                "baseline_value": Decimal("45"),
                "baseline_at": 0,
                "disaggregations": [],
                "targets": [(18, "", Decimal("7"))],
                "measurements": [
                    ((6, 9), "", "18", "ID registry processing log", VERIFIED),
                ],
            },
        ],
        "payout_target": ("ID-OUT-1", 24, ""),
    },
    {
        "name": "civil registration",
        "projects": ["SN-CRVS-01"],
        "indicators": [
            {
                "code": "CR-OC-1",
                "standard": "DPS-REG-1",
                "name": "% of births registered online",
                "definition": "Births registered through the online service over all births registered in the period.",
                "level": Level.OUTCOME,
                "measure": Measure.PERCENTAGE,
                "direction": Direction.INCREASE,
                "aggregation": Aggregation.NON_CUMULATIVE,
                "baseline_value": Decimal("12"),
                "baseline_at": 0,
                "disaggregations": ["location"],
                "targets": [
                    (12, "", Decimal("35")),
                    (24, "", Decimal("60")),
                    (24, "location:rural", Decimal("45")),
                ],
                "measurements": [
                    ((0, 3), "", (1840, 6100), "Civil registry statistics, months 1-3", VERIFIED),
                    ((3, 6), "", (2950, 6400), "Civil registry statistics, months 4-6", VERIFIED),
                    (
                        (3, 6),
                        "location:rural",
                        (610, 2300),
                        "Civil registry statistics, months 4-6",
                        VERIFIED,
                    ),
                ],
            },
            {
                "code": "CR-OUT-1",
                "name": "Civil registrars trained to use the online system",
                "unit": "people",
                "level": Level.OUTPUT,
                "measure": Measure.NUMBER,
                "direction": Direction.INCREASE,
                "aggregation": Aggregation.CUMULATIVE,
                "baseline_value": Decimal("0"),
                "baseline_at": -6,
                "disaggregations": ["sex"],
                "targets": [(12, "", Decimal("400"))],
                "measurements": [
                    ((-6, 0), "", "180", "Training attendance sheets, before launch", VERIFIED),
                    ((0, 6), "", "150", "Training attendance sheets", REPORTED),
                ],
            },
        ],
        "payout_target": ("CR-OC-1", 24, ""),
    },
    {
        "name": "social cash transfers",
        "projects": ["GH-PAY-01"],
        "indicators": [
            {
                "code": "CT-OUT-1",
                "name": "Beneficiaries paid through mobile money",
                "definition": "Cash-transfer beneficiaries who received at least one transfer in "
                "their mobile-money wallet in the period, from the payment platform.",
                "unit": "people",
                "level": Level.OUTPUT,
                "measure": Measure.NUMBER,
                "direction": Direction.INCREASE,
                "aggregation": Aggregation.NON_CUMULATIVE,
                "baseline_value": Decimal("0"),
                "baseline_at": 0,
                "disaggregations": ["sex"],
                "targets": [(12, "", Decimal("90000")), (12, "sex:female", Decimal("60000"))],
                "measurements": [
                    ((0, 3), "", "41000", "Payment platform report, months 1-3", VERIFIED),
                    ((3, 6), "", "63500", "Payment platform report, months 4-6", VERIFIED),
                    ((6, 9), "", "78200", "Payment platform report, months 7-9", REPORTED),
                    (
                        (3, 6),
                        "sex:female",
                        "44100",
                        "Payment platform report, months 4-6",
                        VERIFIED,
                    ),
                ],
            },
            {
                "code": "CT-OC-1",
                "name": "% of transfers paid on time",
                "definition": "Transfers credited within five days of the payment date over all "
                "transfers due in the period.",
                "level": Level.OUTCOME,
                "measure": Measure.PERCENTAGE,
                "direction": Direction.INCREASE,
                "aggregation": Aggregation.NON_CUMULATIVE,
                "baseline_value": Decimal("55"),
                "baseline_at": 0,
                "disaggregations": [],
                "targets": [(12, "", Decimal("90"))],
                "measurements": [
                    ((3, 6), "", (165400, 190500), "Payment platform reconciliation", VERIFIED),
                ],
            },
            {
                "code": "CT-OUT-2",
                "standard": "DPS-PAY-1",
                "name": "Transfers credited to a mobile wallet",
                "unit": "payments",
                "level": Level.OUTPUT,
                "measure": Measure.NUMBER,
                "direction": Direction.INCREASE,
                "aggregation": Aggregation.CUMULATIVE,
                "baseline_value": Decimal("0"),
                "baseline_at": 0,
                "disaggregations": [],
                "targets": [(12, "", Decimal("600000"))],
                "measurements": [
                    ((0, 3), "", "118000", "Payment platform report, months 1-3", VERIFIED),
                    ((3, 6), "", "181000", "Payment platform report, months 4-6", VERIFIED),
                ],
            },
        ],
        "payout_target": ("CT-OUT-1", 12, ""),
    },
    {
        "name": "instant payments for market traders",
        "projects": ["CO-PAY-01"],
        "indicators": [
            {
                "code": "IP-OUT-1",
                "name": "Market traders accepting instant payments",
                "definition": "Traders with an instant-payment QR code who received at least one "
                "payment, from the pilot markets' onboarding records.",
                "unit": "people",
                "level": Level.OUTPUT,
                "measure": Measure.NUMBER,
                "direction": Direction.INCREASE,
                "aggregation": Aggregation.CUMULATIVE,
                "baseline_value": Decimal("0"),
                "baseline_at": -11,
                "disaggregations": ["sex"],
                "targets": [(12, "", Decimal("40000")), (12, "sex:female", Decimal("22000"))],
                "measurements": [
                    ((-11, -8), "", "1200", "Pilot onboarding records, two markets", VERIFIED),
                    (
                        (-11, -8),
                        "sex:female",
                        "700",
                        "Pilot onboarding records, two markets",
                        VERIFIED,
                    ),
                    ((-8, -5), "", "2100", "Pilot onboarding records, six markets", REPORTED),
                ],
            },
            {
                "code": "IP-OC-1",
                "name": "% of pilot traders' sales paid instantly",
                "definition": "Sales paid by instant payment over all sales in the sampled "
                "traders' ledgers.",
                "level": Level.OUTCOME,
                "measure": Measure.PERCENTAGE,
                "direction": Direction.INCREASE,
                "aggregation": Aggregation.NON_CUMULATIVE,
                "baseline_value": Decimal("0"),
                "baseline_at": -11,
                "disaggregations": [],
                "targets": [(12, "", Decimal("25"))],
                "measurements": [
                    ((-8, -5), "", (380, 4200), "Ledger sample of 60 pilot traders", VERIFIED),
                ],
            },
        ],
        "payout_target": ("IP-OUT-1", 12, ""),
    },
    {
        "name": "electronic health records",
        "projects": ["RW-EHR-01"],
        "indicators": [
            {
                "code": "EHR-OUT-1",
                "name": "District hospitals using electronic health records",
                "definition": "Hospitals recording outpatient and inpatient visits in the system "
                "every working day of the period's last month.",
                "unit": "hospitals",
                "level": Level.OUTPUT,
                "measure": Measure.NUMBER,
                "direction": Direction.INCREASE,
                "aggregation": Aggregation.CUMULATIVE,
                "baseline_value": Decimal("0"),
                "baseline_at": 0,
                "disaggregations": [],
                "targets": [(12, "", Decimal("18")), (24, "", Decimal("30"))],
                "measurements": [
                    ((0, 6), "", "8", "Ministry of Health deployment log", VERIFIED),
                    ((6, 12), "", "7", "Ministry of Health deployment log", VERIFIED),
                    ((12, 18), "", "6", "Ministry of Health deployment log", REPORTED),
                ],
            },
            {
                "code": "EHR-OC-1",
                "name": "% of outpatient visits recorded electronically",
                "definition": "Outpatient visits with an electronic record over all outpatient "
                "visits in the hospitals using the system.",
                "level": Level.OUTCOME,
                "measure": Measure.PERCENTAGE,
                "direction": Direction.INCREASE,
                "aggregation": Aggregation.NON_CUMULATIVE,
                "baseline_value": Decimal("0"),
                "baseline_at": 0,
                "disaggregations": ["location"],
                "targets": [(24, "", Decimal("80"))],
                "measurements": [
                    ((12, 15), "", (41200, 67500), "HMIS monthly returns", VERIFIED),
                    ((12, 15), "location:rural", (12900, 26100), "HMIS monthly returns", VERIFIED),
                ],
            },
            {
                "code": "EHR-OPS-1",
                "standard": "DPS-OPS-1",
                "name": "Health records service availability",
                "level": Level.OUTPUT,
                "measure": Measure.PERCENTAGE,
                "direction": Direction.INCREASE,
                "aggregation": Aggregation.CUMULATIVE,
                "baseline_value": Decimal("0"),
                "baseline_at": 0,
                "disaggregations": [],
                "targets": [(24, "", Decimal("99.5"))],
                "measurements": [
                    ((15, 18), "", (130150, 131040), "Data-centre monitoring", VERIFIED),
                ],
            },
        ],
        "payout_target": ("EHR-OUT-1", 24, ""),
    },
    {
        "name": "school enrolment and stipends",
        "projects": ["BD-SCH-01"],
        "indicators": [
            {
                "code": "SCH-OUT-1",
                "name": "Pupils enrolled online",
                "definition": "Pupils whose school enrolment was completed through the online "
                "service, from the education management information system.",
                "unit": "people",
                "level": Level.OUTPUT,
                "measure": Measure.NUMBER,
                "direction": Direction.INCREASE,
                "aggregation": Aggregation.CUMULATIVE,
                "baseline_value": Decimal("0"),
                "baseline_at": 0,
                "disaggregations": ["sex"],
                "targets": [(12, "", Decimal("600000")), (12, "sex:female", Decimal("300000"))],
                "measurements": [
                    ((0, 3), "", "182000", "EMIS enrolment extract, months 1-3", VERIFIED),
                    ((0, 3), "sex:female", "95000", "EMIS enrolment extract, months 1-3", VERIFIED),
                ],
            },
            {
                "code": "SCH-OC-1",
                "name": "% of stipends paid within 30 days of enrolment",
                "definition": "Stipends paid within 30 days of the pupil's enrolment over all "
                "stipends due in the period.",
                "level": Level.OUTCOME,
                "measure": Measure.PERCENTAGE,
                "direction": Direction.INCREASE,
                "aggregation": Aggregation.NON_CUMULATIVE,
                "baseline_value": Decimal("35"),
                "baseline_at": 0,
                "disaggregations": [],
                "targets": [(12, "", Decimal("85"))],
                "measurements": [
                    ((0, 3), "", (41000, 58000), "Stipend payment records", REPORTED),
                ],
            },
        ],
        "payout_target": ("SCH-OUT-1", 12, ""),
    },
    {
        "name": "land registry",
        "projects": ["NP-LAND-01"],
        "indicators": [
            {
                "code": "LAND-OUT-1",
                "name": "Land parcels with a digitised title",
                "definition": "Parcels whose title and cadastral map are in the digital registry.",
                "unit": "parcels",
                "level": Level.OUTPUT,
                "measure": Measure.NUMBER,
                "direction": Direction.INCREASE,
                "aggregation": Aggregation.CUMULATIVE,
                "baseline_value": Decimal("0"),
                "baseline_at": -6,
                "disaggregations": [],
                "targets": [(12, "", Decimal("150000"))],
                "measurements": [
                    (
                        (-6, 0),
                        "",
                        "42000",
                        "Land registry digitisation log, before launch",
                        VERIFIED,
                    ),
                    ((0, 3), "", "18500", "Land registry digitisation log", REPORTED),
                ],
            },
            {
                "code": "LAND-OC-1",
                "standard": "DPS-REG-1",
                "name": "% of land transfers registered online",
                "level": Level.OUTCOME,
                "measure": Measure.PERCENTAGE,
                "direction": Direction.INCREASE,
                "aggregation": Aggregation.NON_CUMULATIVE,
                "baseline_value": Decimal("0"),
                "baseline_at": 0,
                "disaggregations": [],
                "targets": [(12, "", Decimal("40"))],
                "measurements": [
                    ((0, 3), "", (870, 3400), "Land registry transfer statistics", VERIFIED),
                ],
            },
            {
                "code": "LAND-OC-2",
                "name": "Median days to register a land transfer",
                "unit": "days",
                "level": Level.OUTCOME,
                "measure": Measure.NUMBER,
                "direction": Direction.DECREASE,
                "aggregation": Aggregation.NON_CUMULATIVE,
                "baseline_value": Decimal("90"),
                "baseline_at": 0,
                "disaggregations": [],
                "targets": [(18, "", Decimal("15"))],
                "measurements": [
                    ((0, 3), "", "41", "Land registry transfer statistics", VERIFIED),
                ],
            },
        ],
        "payout_target": ("LAND-OUT-1", 12, ""),
    },
    {
        "name": "residence permits for migrants",
        "projects": ["PE-MIG-01"],
        "indicators": [
            {
                "code": "MIG-OUT-1",
                "name": "Residence permits issued online",
                "definition": "Temporary and permanent residence permits issued after an online "
                "application, from the migration authority's case system.",
                "unit": "permits",
                "level": Level.OUTPUT,
                "measure": Measure.NUMBER,
                "direction": Direction.INCREASE,
                "aggregation": Aggregation.CUMULATIVE,
                "baseline_value": Decimal("0"),
                "baseline_at": 0,
                "disaggregations": ["sex"],
                "targets": [(12, "", Decimal("24000")), (12, "sex:female", Decimal("12000"))],
                "measurements": [
                    ((0, 1), "", "2900", "Migration authority case system, month 1", VERIFIED),
                    ((1, 2), "", "3600", "Migration authority case system, month 2", VERIFIED),
                    (
                        (1, 2),
                        "sex:female",
                        "1750",
                        "Migration authority case system, month 2",
                        VERIFIED,
                    ),
                ],
            },
            {
                "code": "MIG-OC-1",
                "name": "% of permit applications decided within 30 days",
                "definition": "Online applications decided within 30 days of being complete over "
                "all online applications decided in the period.",
                "level": Level.OUTCOME,
                "measure": Measure.PERCENTAGE,
                "direction": Direction.INCREASE,
                "aggregation": Aggregation.NON_CUMULATIVE,
                "baseline_value": Decimal("20"),
                "baseline_at": 0,
                "disaggregations": [],
                "targets": [(12, "", Decimal("80"))],
                "measurements": [
                    ((0, 2), "", (3900, 6500), "Migration authority case system", REPORTED),
                ],
            },
        ],
        "payout_target": ("MIG-OUT-1", 12, ""),
    },
    {
        "name": "farm input e-vouchers",
        "projects": ["KE-AGRI-01"],
        "indicators": [
            {
                "code": "AGRI-OUT-1",
                "name": "Farmers registered for input e-vouchers",
                "definition": "Smallholder farmers registered with a verified phone number and "
                "farm size, from the e-voucher registry.",
                "unit": "people",
                "level": Level.OUTPUT,
                "measure": Measure.NUMBER,
                "direction": Direction.INCREASE,
                "aggregation": Aggregation.CUMULATIVE,
                "baseline_value": Decimal("0"),
                "baseline_at": -13,
                "disaggregations": ["sex"],
                "targets": [(6, "", Decimal("120000")), (6, "sex:female", Decimal("55000"))],
                "measurements": [
                    ((-13, -10), "", "14000", "E-voucher registry, pilot counties", VERIFIED),
                    ((-10, -7), "", "22000", "E-voucher registry, pilot counties", VERIFIED),
                    (
                        (-10, -7),
                        "sex:female",
                        "9800",
                        "E-voucher registry, pilot counties",
                        VERIFIED,
                    ),
                ],
            },
            {
                "code": "AGRI-OUT-2",
                "name": "Agro-dealers able to redeem e-vouchers",
                "definition": "Agro-dealers trained and equipped to redeem e-vouchers at the till.",
                "unit": "businesses",
                "level": Level.OUTPUT,
                "measure": Measure.NUMBER,
                "direction": Direction.INCREASE,
                "aggregation": Aggregation.CUMULATIVE,
                "baseline_value": Decimal("0"),
                "baseline_at": -13,
                "disaggregations": [],
                "targets": [(6, "", Decimal("900"))],
                "measurements": [
                    ((-10, -7), "", "240", "Agro-dealer training records", REPORTED),
                ],
            },
        ],
        "payout_target": ("AGRI-OUT-1", 6, ""),
    },
    # For the services whose own indicators are not written out here: what any digital
    # public service can honestly be measured by.
    {
        "name": "service uptake",
        "projects": ["GH-PROC-01", "PH-TEL-01", "RW-BIZ-01", "NP-DL-01"],
        "indicators": [
            {
                "code": "USE-OC-1",
                "standard": "DPS-USE-90",
                "name": "Active users of the service",
                "level": Level.OUTCOME,
                "measure": Measure.NUMBER,
                "direction": Direction.INCREASE,
                "aggregation": Aggregation.NON_CUMULATIVE,
                "baseline_value": Decimal("0"),
                "baseline_at": 0,
                "disaggregations": [],
                "targets": [(12, "", Decimal("3000")), (24, "", Decimal("6000"))],
                "measurements": [
                    ((9, 12), "", "2600", "Service analytics, months 10-12", VERIFIED),
                    ((21, 24), "", "5400", "Service analytics, months 22-24", VERIFIED),
                ],
            },
            {
                "code": "USE-OUT-1",
                "name": "Transactions completed online",
                "definition": "Transactions the service completed without a paper step.",
                "unit": "transactions",
                "level": Level.OUTPUT,
                "measure": Measure.NUMBER,
                "direction": Direction.INCREASE,
                "aggregation": Aggregation.CUMULATIVE,
                "baseline_value": Decimal("0"),
                "baseline_at": 0,
                "disaggregations": [],
                "targets": [(24, "", Decimal("20000"))],
                "measurements": [
                    ((0, 12), "", "8300", "Service transaction log, year 1", VERIFIED),
                    ((12, 24), "", "13900", "Service transaction log, year 2", VERIFIED),
                ],
            },
            {
                "code": "USE-OPS-1",
                "standard": "DPS-OPS-1",
                "name": "Service availability",
                "level": Level.OUTPUT,
                "measure": Measure.PERCENTAGE,
                "direction": Direction.INCREASE,
                "aggregation": Aggregation.CUMULATIVE,
                "baseline_value": Decimal("0"),
                "baseline_at": 0,
                "disaggregations": [],
                "targets": [(24, "", Decimal("99.5"))],
                "measurements": [
                    ((21, 24), "", (130700, 131040), "Hosting provider monitoring", VERIFIED),
                ],
            },
        ],
        "payout_target": ("USE-OUT-1", 24, ""),
    },
]

# The framework of each project code (tests/devtools/test_demo_results_fit.py checks that no
# code is in two and that every demo project is in one).
FRAMEWORK_OF = {code: framework for framework in FRAMEWORKS for code in framework["projects"]}

# Each evaluation names the project it evaluates; recommendations are (text, owner, due at,
# follow-up).
EVALUATIONS = [
    {
        "project": "KE-ID-01",
        "kind": EvaluationKind.MID_TERM,
        "completed_at": 12,
        "ratings": {
            "relevance": 6,
            "coherence": 5,
            "effectiveness": 4,
            "efficiency": 4,
            "impact": 3,
            "sustainability": 2,
        },
        "summary": "Enrolment is ahead of plan in towns and behind in rural districts; "
        "no funding is yet secured for operating the ID service once the launch grants end.",
        "findings": "Mobile enrolment teams reached three times more rural women per day than fixed sites. "
        "The ministry's budget covers staff but not hosting, security updates or the help desk.",
        "recommendations": [
            (
                "Agree a multi-year maintenance budget with the ministry of finance.",
                "Ministry of ICT",
                18,
                FollowUp.IN_PROGRESS,
            ),
            (
                "Double mobile enrolment teams in the two northern districts.",
                "Implementing partner",
                13,
                FollowUp.DONE,
            ),
            (
                "Publish the ID registry's uptime and support response times monthly.",
                "Implementing partner",
                15,
                FollowUp.OPEN,
            ),
        ],
    },
    {
        "project": "SN-CRVS-01",
        "kind": EvaluationKind.INDEPENDENT,
        "completed_at": 7,
        "ratings": {
            "relevance": 5,
            "coherence": 4,
            "effectiveness": 5,
            "efficiency": 3,
            "impact": 4,
            "sustainability": 3,
        },
        # Its evaluator let the report be published: the IATI file links it.
        "report_is_public": True,
        "summary": "Online birth registration nearly quadrupled in the six months after launch; "
        "rural uptake depends on clinic connectivity.",
        "findings": "Clinics with a working connection register 70% of births online, those without under 10%.",
        "recommendations": [
            (
                "Fund connectivity for the 120 rural clinics still offline.",
                "Funders' steering group",
                14,
                FollowUp.OPEN,
            ),
            (
                "Drop the paper duplicate once online registration passes 80%.",
                "Civil registry",
                None,
                FollowUp.DROPPED,
            ),
        ],
    },
]

ACTIVE = {Project.Status.IMPLEMENTING, Project.Status.LAUNCHED, Project.Status.CLOSED}


def seed_results(projects, tranches, users, evaluator_org):
    """Create or refresh demo results; running it twice changes nothing.

    - ``projects``: {project code: Project}. Each project a framework names gets that
      framework; measurements only for projects that are implementing, launched or closed.
    - ``tranches``: {funder reference: Tranche}. Every results-based one on a framed project
      gets pro-rata payout terms on its framework's payout target, so that verified results
      have earned part of it.
    - ``users``: {role name: User}. "evaluator" verifies; "implementer" reports its own
      organisation's projects, and the first of "portfolio_manager", "donor_officer",
      "finance" (else the implementer) reports the others. Without two distinct users
      measurements stay submitted.
    - ``evaluator_org``: the Organisation that evaluates the projects EVALUATIONS names,
      when they are active; without it, no evaluations.

    Missing keys are skipped.
    """
    implementer = users.get("implementer")
    implementing = (
        set(
            Membership.objects.filter(user=implementer, role=Role.IMPLEMENTER).values_list(
                "organisation_id", flat=True
            )
        )
        if implementer is not None
        else set()
    )
    reporter = next(
        (
            users[role]
            for role in ("portfolio_manager", "donor_officer", "finance")
            if users.get(role) is not None
        ),
        implementer,
    )
    verifier = users.get("evaluator")
    if verifier is not None and reporter is not None and verifier.pk == reporter.pk:
        verifier = None

    results_based = [
        tranche
        for _, tranche in sorted(tranches.items())
        if tranche.instrument == Tranche.Instrument.RESULTS_BASED
    ]
    framed = dict(sorted(projects.items()))
    for tranche in results_based:
        framed.setdefault(tranche.project.code, tranche.project)
    framework_of = {
        project.pk: FRAMEWORK_OF[code] for code, project in framed.items() if code in FRAMEWORK_OF
    }

    for project in framed.values():
        framework = framework_of.get(project.pk)
        if framework is None:
            continue
        month_one = first_month(project)
        for spec in framework["indicators"]:
            indicator = _indicator(project, spec, month_one)
            if project.status in ACTIVE:
                # An implementer reports its own organisation's projects; others' results
                # are reported by the first other reporter.
                by = implementer if project.implementing_partner_id in implementing else reporter
                for row in spec["measurements"]:
                    _measurement(indicator, row, month_one, by or reporter, verifier)

    for tranche in results_based:
        framework = framework_of.get(tranche.project_id)
        if framework is None:
            continue
        code, due_at, category = framework["payout_target"]
        target = Target.objects.get(
            indicator__project=tranche.project,
            indicator__code=code,
            due_on=month_end(first_month(tranche.project), due_at),
            disaggregation=category,
        )
        if not PayoutTerms.objects.filter(tranche=tranche).exists():
            terms = PayoutTerms(
                tranche=tranche,
                target=target,
                rule=PayoutRule.PRO_RATA,
                minimum_achievement=Decimal("0.2500"),
            )
            services.save_payout_terms(terms, user=users.get("portfolio_manager"))

    if evaluator_org is not None:
        for spec in EVALUATIONS:
            project = framed.get(spec["project"])
            if project is not None and project.status in ACTIVE:
                _evaluation(project, evaluator_org, spec)


def first_month(project):
    """The first day of the project's first whole month of service from its launch (actual,
    or planned before go-live): the start of month one, from which its results are dated."""
    launch = project.launch_date or project.planned_launch_date or timezone.localdate()
    month = launch.replace(day=1)
    return month if launch.day == 1 else month + relativedelta(months=1)


def month_end(month_one, months):
    """The last day of month ``months`` counted from ``month_one`` (0: the day before it)."""
    return month_one + relativedelta(months=months) - timedelta(days=1)


def _indicator(project, spec, month_one):
    standard = StandardIndicator.objects.filter(
        portfolio_id=project.portfolio_id, code=spec.get("standard", "")
    ).first()
    indicator, created = Indicator.objects.get_or_create(
        project=project,
        code=spec["code"],
        defaults={
            "name": spec["name"],
            "definition": spec.get("definition", ""),
            "unit": spec.get("unit", ""),
            "level": spec["level"],
            "measure": spec["measure"],
            "direction": spec["direction"],
            "aggregation": spec["aggregation"],
            "baseline_value": spec["baseline_value"],
            "baseline_date": month_end(month_one, spec["baseline_at"]),
            "disaggregations": spec["disaggregations"],
            "standard": standard,
        },
    )
    if standard is not None and (created or indicator.standard_id is None):
        # Inherit what the standard defines; a demo loaded before the library adopts it now.
        indicator.standard = standard
        indicator.full_clean()
        indicator.save(update_fields=["standard", "definition", "unit"])
    for due_at, category, value in spec["targets"]:
        due_on = month_end(month_one, due_at)
        if not Target.objects.filter(
            indicator=indicator, due_on=due_on, disaggregation=category
        ).exists():
            services.save_target(
                Target(indicator=indicator, due_on=due_on, disaggregation=category, value=value)
            )
    return indicator


def _measurement(indicator, row, month_one, reporter, verifier):
    (first, last), category, value, source, decision, *reason = row
    period = {
        "period_start": month_end(month_one, first) + timedelta(days=1),
        "period_end": month_end(month_one, last),
        "disaggregation": category,
    }
    if period["period_end"] > timezone.localdate():
        return
    if Measurement.objects.filter(indicator=indicator, **period).exists():
        return
    measurement = Measurement(indicator=indicator, source=source, reported_by=reporter, **period)
    if isinstance(value, tuple):
        measurement.numerator, measurement.denominator = (Decimal(part) for part in value)
    else:
        measurement.value = Decimal(value)
    measurement.submitted_at = timezone.now()
    measurement.full_clean()
    measurement.save()
    if verifier is None:
        return
    if decision == VERIFIED:
        services.verify_measurement(measurement, verifier)
    elif decision == REJECTED:
        services.reject_measurement(measurement, verifier, reason[0])


def _evaluation(project, evaluator_org, spec):
    completed_on = month_end(first_month(project), spec["completed_at"])
    if completed_on > timezone.localdate():
        return
    evaluation, _ = Evaluation.objects.get_or_create(
        project=project,
        kind=spec["kind"],
        evaluator=evaluator_org,
        defaults={
            "completed_on": completed_on,
            "summary": spec["summary"],
            "findings": spec["findings"],
            **spec["ratings"],
        },
    )
    if spec.get("report_is_public") and not evaluation.report:
        # A fixed name, so seeding again (as the tests do) reuses the file instead of adding one.
        name = f"evaluation-reports/demo/{project.code}-{spec['kind']}.pdf"
        if not evaluation.report.storage.exists(name):
            title = f"{evaluation.get_kind_display()} evaluation of {project.code}"
            name = evaluation.report.storage.save(
                name, ContentFile(report_pdf(title, [spec["summary"], spec["findings"]]))
            )
        evaluation.report.name = name
        evaluation.report_is_public = True
        evaluation.save(update_fields=["report", "report_is_public"])
    for text, owner, due_at, status in spec["recommendations"]:
        due_on = None if due_at is None else month_end(first_month(project), due_at)
        Recommendation.objects.get_or_create(
            evaluation=evaluation,
            text=text,
            defaults={"owner": owner, "due_on": due_on, "status": status},
        )


def report_pdf(title, paragraphs) -> bytes:
    """A one-page PDF of an evaluation's summary and findings: the demo's published report.

    Written by hand, as the PDF format allows, rather than adding a PDF library for one demo
    file: a catalogue, one page, one built-in font, one text stream and the offsets table.
    """
    lines = [title, ""]
    for paragraph in paragraphs:
        lines += [*textwrap.wrap(paragraph, 90), ""]
    escaped = [line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") for line in lines]
    shown = " ".join(f"({line}) Tj T*" for line in escaped)
    stream = f"BT /F1 10 Tf 14 TL 56 780 Td {shown} ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        "/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        f"<< /Length {len(stream.encode('cp1252'))} >>\nstream\n{stream}\nendstream",
    ]
    pdf, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, 1):
        offsets.append(len(pdf))
        pdf += f"{number} 0 obj\n{body}\nendobj\n".encode("cp1252")
    table = len(pdf)
    pdf += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    pdf += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    trailer = f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{table}\n%%EOF\n"
    return pdf + trailer.encode()

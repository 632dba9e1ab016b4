"""Demo results for the seeded portfolio: indicators, targets, measurements, evaluations, a payout."""

import textwrap
from datetime import date
from decimal import Decimal

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

D = date.fromisoformat
VERIFIED = MeasurementStatus.VERIFIED
REJECTED = MeasurementStatus.REJECTED
REPORTED = MeasurementStatus.SUBMITTED

# Two results frameworks, handed out to the projects in the order of their codes.
# Measurements are (period start, period end, category, value or (numerator, denominator),
# source, what the evaluator decides, rejection reason).
FRAMEWORKS = [
    {
        "name": "digital identity",
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
                "baseline_date": D("2025-01-01"),
                "disaggregations": ["sex", "location"],
                "targets": [
                    (D("2025-12-31"), "", Decimal("150000")),
                    (D("2026-12-31"), "location:rural+sex:female", Decimal("60000")),
                    (D("2026-12-31"), "", Decimal("400000")),
                    (D("2026-12-31"), "sex:female", Decimal("200000")),
                ],
                "measurements": [
                    ("2025-01-01", "2025-03-31", "", "30000", "ID registry extract, Q1", VERIFIED),
                    ("2025-04-01", "2025-06-30", "", "45000", "ID registry extract, Q2", VERIFIED),
                    ("2025-07-01", "2025-09-30", "", "40000", "ID registry extract, Q3", VERIFIED),
                    ("2025-10-01", "2025-12-31", "", "38000", "ID registry extract, Q4", REPORTED),
                    (
                        "2025-01-01",
                        "2025-03-31",
                        "sex:female",
                        "14000",
                        "ID registry extract, Q1",
                        VERIFIED,
                    ),
                    (
                        "2025-04-01",
                        "2025-06-30",
                        "sex:female",
                        "22000",
                        "ID registry extract, Q2",
                        VERIFIED,
                    ),
                    (
                        "2025-07-01",
                        "2025-09-30",
                        "sex:female",
                        "21000",
                        "ID registry extract, Q3",
                        VERIFIED,
                    ),
                    (
                        "2025-07-01",
                        "2025-09-30",
                        "location:rural+sex:female",
                        "8500",
                        "ID registry extract, Q3, by district",
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
                "baseline_date": D("2025-01-01"),
                "disaggregations": ["sex"],
                "targets": [(D("2026-12-31"), "", Decimal("40"))],
                "measurements": [
                    (
                        "2025-07-01",
                        "2025-09-30",
                        "",
                        (312, 1200),
                        "Household survey, round 1 (capital only)",
                        REJECTED,
                        "Sample drawn only in the capital; not representative of rural ID holders.",
                    ),
                    (
                        "2025-10-01",
                        "2025-12-31",
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
                "baseline_date": D("2025-01-01"),
                "disaggregations": [],
                "targets": [(D("2026-06-30"), "", Decimal("7"))],
                "measurements": [
                    ("2025-07-01", "2025-09-30", "", "18", "ID registry processing log", VERIFIED),
                ],
            },
        ],
        "payout_target": ("ID-OUT-1", D("2026-12-31"), ""),
    },
    {
        "name": "civil registration",
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
                "baseline_date": D("2024-12-31"),
                "disaggregations": ["location"],
                "targets": [
                    (D("2025-12-31"), "", Decimal("35")),
                    (D("2026-12-31"), "", Decimal("60")),
                    (D("2026-12-31"), "location:rural", Decimal("45")),
                ],
                "measurements": [
                    (
                        "2025-01-01",
                        "2025-06-30",
                        "",
                        (1840, 6100),
                        "Civil registry statistics, H1",
                        VERIFIED,
                    ),
                    (
                        "2025-07-01",
                        "2025-09-30",
                        "",
                        (2950, 6400),
                        "Civil registry statistics, Q3",
                        VERIFIED,
                    ),
                    (
                        "2025-07-01",
                        "2025-09-30",
                        "location:rural",
                        (610, 2300),
                        "Civil registry statistics, Q3",
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
                "baseline_date": D("2024-12-31"),
                "disaggregations": ["sex"],
                "targets": [(D("2025-12-31"), "", Decimal("400"))],
                "measurements": [
                    ("2025-01-01", "2025-06-30", "", "180", "Training attendance sheets", VERIFIED),
                    ("2025-07-01", "2025-12-31", "", "150", "Training attendance sheets", REPORTED),
                ],
            },
        ],
        "payout_target": ("CR-OC-1", D("2026-12-31"), ""),
    },
]

EVALUATIONS = [
    {
        "kind": EvaluationKind.MID_TERM,
        "completed_on": D("2025-11-15"),
        "ratings": {
            "relevance": 6,
            "coherence": 5,
            "effectiveness": 4,
            "efficiency": 4,
            "impact": 3,
            "sustainability": 2,
        },
        "summary": "Enrolment is ahead of plan in towns and behind in rural districts; "
        "no funding is yet secured for operating the service after launch.",
        "findings": "Mobile enrolment teams reached three times more rural women per day than fixed sites. "
        "The ministry's budget covers staff but not hosting, security updates or the help desk.",
        "recommendations": [
            (
                "Agree a multi-year maintenance budget with the ministry of finance before launch.",
                "Ministry of ICT",
                D("2026-03-31"),
                FollowUp.IN_PROGRESS,
            ),
            (
                "Double mobile enrolment teams in the two northern districts.",
                "Implementing partner",
                D("2026-01-31"),
                FollowUp.DONE,
            ),
            (
                "Publish the ID registry's uptime and support response times monthly.",
                "Implementing partner",
                D("2026-06-30"),
                FollowUp.OPEN,
            ),
        ],
    },
    {
        "kind": EvaluationKind.INDEPENDENT,
        "completed_on": D("2026-02-20"),
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
        "summary": "Online birth registration quadrupled in a year; rural uptake depends on clinic connectivity.",
        "findings": "Clinics with a working connection register 70% of births online, those without under 10%.",
        "recommendations": [
            (
                "Fund connectivity for the 120 rural clinics still offline.",
                "Funders' steering group",
                D("2026-09-30"),
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

    - ``projects``: {project code: Project}. Projects get a results framework in the order
      of their codes (digital identity, then civil registration, then again); measurements
      only for projects that are implementing, launched or closed.
    - ``tranches``: {funder reference: Tranche}. Every results-based one gets pro-rata
      payout terms on a target of its project (which gets a framework if it has none yet),
      so that verified results have earned part of it.
    - ``users``: {role name: User}. "evaluator" verifies; "implementer" reports its own
      organisation's projects, and the first of "portfolio_manager", "donor_officer",
      "finance" (else the implementer) reports the others. Without two distinct users
      measurements stay submitted.
    - ``evaluator_org``: the Organisation that evaluates the first two active projects
      (a mid-term and an independent evaluation); without it, no evaluations.

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

    framework_of = {}
    for position, project in enumerate(framed.values()):
        framework = FRAMEWORKS[position % len(FRAMEWORKS)]
        framework_of[project.pk] = framework
        for spec in framework["indicators"]:
            indicator = _indicator(project, spec)
            if project.status in ACTIVE:
                # An implementer reports its own organisation's projects; others' results
                # are reported by the first other reporter.
                by = implementer if project.implementing_partner_id in implementing else reporter
                for row in spec["measurements"]:
                    _measurement(indicator, row, by or reporter, verifier)

    for tranche in results_based:
        code, due_on, category = framework_of[tranche.project_id]["payout_target"]
        target = Target.objects.get(
            indicator__project=tranche.project,
            indicator__code=code,
            due_on=due_on,
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
        active = [project for project in framed.values() if project.status in ACTIVE]
        for project, spec in zip(active, EVALUATIONS, strict=False):
            _evaluation(project, evaluator_org, spec)


def _indicator(project, spec):
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
            "baseline_date": spec["baseline_date"],
            "disaggregations": spec["disaggregations"],
            "standard": standard,
        },
    )
    if standard is not None and (created or indicator.standard_id is None):
        # Inherit what the standard defines; a demo loaded before the library adopts it now.
        indicator.standard = standard
        indicator.full_clean()
        indicator.save(update_fields=["standard", "definition", "unit"])
    for due_on, category, value in spec["targets"]:
        if not Target.objects.filter(
            indicator=indicator, due_on=due_on, disaggregation=category
        ).exists():
            services.save_target(
                Target(indicator=indicator, due_on=due_on, disaggregation=category, value=value)
            )
    return indicator


def _measurement(indicator, row, reporter, verifier):
    start, end, category, value, source, decision, *reason = row
    period = {"period_start": D(start), "period_end": D(end), "disaggregation": category}
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
    evaluation, _ = Evaluation.objects.get_or_create(
        project=project,
        kind=spec["kind"],
        evaluator=evaluator_org,
        defaults={
            "completed_on": spec["completed_on"],
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
    for text, owner, due_on, status in spec["recommendations"]:
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

"""IATI 2.03 activity XML: one iati-activity per project of a portfolio, for donors to publish."""

import re
from collections import defaultdict
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path, PurePath
from urllib.parse import quote

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import F, OuterRef, Prefetch, Subquery
from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.text import slugify
from django.utils.translation import gettext as _
from lxml import etree

from evaluations import disaggregation
from evaluations.models import (
    VALUE_PLACES,
    Evaluation,
    Indicator,
    Level,
    Measure,
    Measurement,
    PayoutRule,
    category_label,
    category_names,
    plain,
)
from evaluations.progress import DECREASE, current_value
from funding import coverage, loans, schedules
from funding.models import Instrument, LoanTerms, Purpose, Tranche, TrancheStatus
from portfolio.models import Organisation, Role
from projects.models import CostLine, Project, Status, TargetGroup

from . import iati_plans

VERSION = "2.03"
CODELIST_DIR = Path(__file__).resolve().parent / "data" / "iati"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

# What IATI has no element for, but an import of this file needs to give back the same
# projects and money (a project's code and lifecycle, a tranche's purpose and cover period,
# a loan's schedule), is written in this namespace; the standard lets publishers extend it so,
# and IATI's tools and readers ignore it.
EXTENSION = "urn:blended-finance-tracker:iati:1"
NSMAP = {"tracker": EXTENSION}


def ext(name):
    return f"{{{EXTENSION}}}{name}"


# Codes, each from the codelist named beside it (reporting/data/iati/<name>.xml, copied whole
# from IATI 2.03); a test checks every code the export writes against those files.

# ActivityStatus. An approved project has not started yet: IATI calls that the pipeline. A
# launched service is still being run and kept up inside its sustainability window, so it is
# still under implementation; closed is over, financially too.
ACTIVITY_STATUS = {
    Status.PIPELINE: "1",
    Status.APPROVED: "1",
    Status.IMPLEMENTING: "2",
    Status.LAUNCHED: "2",
    Status.CLOSED: "4",
    Status.CANCELLED: "5",
}
# OrganisationType, from the funder type.
ORGANISATION_TYPE = {
    Organisation.FunderType.MULTILATERAL_BANK: "40",  # Multilateral
    Organisation.FunderType.BILATERAL_DONOR: "10",  # Government
    Organisation.FunderType.PHILANTHROPY: "60",  # Foundation
    Organisation.FunderType.PRIVATE: "70",  # Private Sector
}
# An organisation with neither an identifier nor a funder type is still typed, as IATI asks of
# an organisation without an identifier: its kind is not recorded here, so "Other".
ORGANISATION_TYPE_OTHER = "90"
# FlowType, from the funder type. Public funders give ODA. The instruments tracked here
# (grants, concessional loans, results-based payments) are never at market terms, so a
# private investor's money is private development finance, like a philanthropy's.
FLOW_TYPE = {
    Organisation.FunderType.MULTILATERAL_BANK: "10",  # ODA
    Organisation.FunderType.BILATERAL_DONOR: "10",  # ODA
    Organisation.FunderType.PHILANTHROPY: "30",  # Private Development Finance
    Organisation.FunderType.PRIVATE: "30",  # Private Development Finance
}
# FinanceType. A results-based tranche is a grant paid under a performance condition.
FINANCE_TYPE = {
    Instrument.GRANT: "110",  # Standard grant
    Instrument.RESULTS_BASED: "110",  # Standard grant
    Instrument.LOAN: "421",  # Standard loan
}
TRANSACTION_COMMITMENT = "2"  # TransactionType: Outgoing Commitment
TRANSACTION_DISBURSEMENT = "3"  # TransactionType: Disbursement
TRANSACTION_INTEREST = "5"  # TransactionType: Interest Payment (received on a loan)
TRANSACTION_REPAYMENT = "6"  # TransactionType: Loan Repayment (principal received)
# Money that flows back from the implementer to the funder.
INCOMING = {TRANSACTION_INTEREST, TRANSACTION_REPAYMENT}
ROLE_FUNDING = "1"  # OrganisationRole: Funding
ROLE_IMPLEMENTING = "4"  # OrganisationRole: Implementing
CONDITION_PERFORMANCE = "2"  # ConditionType: Performance
AID_TYPE_PROJECT = "C01"  # AidType: Project-type interventions
RESULT_TYPE = {Level.OUTPUT: "1", Level.OUTCOME: "2", Level.IMPACT: "3"}  # ResultType
RESULT_TITLE = {Level.OUTPUT: "Outputs", Level.OUTCOME: "Outcomes", Level.IMPACT: "Impact"}
# IndicatorMeasure: a score on a defined scale is ordinal (its values are numbers in order).
INDICATOR_MEASURE = {Measure.NUMBER: "1", Measure.PERCENTAGE: "2", Measure.QUALITATIVE: "4"}
VOCABULARY_DAC = "1"  # SectorVocabulary, AidTypeVocabulary, PolicyMarkerVocabulary: OECD DAC
SECTOR_PERCENTAGE = "100"  # one sector: all of it; rule engines old and new accept 100
DESCRIPTION_GENERAL = "1"  # DescriptionType
DESCRIPTION_TARGET_GROUPS = "3"  # DescriptionType
PLANNED_START, ACTUAL_START, PLANNED_END, ACTUAL_END = "1", "2", "3", "4"  # ActivityDateType
OTHER_ACTIVITY_IDENTIFIER = "A9"  # OtherIdentifierType: Other Activity Identifier
POLICY_GENDER, POLICY_DISABILITY = "1", "11"  # PolicyMarker
TAG_SDG_GOAL, TAG_SDG_TARGET = "2", "3"  # TagVocabulary
LOCATION_REACH_ACTIVITY = "1"  # GeographicLocationReach: where the activity happens
LOCATION_CLASS_ADMINISTRATIVE = "1"  # GeographicLocationClass: Administrative Region
FEATURE_FIRST_LEVEL_REGION = "ADM1"  # LocationType: first-order administrative division
DOCUMENT_EVALUATION = "A07"  # DocumentCategory: Review of project performance and evaluation
DOCUMENT_FORMAT = {  # FileFormat, by the report's extension (reports are PDF or .docx)
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
LOAN_REPAYMENT_TYPE = {LoanTerms.Method.ANNUITY: "2", LoanTerms.Method.LINEAR: "1"}
LOAN_REPAYMENT_PLAN = {12: "1", 6: "2", 3: "4", 1: "12"}  # LoanRepaymentPeriod, by months

CHUNK_SIZE = 500  # projects read (with their relations) per round of queries

# Characters XML 1.0 cannot hold (most control characters, e.g. from text pasted out of a
# word processor); lxml refuses them, so they are dropped rather than failing the export.
NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class ExportError(Exception):
    """The portfolio cannot be written as a valid IATI file; the message says why."""

    def __init__(self, message, field="portfolio"):
        super().__init__(message)
        self.field = field


@cache
def codelist_names(name) -> dict:
    """The active codes of a shipped IATI codelist and their names, e.g. for "FinanceType"."""
    tree = etree.parse(str(CODELIST_DIR / f"{name}.xml"), etree.XMLParser(resolve_entities=False))
    return {
        item.findtext("code").strip(): (item.findtext("name/narrative") or "").strip()
        for item in tree.iter("codelist-item")
        if item.get("status") != "withdrawn"
    }


def codelist(name) -> frozenset:
    """The active codes of a shipped IATI codelist, e.g. codelist("FinanceType")."""
    return frozenset(codelist_names(name))


def reporting_organisation(reporting_org=None) -> Organisation:
    """The organisation that publishes the file: an Organisation, its IATI identifier, or by
    default the organisation the portfolio managers work for, since they run the fund."""
    if isinstance(reporting_org, Organisation):
        organisation = reporting_org
    elif reporting_org:
        organisation = Organisation.objects.filter(iati_identifier=reporting_org).first()
        if organisation is None:
            raise ExportError(
                _("No organisation has the IATI identifier %(identifier)r.")
                % {"identifier": reporting_org},
                "reporting_org",
            )
    else:
        managing = list(
            Organisation.objects.filter(memberships__role=Role.PORTFOLIO_MANAGER).distinct()[:2]
        )
        if len(managing) != 1:
            found = (
                _("Portfolio managers work for several organisations")
                if managing
                else _("Portfolio managers work for no organisation")
            )
            raise ExportError(
                _(
                    "%(found)s, so the reporting organisation is not known; name it by its "
                    "IATI identifier (--reporting-org, ?reporting_org=)."
                )
                % {"found": found},
                "reporting_org",
            )
        organisation = managing[0]
    if not organisation.iati_identifier:
        raise ExportError(
            _(
                "The reporting organisation %(name)s has no IATI organisation identifier; "
                "give it one, or name another reporting organisation."
            )
            % {"name": organisation.name},
            "reporting_org",
        )
    if organisation.funder_type not in ORGANISATION_TYPE:
        raise ExportError(
            _(
                "The reporting organisation %(name)s has no funder type, so its IATI "
                "organisation type is not known; set its funder type, or name another "
                "reporting organisation."
            )
            % {"name": organisation.name},
            "reporting_org",
        )
    return organisation


def activity_identifier(project, reporter_ref) -> str:
    """The project's iati-identifier: the publisher's identifier and the project code, or the
    identifier an import brought in when it is this publisher's own."""
    stored = project.iati_identifier
    if stored and stored.startswith(f"{reporter_ref}-"):
        return stored
    return f"{reporter_ref}-{project.code}"


def write_activities(out, portfolio, reporting_org=None) -> int:
    """Write the portfolio's projects to `out` (a path or a binary file) as an IATI 2.03
    iati-activities file; return how many activities were written.

    Everything that could make the file invalid is checked before the first byte is written,
    and raises ExportError. Projects are read in chunks with their relations prefetched, so
    the number of queries grows with the number of chunks, never with the number of projects.
    The file is as of today: what is dated later (a signature, a payment) is not there yet.
    """
    reporter = reporting_organisation(reporting_org)
    if not portfolio.projects.exists():
        raise ExportError(
            _("The portfolio %(name)s has no projects; an IATI file needs at least one activity.")
            % {"name": portfolio.name}
        )
    generated = timezone.now().replace(microsecond=0)
    today = timezone.localdate()
    written = 0
    # Narratives are declared English (xml:lang="en"), whatever language the request asked for.
    with translation.override("en"), etree.xmlfile(out, encoding="utf-8") as xf:
        xf.write_declaration()
        root = {"version": VERSION, "generated-datetime": generated.isoformat()}
        with xf.element("iati-activities", root):
            xf.write("\n")
            names = category_names(portfolio.pk)
            for project in _projects(portfolio).iterator(chunk_size=CHUNK_SIZE):
                activity = Activity(project, reporter, portfolio.reporting_currency, today, names)
                xf.write(activity.element(), pretty_print=True)
                written += 1
    return written


def _projects(portfolio):
    # The day a closed or cancelled project reached that status, from its history: the
    # actual end of the activity.
    reached_status = (
        Project.history.model.objects.filter(id=OuterRef("pk"), status=OuterRef("status"))
        .order_by("history_date")
        .values("history_date")[:1]
    )
    # The plan's last change, deletions included (its lines' history): the plan is the
    # launched service's budgets.
    plan_changed = (
        CostLine.history.model.objects.filter(project_id=OuterRef("pk"))
        .order_by("-history_date")
        .values("history_date")[:1]
    )
    return (
        Project.objects.filter(portfolio=portfolio)
        .select_related("implementing_partner")
        .annotate(status_since=Subquery(reached_status), plan_changed_at=Subquery(plan_changed))
        .prefetch_related(
            Prefetch(
                "tranches",
                queryset=Tranche.objects.not_cancelled()
                .select_related("funder", "loan_terms", "payout_terms__target__indicator")
                .order_by(
                    F("committed_on").asc(nulls_last=True),
                    F("expected_disbursement_on").asc(nulls_last=True),
                    "funder_reference",
                    "id",
                ),
            ),
            "tranches__disbursements",
            "tranches__repayments",
            "cost_lines",
            Prefetch(
                "indicators", queryset=Indicator.objects.select_related("standard").order_by("code")
            ),
            "indicators__targets",
            Prefetch(
                "indicators__measurements",
                queryset=Measurement.objects.verified(),
                to_attr="verified_measurements",
            ),
            Prefetch(
                "evaluations",
                queryset=Evaluation.objects.filter(report_is_public=True)
                .exclude(report="")
                .select_related("evaluator")
                .order_by(F("completed_on").asc(nulls_last=True), "id"),
                to_attr="public_evaluations",
            ),
        )
        .order_by("code")
    )


def _text(value) -> str:
    return NOT_XML.sub("", str(value)).strip()


def _child(parent, tag, attributes=None, text=None):
    element = etree.SubElement(
        parent,
        tag,
        {
            name: str(value)
            for name, value in (attributes or {}).items()
            if value is not None and value != ""
        },
    )
    if text is not None:
        element.text = _text(text)
    return element


def _narrative(parent, tag, text):
    element = _child(parent, tag)
    _child(element, "narrative", text=text)
    return element


def _one(instance, name):
    """A reverse one-to-one relation, or None when there is no row."""
    try:
        return getattr(instance, name)
    except ObjectDoesNotExist:
        return None


def _money(amount):
    return f"{amount:,.2f}"


def result_value(number) -> str:
    """A result value to at most four decimal places (the precision values are recorded in),
    without trailing zeros: averages and percentages worked out from them can run longer."""
    return plain(Decimal(number).quantize(VALUE_PLACES, rounding=ROUND_HALF_UP))


def document_url(evaluation) -> str:
    """Where anyone can read a report that may be published (served by api_iati)."""
    name = PurePath(evaluation.report.name).name
    path = reverse("iati-document", args=[evaluation.pk, name])
    return f"{settings.SITE_URL.rstrip('/')}{quote(path)}"


class Activity:
    """One project as an iati-activity element, in the order the 2.03 schema requires."""

    def __init__(self, project, reporter, default_currency, today, category_names=None):
        self.project = project
        self.category_names = category_names or {}
        self.reporter = reporter
        self.default_currency = default_currency
        self.today = today
        self.partner = project.implementing_partner
        self.tranches = list(project.tranches.all())
        # As of today: a signature or a payment dated later has not happened yet.
        self.committed = [t for t in self.tranches if self.is_committed(t)]
        self.paid = {
            t.pk: [d for d in t.disbursements.all() if d.disbursed_on <= today]
            for t in self.tranches
        }
        self.repaid = {
            t.pk: [r for r in t.repayments.all() if r.received_on <= today] for t in self.tranches
        }
        self.indicators = list(project.indicators.all())

    def is_committed(self, tranche):
        return (
            tranche.status == TrancheStatus.COMMITTED
            and tranche.committed_on is not None
            and tranche.committed_on <= self.today
        )

    def undisbursed(self, tranche):
        return tranche.amount - sum((d.amount for d in self.paid[tranche.pk]), Decimal("0.00"))

    def element(self):
        project = self.project
        activity = etree.Element(
            "iati-activity",
            {
                "last-updated-datetime": self.last_updated().isoformat(),
                XML_LANG: "en",
                "default-currency": self.default_currency,
            },
            nsmap=NSMAP,
        )
        identifier = activity_identifier(project, self.reporter.iati_identifier)
        _child(activity, "iati-identifier", text=identifier)
        self.organisation(activity, "reporting-org", self.reporter)
        _narrative(activity, "title", project.title)
        description = _narrative(activity, "description", project.description or project.title)
        description.set("type", DESCRIPTION_GENERAL)
        if project.target_groups:
            groups = ", ".join(str(TargetGroup(group).label) for group in project.target_groups)
            target_groups = _narrative(activity, "description", f"Target groups: {groups}.")
            target_groups.set("type", DESCRIPTION_TARGET_GROUPS)
        funders = {t.funder_id: t.funder for t in self.tranches}
        for funder in sorted(funders.values(), key=lambda org: org.name):
            self.organisation(activity, "participating-org", funder, role=ROLE_FUNDING)
        self.organisation(activity, "participating-org", self.partner, role=ROLE_IMPLEMENTING)
        if project.iati_identifier and project.iati_identifier != identifier:
            # Published first by someone else (a funder's file this project was imported from).
            _child(
                activity,
                "other-identifier",
                {"ref": project.iati_identifier, "type": OTHER_ACTIVITY_IDENTIFIER},
            )
        _child(activity, "activity-status", {"code": ACTIVITY_STATUS[project.status]})
        self.dates(activity)
        _child(activity, "recipient-country", {"code": project.country.code})
        self.locations(activity)
        _child(
            activity,
            "sector",
            {
                "vocabulary": VOCABULARY_DAC,
                "code": project.sector_code,
                "percentage": SECTOR_PERCENTAGE,
            },
        )
        self.tags(activity)
        self.policy_markers(activity)
        _child(
            activity, "default-aid-type", {"code": AID_TYPE_PROJECT, "vocabulary": VOCABULARY_DAC}
        )
        money = self.money()
        self.budgets(activity, money, self.plan())
        self.planned_disbursements(activity, money)
        self.transactions(activity)
        self.documents(activity)
        self.conditions(activity)
        self.results(activity)
        self.loan_terms(activity)
        self.extension(activity)
        return activity

    def last_updated(self):
        stamps = [self.project.updated_at]
        for tranche in self.tranches:
            stamps.append(tranche.updated_at)
            stamps.extend(d.recorded_at for d in tranche.disbursements.all())
            stamps.extend(r.recorded_at for r in tranche.repayments.all())
        for indicator in self.indicators:
            stamps.append(indicator.updated_at)
            stamps.extend(target.updated_at for target in indicator.targets.all())
            stamps.extend(m.verified_at for m in indicator.verified_measurements)
        stamps.extend(e.updated_at for e in self.project.public_evaluations)
        if self.project.plan_changed_at is not None:
            stamps.append(self.project.plan_changed_at)
        return max(stamps).replace(microsecond=0)

    def organisation(self, parent, tag, organisation, role=None):
        """An organisation with its identifier where one is known, and its type where one is
        known or, lacking an identifier, "Other"; always with its name."""
        ref = organisation.iati_identifier
        kind = ORGANISATION_TYPE.get(organisation.funder_type)
        if not ref and not kind:
            kind = ORGANISATION_TYPE_OTHER
        element = _child(parent, tag, {"ref": ref, "type": kind, "role": role})
        _child(element, "narrative", text=organisation.name)
        return element

    def value(self, parent, amount, currency, on):
        # value-date is the day the amount is valued at, so a reader can convert it.
        attributes = {"currency": currency if currency != self.default_currency else None}
        attributes["value-date"] = on.isoformat()
        return _child(parent, "value", attributes, text=f"{amount:f}")

    def dates(self, activity):
        """Start is when money starts to flow; the planned end is the end of the window after
        launch during which the service must stay funded (the launch date is named in it)."""
        project = self.project
        expected = [t.expected_disbursement_on or t.committed_on for t in self.tranches]
        planned_start = min((day for day in expected if day), default=project.planned_launch_date)
        if planned_start is None and project.launch_date is None:
            planned_start = timezone.localdate(project.created_at)
        if planned_start:
            _child(activity, "activity-date", {"type": PLANNED_START, "iso-date": planned_start})
        paid = [d.disbursed_on for t in self.committed for d in self.paid[t.pk]]
        if paid:
            _child(activity, "activity-date", {"type": ACTUAL_START, "iso-date": min(paid)})
        launch = project.launch_date or project.planned_launch_date
        if launch:
            months = project.sustainability_months
            end = coverage.obligation_window(launch, months).end
            planned_end = _child(activity, "activity-date", {"type": PLANNED_END, "iso-date": end})
            if project.launch_date:
                said = f"The service launched on {launch.isoformat()}"
            else:
                said = f"The service is planned to launch on {launch.isoformat()}"
            _child(
                planned_end,
                "narrative",
                text=f"{said}; it must stay funded for {months} months after launch.",
            )
        if project.status in (Status.CLOSED, Status.CANCELLED):
            ended = project.status_since or project.updated_at
            _child(
                activity,
                "activity-date",
                {"type": ACTUAL_END, "iso-date": timezone.localdate(ended)},
            )

    def locations(self, activity):
        """The first-level administrative regions the service is rolled out in, by name."""
        for region in self.project.admin_regions:
            location = _child(activity, "location")
            _child(location, "location-reach", {"code": LOCATION_REACH_ACTIVITY})
            _narrative(location, "name", region)
            _child(location, "location-class", {"code": LOCATION_CLASS_ADMINISTRATIVE})
            _child(location, "feature-designation", {"code": FEATURE_FIRST_LEVEL_REGION})

    def tags(self, activity):
        names = codelist_names("UNSDG-Goals")
        for goal in sorted(self.project.sdg_goals):
            tag = _child(activity, "tag", {"vocabulary": TAG_SDG_GOAL, "code": goal})
            _child(tag, "narrative", text=names[str(goal)])

    def policy_markers(self, activity):
        for code, significance in (
            (POLICY_GENDER, self.project.gender_marker),
            (POLICY_DISABILITY, self.project.disability_marker),
        ):
            if significance is not None:
                _child(
                    activity,
                    "policy-marker",
                    {"vocabulary": VOCABULARY_DAC, "code": code, "significance": significance},
                )

    def money(self):
        """Each tranche as the plans see it (iati_plans)."""
        return [
            iati_plans.TrancheMoney(
                key=tranche,
                amount=tranche.amount,
                currency=tranche.currency,
                committed=self.is_committed(tranche),
                undisbursed=self.undisbursed(tranche),
                planned_on=tranche.expected_disbursement_on or tranche.committed_on,
                covers=(tranche.covers_from, tranche.covers_until)
                if tranche.covers_from and tranche.covers_until
                else None,
                maintenance=tranche.purpose == Purpose.MAINTENANCE,
            )
            for tranche in self.tranches
        ]

    def plan(self):
        """The sustainability plan of a launched service, as the budgets read it (iati_plans);
        None without one. As for the workbook's Sustainability sheet, only a launched service's
        plan counts: a closed or cancelled service will not spend what its plan foresaw."""
        project = self.project
        rows = list(project.cost_lines.all())
        if not rows or project.status != Status.LAUNCHED or not project.launch_date:
            return None
        return iati_plans.Plan(
            coverage.obligation_window(project.launch_date, project.sustainability_months),
            tuple(
                iati_plans.PlanCost(
                    row.category, row.annual_cost, row.currency, row.starts_on, row.ends_on
                )
                for row in rows
            ),
        )

    def budgets(self, activity, money, plan):
        for budget in iati_plans.budgets(money, self.today, plan):
            element = _child(activity, "budget", {"type": budget.type, "status": budget.status})
            _child(element, "period-start", {"iso-date": budget.period_start})
            _child(element, "period-end", {"iso-date": budget.period_end})
            self.value(element, budget.amount, budget.currency, budget.value_date)

    def planned_disbursements(self, activity, money):
        for line in iati_plans.planned_disbursements(money, self.today):
            tranche = line.key
            planned = _child(activity, "planned-disbursement", {"type": line.type})
            _child(planned, "period-start", {"iso-date": line.period_start})
            _child(planned, "period-end", {"iso-date": line.period_end})
            self.value(planned, line.amount, line.currency, line.value_date)
            self.organisation(planned, "provider-org", tranche.funder)
            self.organisation(planned, "receiver-org", self.partner)
            # A tranche not signed yet is described by its first planned disbursement.
            describe = line.defines and not self.is_committed(tranche)
            self.tranche_extension(planned, tranche, describe=describe)

    def transactions(self, activity):
        rows = []
        for tranche in self.committed:
            summary = self.summary(tranche)
            rows.append(
                (
                    tranche.committed_on,
                    TRANSACTION_COMMITMENT,
                    tranche.amount,
                    tranche,
                    tranche.funder_reference,
                    summary,
                )
            )
            for disbursement in self.paid[tranche.pk]:
                rows.append(
                    (
                        disbursement.disbursed_on,
                        TRANSACTION_DISBURSEMENT,
                        disbursement.amount,
                        tranche,
                        disbursement.reference,
                        f"Payment of the {summary[0].lower()}{summary[1:]}",
                    )
                )
            for repayment in self.repaid[tranche.pk]:
                for kind, amount, what in (
                    (TRANSACTION_REPAYMENT, repayment.principal, "Principal repaid"),
                    (TRANSACTION_INTEREST, repayment.interest, "Interest paid"),
                ):
                    if amount > 0:
                        rows.append(
                            (
                                repayment.received_on,
                                kind,
                                amount,
                                tranche,
                                repayment.reference,
                                f"{what} on the {summary[0].lower()}{summary[1:]}",
                            )
                        )
        # By business keys, so the same money always comes out in the same order.
        rows.sort(key=lambda row: (row[0], row[1], row[3].funder_reference, row[3].pk, row[4]))
        for day, kind, amount, tranche, reference, summary in rows:
            transaction = _child(activity, "transaction", {"ref": reference})
            _child(transaction, "transaction-type", {"code": kind})
            _child(transaction, "transaction-date", {"iso-date": day})
            self.value(transaction, amount, tranche.currency, day)
            _narrative(transaction, "description", summary)
            provider, receiver = tranche.funder, self.partner
            if kind in INCOMING:
                provider, receiver = receiver, provider
            self.organisation(transaction, "provider-org", provider)
            self.organisation(transaction, "receiver-org", receiver)
            flow = FLOW_TYPE.get(tranche.funder.funder_type)
            if flow:
                _child(transaction, "flow-type", {"code": flow})
            _child(transaction, "finance-type", {"code": FINANCE_TYPE[tranche.instrument]})
            self.tranche_extension(transaction, tranche, describe=kind == TRANSACTION_COMMITMENT)

    def tranche_extension(self, parent, tranche, describe):
        """Which tranche a money element belongs to; the element that describes the tranche
        (its commitment, or its first planned disbursement before it is signed) also says what
        IATI cannot: its instrument, purpose, dates and loan schedule."""
        element = _child(parent, ext("tranche"), {"reference": tranche.funder_reference})
        if not describe:
            return element
        committed = self.is_committed(tranche)
        attributes = {
            "status": None if committed else tranche.status,
            "committed-on": None if committed else tranche.committed_on,
            "instrument": tranche.instrument,
            "purpose": tranche.purpose,
            "expected-disbursement-on": tranche.expected_disbursement_on,
            "covers-from": tranche.covers_from,
            "covers-until": tranche.covers_until,
            "fixed-rate": plain(tranche.fixed_rate) if tranche.fixed_rate is not None else None,
        }
        for name, value in attributes.items():
            if value is not None and value != "":
                element.set(name, str(value))
        terms = _one(tranche, "loan_terms") if tranche.instrument == Instrument.LOAN else None
        if terms is not None:
            _child(
                element,
                ext("loan-terms"),
                {
                    "annual-rate-percent": plain(terms.annual_rate_percent),
                    "tenor-months": terms.tenor_months,
                    "grace-months": str(terms.grace_months),
                    "method": terms.method,
                    "frequency-months": terms.frequency_months,
                    "first-payment-date": terms.first_payment_date,
                },
            )
        return element

    @staticmethod
    def summary(tranche):
        text = f"{tranche.get_instrument_display()} for {tranche.get_purpose_display().lower()}"
        if tranche.covers_from and tranche.covers_until:
            text += (
                f", paying for the service from {tranche.covers_from.isoformat()} "
                f"to {tranche.covers_until.isoformat()}"
            )
        if tranche.funder_reference:
            text += f" (funder reference {tranche.funder_reference})"
        return text + "."

    def documents(self, activity):
        """Evaluation reports the evaluator marked as publishable, served by api_iati."""
        for evaluation in self.project.public_evaluations:
            media_type = DOCUMENT_FORMAT.get(PurePath(evaluation.report.name).suffix.lower())
            if media_type is None:
                continue  # only PDF and .docx are accepted; an older file is left out
            link = _child(
                activity, "document-link", {"url": document_url(evaluation), "format": media_type}
            )
            _narrative(
                link,
                "title",
                f"{evaluation.get_kind_display()} evaluation of {self.project.code} "
                f"by {evaluation.evaluator.name}",
            )
            if evaluation.summary.strip():
                _narrative(link, "description", evaluation.summary)
            _child(link, "category", {"code": DOCUMENT_EVALUATION})
            if evaluation.completed_on:
                _child(link, "document-date", {"iso-date": evaluation.completed_on})

    def conditions(self, activity):
        """Results-based tranches are paid only against verified results: a performance
        condition each. Other conditions are not recorded here, so without a results-based
        tranche the element is left out rather than claiming there are none."""
        results_based = [t for t in self.tranches if t.instrument == Instrument.RESULTS_BASED]
        if not results_based:
            return
        conditions = _child(activity, "conditions", {"attached": "1"})
        for tranche in results_based:
            condition = _child(conditions, "condition", {"type": CONDITION_PERFORMANCE})
            _child(condition, "narrative", text=self.condition_text(tranche, self.category_names))

    @staticmethod
    def condition_text(tranche, names):
        paid = (
            f"{tranche.funder.name} pays {tranche.currency} {_money(tranche.amount)}"
            + (f" (tranche {tranche.funder_reference})" if tranche.funder_reference else "")
            + " only against verified results"
        )
        terms = _one(tranche, "payout_terms")
        if terms is None:
            return f"{paid}; the target it pays for is still to be agreed."
        target, indicator = terms.target, terms.target.indicator
        goal = f"{indicator.code} {indicator.name} reaching {plain(target.value)}"
        if indicator.unit:
            goal += f" {indicator.unit}"
        if target.disaggregation:
            goal += f" ({category_label(target.disaggregation, names)})"
        goal += f" by {target.due_on.isoformat()}"
        if terms.rule == PayoutRule.ALL_OR_NOTHING:
            rule = "paid in full once the target is met, otherwise nothing"
        else:
            rule = "paid pro rata to achievement, capped at the tranche amount"
            if terms.minimum_achievement is not None:
                rule += f"; nothing below {plain(terms.minimum_achievement * 100)}% of the target"
        return f"{paid}: {goal}, {rule}."

    def results(self, activity):
        """One result per level (outputs, outcomes, impact), holding its indicators."""
        by_level = defaultdict(list)
        for indicator in self.indicators:
            by_level[indicator.level].append(indicator)
        for level in Level:
            if not by_level[level]:
                continue
            result = _child(activity, "result", {"type": RESULT_TYPE[level]})
            _narrative(result, "title", RESULT_TITLE[level])
            for indicator in by_level[level]:
                self.indicator(result, indicator)

    def indicator(self, result, indicator):
        element = _child(
            result,
            "indicator",
            {
                "measure": INDICATOR_MEASURE[indicator.measure],
                "ascending": "0" if indicator.direction == DECREASE else "1",
            },
        )
        _narrative(element, "title", f"{indicator.code}: {indicator.name}")
        about = " ".join(
            part
            for part in (
                indicator.definition.strip(),
                f"Unit: {indicator.unit}." if indicator.unit else "",
            )
            if part
        )
        if about:
            _narrative(element, "description", about)
        # An adopted standard names the indicator in recognised vocabularies (SDG, IATI's own).
        standard = indicator.standard
        for vocabulary, code in standard.references() if standard else ():
            _child(element, "reference", {"vocabulary": vocabulary, "code": code})
        _child(
            element,
            "baseline",
            {
                "year": indicator.baseline_date.year,
                "iso-date": indicator.baseline_date,
                "value": result_value(indicator.baseline_value),
            },
        )
        for start, end, targets, actuals in periods(indicator, self.today):
            period = _child(element, "period")
            _child(period, "period-start", {"iso-date": start})
            _child(period, "period-end", {"iso-date": end})
            for target in targets:
                node = _child(period, "target", {"value": result_value(target.value)})
                _dimension(node, target.disaggregation)
            for category, value, measured_until in actuals:
                node = _child(period, "actual", {"value": result_value(value)})
                _dimension(node, category)
                _narrative(node, "comment", f"Verified value as of {measured_until.isoformat()}.")

    def loan_terms(self, activity):
        """crs-add holds the terms of one loan; with several committed loans on one project,
        the first signed is reported (IATI has room for one set of terms per activity), with
        its status in the current year: the schema allows one loan-status per activity, so
        earlier years are in the transactions (types 5 and 6), not in loan-status."""
        loans = [
            (t, _one(t, "loan_terms")) for t in self.committed if t.instrument == Instrument.LOAN
        ]
        loans = [(tranche, terms) for tranche, terms in loans if terms is not None]
        if not loans:
            return
        tranche, terms = loans[0]
        crs_add = _child(activity, "crs-add")
        element = _child(crs_add, "loan-terms", {"rate-1": plain(terms.annual_rate_percent)})
        _child(element, "repayment-type", {"code": LOAN_REPAYMENT_TYPE[terms.method]})
        _child(element, "repayment-plan", {"code": LOAN_REPAYMENT_PLAN[terms.frequency_months]})
        _child(element, "commitment-date", {"iso-date": tranche.committed_on})
        try:
            instalments = terms.schedule()
        except schedules.ScheduleError:
            return  # terms saved before a rule existed; the dates are left out, not guessed
        # IATI's first repayment is of principal; during grace only interest is paid.
        repaying = [each for each in instalments if each.principal > 0]
        if repaying:
            _child(element, "repayment-first-date", {"iso-date": repaying[0].due_on})
            _child(element, "repayment-final-date", {"iso-date": repaying[-1].due_on})
        self.loan_status(crs_add, tranche, terms)

    def loan_status(self, crs_add, tranche, terms):
        """The loan in the current year, as of today: interest received this year, principal
        outstanding, and what is in arrears (funding.loans, from the rows already read)."""
        try:
            status = loans.loan_status(
                terms,
                [(d.disbursed_on, d.amount) for d in self.paid[tranche.pk]],
                [
                    loans.Received(r.received_on, r.principal, r.interest)
                    for r in self.repaid[tranche.pk]
                ],
                self.today,
                whole=False,
            )
        except schedules.ScheduleError:
            return
        if not status.principal_disbursed:
            return  # nothing lent yet: no status to claim
        year = self.today.year
        interest_this_year = sum(
            (r.interest for r in self.repaid[tranche.pk] if r.received_on.year == year),
            Decimal("0.00"),
        )
        element = _child(
            crs_add,
            "loan-status",
            {"year": str(year), "currency": tranche.currency, "value-date": self.today},
        )
        _child(element, "interest-received", text=f"{interest_this_year:f}")
        _child(element, "principal-outstanding", text=f"{status.principal_outstanding:f}")
        _child(element, "principal-arrears", text=f"{status.principal_in_arrears:f}")
        _child(element, "interest-arrears", text=f"{status.interest_in_arrears:f}")

    def extension(self, activity):
        """The project as this tracker knows it, for an import of this file (see EXTENSION)."""
        project = self.project
        attributes = {
            "code": project.code,
            "status": project.status,
            "planned-launch-date": project.planned_launch_date,
            "launch-date": project.launch_date,
            "sustainability-months": project.sustainability_months,
            "target-groups": " ".join(project.target_groups),
        }
        _child(activity, ext("project"), attributes)


def _dimension(parent, category):
    """A category as IATI dimensions: one per disaggregation, so rural women are two."""
    for name, value in disaggregation.parse(category):
        _child(parent, "dimension", {"name": name, "value": value})


def periods(indicator, today):
    """(start, end, targets, actuals) per reporting period of an indicator.

    A period runs from the day after the previous one (the baseline date for the first) to a
    target's due date. Actuals belong to periods that have ended: the last day measured before
    today closes a period of its own (splitting the one it falls in, or after the last target),
    so verified values are reported as soon as they are, never on a period still running.
    Actuals are verified values counted the indicator's way (cumulative or latest) as of the
    period's end, per category measured within the period, so they compare with the targets;
    actuals are (category, value, measured until).
    """
    spec = indicator.as_spec()
    observations = [
        each.as_observation() for each in indicator.verified_measurements if each.period_end < today
    ]
    targets = defaultdict(list)
    for target in indicator.targets.all():
        targets[target.due_on].append(target)
    ends = set(targets)
    measured_until = max((each.period_end for each in observations), default=None)
    if measured_until:
        ends.add(measured_until)
    start = indicator.baseline_date
    for end in sorted(ends):
        start = min(start, end)
        actuals = []
        if end < today:
            measured = {each.category for each in observations if start <= each.period_end <= end}
            for category in sorted(measured):
                counted = [
                    each
                    for each in observations
                    if each.category == category and each.period_end <= end
                ]
                until = max(each.period_end for each in counted)
                actuals.append((category, current_value(spec, counted), until))
        yield start, end, sorted(targets[end], key=lambda t: t.disaggregation), actuals
        start = end + timedelta(days=1)


def filename(portfolio):
    return f"iati-activities-{slugify(portfolio.name) or portfolio.pk}.xml"


def download(portfolio, reporting_org=None) -> HttpResponse:
    """The portfolio's IATI file as an attachment; raises ExportError before any byte is sent."""
    response = HttpResponse(content_type="application/xml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename(portfolio)}"'
    write_activities(response, portfolio, reporting_org)
    return response

"""IATI 2.03 activity XML: one iati-activity per project of a portfolio, for donors to publish."""

import re
from collections import defaultdict
from datetime import timedelta
from functools import cache
from pathlib import Path

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import F, OuterRef, Prefetch, Subquery
from django.http import HttpResponse
from django.utils import timezone, translation
from django.utils.text import slugify
from lxml import etree

from evaluations.models import Indicator, Level, Measure, Measurement, PayoutRule, plain
from evaluations.progress import DECREASE, current_value
from funding import coverage, schedules
from funding.models import Instrument, Tranche, TrancheStatus
from portfolio.models import Organisation, Role
from projects.models import Project, Status, TargetGroup

VERSION = "2.03"
CODELIST_DIR = Path(__file__).resolve().parent / "data" / "iati"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

# Codes, each from the codelist named beside it (reporting/data/iati/<name>.xml); a test
# checks every code the export writes against those files.

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
# OrganisationType, from the funder type; implementers and evaluators carry none, so their
# participating-org leaves the optional type out.
ORGANISATION_TYPE = {
    Organisation.FunderType.MULTILATERAL_BANK: "40",  # Multilateral
    Organisation.FunderType.BILATERAL_DONOR: "10",  # Government
    Organisation.FunderType.PHILANTHROPY: "60",  # Foundation
    Organisation.FunderType.PRIVATE: "70",  # Private Sector
}
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
ROLE_FUNDING = "1"  # OrganisationRole: Funding
ROLE_IMPLEMENTING = "4"  # OrganisationRole: Implementing
CONDITION_PERFORMANCE = "2"  # ConditionType: Performance
AID_TYPE_PROJECT = "C01"  # AidType: Project-type interventions
RESULT_TYPE = {Level.OUTPUT: "1", Level.OUTCOME: "2", Level.IMPACT: "3"}  # ResultType
RESULT_TITLE = {Level.OUTPUT: "Outputs", Level.OUTCOME: "Outcomes", Level.IMPACT: "Impact"}
# IndicatorMeasure (the shipped list holds Unit and Percentage): a score on a defined scale
# is counted in units of that scale.
INDICATOR_MEASURE = {Measure.NUMBER: "1", Measure.PERCENTAGE: "2", Measure.QUALITATIVE: "1"}

# Codes of lists that are part of the standard itself and not shipped as files here.
VOCABULARY_DAC = "1"  # SectorVocabulary and AidTypeVocabulary: OECD DAC
DESCRIPTION_GENERAL = "1"  # DescriptionType
DESCRIPTION_TARGET_GROUPS = "3"  # DescriptionType
PLANNED_START, ACTUAL_START, PLANNED_END, ACTUAL_END = "1", "2", "3", "4"  # ActivityDateType

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
def codelist(name) -> frozenset:
    """The active codes of a shipped IATI codelist, e.g. codelist("FinanceType")."""
    tree = etree.parse(str(CODELIST_DIR / f"{name}.xml"), etree.XMLParser(resolve_entities=False))
    return frozenset(tree.xpath("//codelist-item[not(@status='withdrawn')]/code/text()"))


def reporting_organisation(reporting_org=None) -> Organisation:
    """The organisation that publishes the file: an Organisation, its IATI identifier, or by
    default the organisation the portfolio managers work for, since they run the fund."""
    if isinstance(reporting_org, Organisation):
        organisation = reporting_org
    elif reporting_org:
        organisation = Organisation.objects.filter(iati_identifier=reporting_org).first()
        if organisation is None:
            raise ExportError(
                f"No organisation has the IATI identifier {reporting_org!r}.", "reporting_org"
            )
    else:
        managing = list(
            Organisation.objects.filter(memberships__role=Role.PORTFOLIO_MANAGER).distinct()[:2]
        )
        if len(managing) != 1:
            found = "several organisations" if managing else "no organisation"
            raise ExportError(
                f"Portfolio managers work for {found}, so the reporting organisation is not "
                "known; name it by its IATI identifier (--reporting-org, ?reporting_org=).",
                "reporting_org",
            )
        organisation = managing[0]
    if not organisation.iati_identifier:
        raise ExportError(
            f"The reporting organisation {organisation.name} has no IATI organisation "
            "identifier; give it one, or name another reporting organisation.",
            "reporting_org",
        )
    if organisation.funder_type not in ORGANISATION_TYPE:
        raise ExportError(
            f"The reporting organisation {organisation.name} has no funder type, so its IATI "
            "organisation type is not known; set its funder type, or name another reporting "
            "organisation.",
            "reporting_org",
        )
    return organisation


def write_activities(out, portfolio, reporting_org=None) -> int:
    """Write the portfolio's projects to `out` (a path or a binary file) as an IATI 2.03
    iati-activities file; return how many activities were written.

    Everything that could make the file invalid is checked before the first byte is written,
    and raises ExportError. Projects are read in chunks with their relations prefetched, so
    the number of queries grows with the number of chunks, never with the number of projects.
    """
    reporter = reporting_organisation(reporting_org)
    if not portfolio.projects.exists():
        raise ExportError(
            f"The portfolio {portfolio.name} has no projects; an IATI file needs at least one "
            "activity."
        )
    generated = timezone.now().replace(microsecond=0)
    written = 0
    # Narratives are declared English (xml:lang="en"), whatever language the request asked for.
    with translation.override("en"), etree.xmlfile(out, encoding="utf-8") as xf:
        xf.write_declaration()
        root = {"version": VERSION, "generated-datetime": generated.isoformat()}
        with xf.element("iati-activities", root):
            xf.write("\n")
            for project in _projects(portfolio).iterator(chunk_size=CHUNK_SIZE):
                activity = Activity(project, reporter, portfolio.reporting_currency)
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
    return (
        Project.objects.filter(portfolio=portfolio)
        .select_related("implementing_partner")
        .annotate(status_since=Subquery(reached_status))
        .prefetch_related(
            Prefetch(
                "tranches",
                queryset=Tranche.objects.not_cancelled()
                .select_related("funder", "loan_terms", "payout_terms__target__indicator")
                .order_by(F("committed_on").asc(nulls_last=True), "id"),
            ),
            "tranches__disbursements",
            Prefetch("indicators", queryset=Indicator.objects.order_by("code")),
            "indicators__targets",
            Prefetch(
                "indicators__measurements",
                queryset=Measurement.objects.verified(),
                to_attr="verified_measurements",
            ),
        )
        .order_by("code")
    )


def _text(value) -> str:
    return NOT_XML.sub("", str(value)).strip()


def _child(parent, tag, attributes=None, text=None):
    element = etree.SubElement(
        parent, tag, {name: str(value) for name, value in (attributes or {}).items() if value}
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


class Activity:
    """One project as an iati-activity element, in the order the 2.03 schema requires."""

    def __init__(self, project, reporter, default_currency):
        self.project = project
        self.reporter = reporter
        self.default_currency = default_currency
        self.partner = project.implementing_partner
        self.tranches = list(project.tranches.all())
        self.committed = [t for t in self.tranches if t.status == TrancheStatus.COMMITTED]
        self.indicators = list(project.indicators.all())

    def element(self):
        project = self.project
        activity = etree.Element(
            "iati-activity",
            {
                "last-updated-datetime": self.last_updated().isoformat(),
                XML_LANG: "en",
                "default-currency": self.default_currency,
            },
        )
        _child(activity, "iati-identifier", text=f"{self.reporter.iati_identifier}-{project.code}")
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
        _child(activity, "activity-status", {"code": ACTIVITY_STATUS[project.status]})
        self.dates(activity)
        _child(activity, "recipient-country", {"code": project.country.code})
        _child(activity, "sector", {"vocabulary": VOCABULARY_DAC, "code": project.sector_code})
        _child(
            activity, "default-aid-type", {"code": AID_TYPE_PROJECT, "vocabulary": VOCABULARY_DAC}
        )
        self.planned_disbursements(activity)
        self.transactions(activity)
        self.conditions(activity)
        self.results(activity)
        self.loan_terms(activity)
        return activity

    def last_updated(self):
        stamps = [self.project.updated_at]
        for tranche in self.tranches:
            stamps.append(tranche.updated_at)
            stamps.extend(d.recorded_at for d in tranche.disbursements.all())
        for indicator in self.indicators:
            stamps.append(indicator.updated_at)
            stamps.extend(target.updated_at for target in indicator.targets.all())
            stamps.extend(m.verified_at for m in indicator.verified_measurements)
        return max(stamps).replace(microsecond=0)

    def organisation(self, parent, tag, organisation, role=None):
        element = _child(
            parent,
            tag,
            {
                "ref": organisation.iati_identifier,
                "type": ORGANISATION_TYPE.get(organisation.funder_type),
                "role": role,
            },
        )
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
        paid = [d.disbursed_on for t in self.committed for d in t.disbursements.all()]
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

    def planned_disbursements(self, activity):
        """What committed tranches still have to pay: from their expected disbursement date,
        or, once partly paid, from their last payment."""
        for tranche in self.committed:
            if tranche.undisbursed_amount <= 0:
                continue
            paid = [d.disbursed_on for d in tranche.disbursements.all()]
            start = max([tranche.expected_disbursement_on or tranche.committed_on, *paid])
            planned = _child(activity, "planned-disbursement")
            _child(planned, "period-start", {"iso-date": start})
            self.value(planned, tranche.undisbursed_amount, tranche.currency, start)
            self.organisation(planned, "provider-org", tranche.funder)
            self.organisation(planned, "receiver-org", self.partner)

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
            for disbursement in tranche.disbursements.all():
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
        rows.sort(key=lambda row: (row[0], row[1], row[3].pk))
        for day, kind, amount, tranche, reference, summary in rows:
            transaction = _child(activity, "transaction", {"ref": reference})
            _child(transaction, "transaction-type", {"code": kind})
            _child(transaction, "transaction-date", {"iso-date": day})
            self.value(transaction, amount, tranche.currency, day)
            _narrative(transaction, "description", summary)
            self.organisation(transaction, "provider-org", tranche.funder)
            self.organisation(transaction, "receiver-org", self.partner)
            flow = FLOW_TYPE.get(tranche.funder.funder_type)
            if flow:
                _child(transaction, "flow-type", {"code": flow})
            _child(transaction, "finance-type", {"code": FINANCE_TYPE[tranche.instrument]})

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
            _child(condition, "narrative", text=self.condition_text(tranche))

    @staticmethod
    def condition_text(tranche):
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
            goal += f" ({target.get_disaggregation_display()})"
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
        _child(
            element,
            "baseline",
            {
                "year": indicator.baseline_date.year,
                "iso-date": indicator.baseline_date,
                "value": plain(indicator.baseline_value),
            },
        )
        for start, end, targets, actuals in periods(indicator):
            period = _child(element, "period")
            _child(period, "period-start", {"iso-date": start})
            _child(period, "period-end", {"iso-date": end})
            for target in targets:
                node = _child(period, "target", {"value": plain(target.value)})
                _dimension(node, target.disaggregation)
            for category, value, measured_until in actuals:
                node = _child(period, "actual", {"value": plain(value)})
                _dimension(node, category)
                _narrative(node, "comment", f"Verified value as of {measured_until.isoformat()}.")

    def loan_terms(self, activity):
        """crs-add holds the terms of one loan; with several committed loans on one project,
        the first signed is reported (IATI has room for one set of terms per activity)."""
        loans = [
            (t, _one(t, "loan_terms")) for t in self.committed if t.instrument == Instrument.LOAN
        ]
        loans = [(tranche, terms) for tranche, terms in loans if terms is not None]
        if not loans:
            return
        tranche, terms = loans[0]
        crs_add = _child(activity, "crs-add")
        element = _child(crs_add, "loan-terms", {"rate-1": plain(terms.annual_rate_percent)})
        _child(element, "commitment-date", {"iso-date": tranche.committed_on})
        try:
            instalments = schedules.repayment_schedule(
                principal=tranche.amount,
                annual_rate_percent=terms.annual_rate_percent,
                tenor_months=terms.tenor_months,
                grace_months=terms.grace_months,
                method=terms.method,
                frequency_months=terms.frequency_months,
                first_payment_date=terms.first_payment_date,
            )
        except schedules.ScheduleError:
            return  # terms saved before a rule existed; the dates are left out, not guessed
        # IATI's first repayment is of principal; during grace only interest is paid.
        repaying = [each for each in instalments if each.principal > 0]
        if repaying:
            _child(element, "repayment-first-date", {"iso-date": repaying[0].due_on})
            _child(element, "repayment-final-date", {"iso-date": repaying[-1].due_on})


def _dimension(parent, category):
    if category:
        name, _, value = category.partition(":")
        _child(parent, "dimension", {"name": name, "value": value})


def periods(indicator):
    """(start, end, targets, actuals) per reporting period of an indicator.

    A period runs from the day after the previous target's due date (the baseline date for the
    first) to a target's due date, and one more period runs to the last verified measurement
    when it ends after the last target. Actuals are verified values counted the indicator's way
    (cumulative or latest) as of the period's end, per category measured within the period, so
    they compare with the targets; actuals are (category, value, measured until).
    """
    spec = indicator.as_spec()
    observations = [each.as_observation() for each in indicator.verified_measurements]
    targets = defaultdict(list)
    for target in indicator.targets.all():
        targets[target.due_on].append(target)
    ends = sorted(targets)
    measured_until = max((each.period_end for each in observations), default=None)
    if measured_until and (not ends or measured_until > ends[-1]):
        ends.append(measured_until)
    start = indicator.baseline_date
    for end in ends:
        start = min(start, end)
        actuals = []
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

"""IATI 2.03 export: valid against the official schema, codes from the codelists, three doors."""

from datetime import date
from decimal import Decimal
from io import BytesIO, StringIO
from pathlib import Path

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from lxml import etree

from evaluations.models import Level, Measure, PayoutRule
from funding import selectors, services
from funding.models import Instrument, LoanTerms, Tranche
from portfolio.models import Organisation, Role
from projects.models import CostLine, PolicySignificance, Project
from reporting import iati, iati_plans
from tests.evaluations.factories import (
    EvaluationFactory,
    IndicatorFactory,
    MeasurementFactory,
    PayoutTermsFactory,
    StandardIndicatorFactory,
    TargetFactory,
)
from tests.factories import (
    FunderFactory,
    ImplementerFactory,
    LoanTermsFactory,
    MembershipFactory,
    PortfolioFactory,
    ProjectFactory,
    TrancheFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 1)


@pytest.fixture
def reporter():
    return FunderFactory(
        name="Regional Development Bank",
        iati_identifier="XM-DAC-46990",
        funder_type=Organisation.FunderType.MULTILATERAL_BANK,
    )


def only_activity(root):
    (activity,) = root.findall("iati-activity")
    return activity


def texts(element, path):
    return [node.text for node in element.findall(path)]


def test_every_mapped_code_is_in_the_shipped_codelist():
    mappings = [
        (iati.ACTIVITY_STATUS.values(), "ActivityStatus"),
        (iati.ORGANISATION_TYPE.values(), "OrganisationType"),
        (iati.FLOW_TYPE.values(), "FlowType"),
        (iati.FINANCE_TYPE.values(), "FinanceType"),
        ([iati.TRANSACTION_COMMITMENT, iati.TRANSACTION_DISBURSEMENT], "TransactionType"),
        ([iati.ROLE_FUNDING, iati.ROLE_IMPLEMENTING], "OrganisationRole"),
        ([iati.CONDITION_PERFORMANCE], "ConditionType"),
        ([iati.AID_TYPE_PROJECT], "AidType"),
        (iati.RESULT_TYPE.values(), "ResultType"),
        (iati.INDICATOR_MEASURE.values(), "IndicatorMeasure"),
        ([iati.ORGANISATION_TYPE_OTHER], "OrganisationType"),
        ([iati.OTHER_ACTIVITY_IDENTIFIER], "OtherIdentifierType"),
        ([iati.POLICY_GENDER, iati.POLICY_DISABILITY], "PolicyMarker"),
        ([str(value) for value in PolicySignificance.values], "PolicySignificance"),
        ([iati.TAG_SDG_GOAL, iati.TAG_SDG_TARGET], "TagVocabulary"),
        ([str(goal) for goal in range(1, 18)], "UNSDG-Goals"),
        ([iati.LOCATION_REACH_ACTIVITY], "GeographicLocationReach"),
        ([iati.LOCATION_CLASS_ADMINISTRATIVE], "GeographicLocationClass"),
        ([iati.FEATURE_FIRST_LEVEL_REGION], "LocationType"),
        ([iati.DOCUMENT_EVALUATION], "DocumentCategory"),
        (iati.DOCUMENT_FORMAT.values(), "FileFormat"),
        (iati.LOAN_REPAYMENT_TYPE.values(), "LoanRepaymentType"),
        (iati.LOAN_REPAYMENT_PLAN.values(), "LoanRepaymentPeriod"),
        ([iati_plans.ORIGINAL, iati_plans.REVISED], "BudgetType"),
        ([iati_plans.INDICATIVE, iati_plans.COMMITTED], "BudgetStatus"),
        ([iati.VOCABULARY_DAC], "SectorVocabulary"),
        ([iati.VOCABULARY_DAC], "AidTypeVocabulary"),
        ([iati.VOCABULARY_DAC], "PolicyMarkerVocabulary"),
    ]
    for codes, name in mappings:
        assert set(codes) <= iati.codelist(name), name
    assert set(iati.ACTIVITY_STATUS) == set(Project.Status.values)
    assert set(iati.FINANCE_TYPE) == set(Instrument.values)
    assert set(iati.ORGANISATION_TYPE) == set(iati.FLOW_TYPE) == set(Organisation.FunderType)
    assert set(iati.RESULT_TYPE) == set(Level.values)
    assert set(iati.INDICATOR_MEASURE) == set(Measure.values)
    assert set(iati.LOAN_REPAYMENT_TYPE) == set(LoanTerms.Method.values)
    assert set(iati.LOAN_REPAYMENT_PLAN) == {months for months, _ in LoanTerms.FREQUENCIES}


def test_shipped_codelists_are_whole():
    # The issue found IndicatorMeasure with 2 of 5 codes and OrganisationType with 10 of 16.
    assert iati.codelist("IndicatorMeasure") == {"1", "2", "3", "4", "5"}
    assert len(iati.codelist("OrganisationType")) >= 16
    for path in iati.CODELIST_DIR.glob("*.xml"):
        shipped = etree.parse(str(path)).getroot()
        assert shipped.tag == "codelist" and shipped.get("name") == path.stem


def test_withdrawn_codes_are_not_in_the_codelist():
    assert "35" not in iati.codelist("FlowType")  # Private Market, withdrawn
    assert "10" in iati.codelist("FlowType")


@time_machine.travel(TODAY, tick=False)
def test_policy_markers_sdg_tags_regions(export, reporter):
    project = ProjectFactory(
        gender_marker=PolicySignificance.PRINCIPAL,
        disability_marker=PolicySignificance.NOT_TARGETED,
        sdg_goals=[16, 5],
        admin_regions=["Nakuru", "Kisumu"],
    )
    activity = only_activity(export(project.portfolio))

    markers = [marker.attrib for marker in activity.findall("policy-marker")]
    assert markers == [
        {"vocabulary": "1", "code": "1", "significance": "2"},
        {"vocabulary": "1", "code": "11", "significance": "0"},
    ]
    tags = activity.findall("tag")
    assert [(tag.get("vocabulary"), tag.get("code")) for tag in tags] == [("2", "5"), ("2", "16")]
    assert tags[0].findtext("narrative").startswith("Goal 5. Achieve gender equality")
    locations = activity.findall("location")
    assert [loc.findtext("name/narrative") for loc in locations] == ["Nakuru", "Kisumu"]
    assert locations[0].find("location-class").get("code") == "1"
    assert locations[0].find("feature-designation").get("code") == "ADM1"


def test_nothing_is_claimed_where_nothing_is_recorded(export, reporter):
    project = ProjectFactory()
    activity = only_activity(export(project.portfolio))
    for tag in ("policy-marker", "tag", "location", "document-link", "other-identifier"):
        assert activity.find(tag) is None, tag


def test_an_activity_first_published_by_a_funder_names_that_identifier(export, reporter):
    project = ProjectFactory(code="KE-9", iati_identifier="GB-GOV-1-300123-101")
    activity = only_activity(export(project.portfolio))
    assert activity.findtext("iati-identifier") == "XM-DAC-46990-KE-9"
    other = activity.find("other-identifier")
    assert other.attrib == {"ref": "GB-GOV-1-300123-101", "type": "A9"}
    # An identifier that is the publisher's own is used as it is.
    project.iati_identifier = "XM-DAC-46990-OLD-KE-9"
    project.save()
    activity = only_activity(export(project.portfolio))
    assert activity.findtext("iati-identifier") == "XM-DAC-46990-OLD-KE-9"
    assert activity.find("other-identifier") is None


@time_machine.travel(TODAY, tick=False)
def test_result_values_are_written_to_four_decimal_places(export, reporter):
    indicator = IndicatorFactory(
        measure=Measure.PERCENTAGE, baseline_value=Decimal("0"), disaggregations=[]
    )
    for month in (1, 2, 3):
        MeasurementFactory(
            indicator=indicator,
            verified=True,
            period_start=date(2025, month, 1),
            period_end=date(2025, month, 28),
            value=None,
            numerator=Decimal("1"),
            denominator=Decimal("3") if month < 3 else Decimal("7"),
        )
    qualitative = IndicatorFactory(
        project=indicator.project,
        measure=Measure.QUALITATIVE,
        aggregation="non_cumulative",
        disaggregations=[],
    )
    activity = only_activity(export(indicator.project.portfolio))
    # Cumulative 3 of 13: 23.0769230769...%
    assert activity.xpath("result/indicator[@measure='2']//actual/@value") == ["23.0769"]
    # A score on a defined scale is ordinal (4), not a count of units.
    assert activity.xpath(
        f"result/indicator[contains(title/narrative, '{qualitative.code}')]/@measure"
    ) == ["4"]


@time_machine.travel(TODAY, tick=False)
def test_an_actual_waits_for_its_period_to_end(export, reporter):
    indicator = IndicatorFactory(disaggregations=[])
    TargetFactory(indicator=indicator, due_on=date(2026, 12, 31), value=Decimal("900"))
    MeasurementFactory(
        indicator=indicator,
        verified=True,
        period_start=date(2026, 1, 1),
        period_end=date(2026, 1, 31),
        value=Decimal("100"),
    )
    MeasurementFactory(  # ends today: reported once the day is over
        indicator=indicator,
        verified=True,
        period_start=date(2026, 2, 1),
        period_end=TODAY,
        value=Decimal("50"),
    )
    activity = only_activity(export(indicator.project.portfolio))
    periods = activity.findall("result/indicator/period")
    assert [
        (p.find("period-start").get("iso-date"), p.find("period-end").get("iso-date"))
        for p in periods
    ] == [
        ("2025-01-01", "2026-01-31"),
        ("2026-02-01", "2026-12-31"),
    ]
    assert periods[0].find("actual").get("value") == "100"
    assert periods[1].find("actual") is None
    assert periods[1].find("target").get("value") == "900"


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.SITE_URL = "https://tracker.example.org/"
    return tmp_path


def pdf(name="mid-term.pdf"):
    return SimpleUploadedFile(name, b"%PDF-1.4\n% demo report\n", content_type="application/pdf")


def test_public_evaluation_reports_become_document_links(export, reporter, media, client):
    public = EvaluationFactory(
        report=pdf(), report_is_public=True, summary="Uptake is strong among women."
    )
    EvaluationFactory(project=public.project, report=pdf("internal.pdf"))  # not for publication
    EvaluationFactory(project=public.project, report_is_public=True)  # no report to link
    activity = only_activity(export(public.project.portfolio))

    (link,) = activity.findall("document-link")
    assert link.get("format") == "application/pdf"
    url = link.get("url")
    assert url.startswith("https://tracker.example.org/api/v1/iati/documents/")
    assert link.find("category").get("code") == "A07"
    assert "Mid-term evaluation" in link.findtext("title/narrative")
    assert link.findtext("description/narrative") == "Uptake is strong among women."
    assert link.find("document-date").get("iso-date") == "2025-11-15"
    # Anyone can follow the link, signed in or not.
    response = client.get(url.removeprefix("https://tracker.example.org"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    assert response["Content-Security-Policy"] == "sandbox"


def test_reports_not_marked_public_are_not_served(reporter, media, client):
    private = EvaluationFactory(report=pdf())
    name = Path(private.report.name).name
    url = reverse("iati-document", args=[private.pk, name])
    assert client.get(url).status_code == 404
    private.report_is_public = True
    private.save()
    assert client.get(url).status_code == 200
    assert client.get(reverse("iati-document", args=[private.pk, "other.pdf"])).status_code == 404
    assert client.get(reverse("iati-document", args=[987654, name])).status_code == 404


def test_queries_do_not_grow_with_the_projects(reporter):
    portfolio = PortfolioFactory()

    def add_project():
        project = ProjectFactory(portfolio=portfolio)
        tranche = TrancheFactory(project=project, funder=reporter)
        services.disburse(tranche, Decimal("1000"), date(2025, 2, 1))
        LoanTermsFactory(tranche__project=project)
        indicator = IndicatorFactory(project=project)
        target = TargetFactory(indicator=indicator)
        MeasurementFactory(indicator=indicator, verified=True)
        PayoutTermsFactory(tranche__project=project, target=target)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            iati.write_activities(BytesIO(), portfolio, reporter)
        return len(captured)

    add_project()
    few = queries()
    for _ in range(4):
        add_project()
    assert queries() == few


# Edge cases


def test_project_without_transactions(export, reporter):
    project = ProjectFactory(status=Project.Status.PIPELINE, planned_launch_date=None)
    root = export(project.portfolio)
    activity = only_activity(root)

    assert activity.find("transaction") is None
    assert activity.find("planned-disbursement") is None
    assert activity.find("budget") is None
    assert activity.find("conditions") is None
    assert activity.find("crs-add") is None
    (partner,) = activity.findall("participating-org")
    # Without an identifier an organisation is typed; its kind is not recorded, so "Other".
    assert partner.get("role") == "4" and partner.get("ref") is None
    assert partner.get("type") == iati.ORGANISATION_TYPE_OTHER
    assert partner.findtext("narrative") == project.implementing_partner.name
    # The schema needs one activity date; a project with no plans yet gets the day it was recorded.
    assert activity.find("activity-date").get("type") == "1"
    assert activity.find("activity-status").get("code") == "1"
    assert activity.find("description").findtext("narrative") == project.title
    assert activity.find("sector").get("percentage") == "100"


@time_machine.travel(TODAY, tick=False)
def test_planned_tranche_is_a_planned_disbursement_and_an_indicative_budget(export, reporter):
    funder = FunderFactory(name="Nordic Cooperation Agency")
    tranche = TrancheFactory(
        planned=True,
        funder=funder,
        amount=Decimal("650000.00"),
        currency="EUR",
        expected_disbursement_on=date(2026, 6, 1),
    )
    activity = only_activity(export(tranche.project.portfolio))

    assert activity.find("transaction") is None  # nothing signed, nothing paid
    funding = activity.find("participating-org[@role='1']")
    assert funding.findtext("narrative") == "Nordic Cooperation Agency"
    assert funding.get("ref") is None and funding.get("type") == "10"
    (planned,) = activity.findall("planned-disbursement")
    assert planned.get("type") == "1"
    assert planned.find("period-start").get("iso-date") == "2026-04-01"
    assert planned.find("period-end").get("iso-date") == "2026-06-30"
    value = planned.find("value")
    assert (value.text, value.get("currency"), value.get("value-date")) == (
        "650000.00",
        "EUR",
        "2026-06-01",
    )
    assert planned.findtext("provider-org/narrative") == "Nordic Cooperation Agency"
    (budget,) = activity.findall("budget")
    assert (budget.get("type"), budget.get("status")) == ("1", "1")  # original, indicative
    assert budget.find("period-start").get("iso-date") == "2026-01-01"
    assert budget.find("period-end").get("iso-date") == "2026-12-31"
    assert budget.find("value").text == "650000.00"
    assert activity.find("activity-date[@type='1']").get("iso-date") == "2026-06-01"


@time_machine.travel(TODAY, tick=False)
def test_grant_commitment_disbursement_and_what_remains(export, reporter):
    project = ProjectFactory(launched=True, portfolio__reporting_currency="USD")
    tranche = TrancheFactory(
        project=project,
        funder=reporter,
        amount=Decimal("300000.00"),
        currency="EUR",
        committed_on=date(2025, 1, 10),
        expected_disbursement_on=date(2025, 2, 1),
        funder_reference="RDB-1",
        maintenance=True,
    )
    services.disburse(tranche, Decimal("100000"), date(2025, 3, 1), reference="RDB-1/1")
    cancelled = TrancheFactory(project=project, status=Tranche.Status.CANCELLED)
    activity = only_activity(export(project.portfolio))

    commitment, disbursement = activity.findall("transaction")
    assert commitment.get("ref") == "RDB-1"
    assert commitment.find("transaction-type").get("code") == "2"
    assert commitment.find("transaction-date").get("iso-date") == "2025-01-10"
    value = commitment.find("value")
    assert (value.text, value.get("currency"), value.get("value-date")) == (
        "300000.00",
        "EUR",
        "2025-01-10",
    )
    assert commitment.find("provider-org").get("ref") == "XM-DAC-46990"
    assert (
        commitment.find("receiver-org").findtext("narrative") == project.implementing_partner.name
    )
    assert commitment.find("flow-type").get("code") == "10"
    assert commitment.find("finance-type").get("code") == "110"
    assert "2025-01-01 to 2025-12-31" in commitment.find("description").findtext("narrative")
    assert disbursement.find("transaction-type").get("code") == "3"
    assert disbursement.get("ref") == "RDB-1/1"
    assert disbursement.find("value").text == "100000.00"
    # The plan stays in its quarter, as past; what it left unpaid is expected this quarter.
    original, revised = activity.findall("planned-disbursement")
    assert original.get("type") == "1"
    assert original.find("period-start").get("iso-date") == "2025-01-01"
    assert original.find("period-end").get("iso-date") == "2025-03-31"
    assert original.find("value").get("value-date") == "2025-02-01"
    assert original.find("value").text == "300000.00"
    assert revised.get("type") == "2"
    assert revised.find("period-start").get("iso-date") == "2026-01-01"
    assert revised.find("period-end").get("iso-date") == "2026-03-31"
    assert revised.find("value").get("value-date") == "2026-03-01"
    assert revised.find("value").text == "200000.00"
    assert revised.find("value").get("currency") == "EUR"
    # The maintenance it pays for is the budget of its year, committed.
    (budget,) = activity.findall("budget")
    assert (budget.get("status"), budget.find("value").text) == ("2", "300000.00")
    assert budget.find("period-start").get("iso-date") == "2025-01-01"
    # A cancelled tranche is not there at all, nor is its funder.
    assert cancelled.funder.name not in texts(activity, "participating-org/narrative")
    assert activity.find("activity-date[@type='2']").get("iso-date") == "2025-03-01"
    planned_end = activity.find("activity-date[@type='3']")
    assert planned_end.get("iso-date") == "2027-12-31"
    assert "launched on 2025-01-01" in planned_end.findtext("narrative")


def budgets_of(activity):
    return [
        (
            budget.find("period-start").get("iso-date")[:4],
            budget.get("status"),
            budget.find("value").get("currency"),
            budget.find("value").text,
        )
        for budget in activity.findall("budget")
    ]


@time_machine.travel(TODAY, tick=False)
def test_a_launched_services_plan_is_the_budget_of_its_years_else_the_tranches_are(
    export, reporter
):
    # Launched 1 January 2025, to stay funded for two years: the plan covers 2025 and 2026.
    project = ProjectFactory(
        launched=True, sustainability_months=24, portfolio__reporting_currency="USD"
    )
    TrancheFactory(project=project, funder=reporter, expected_disbursement_on=date(2024, 6, 1))
    TrancheFactory(
        project=project, funder=reporter, maintenance=True, amount=Decimal("300000"), currency="EUR"
    )
    tranches_only = [
        ("2024", "2", None, "100000.00"),  # the launch tranche
        ("2025", "2", "EUR", "300000.00"),  # the maintenance it pays for, committed
    ]
    assert budgets_of(only_activity(export(project.portfolio))) == tranches_only

    CostLine.objects.create(
        project=project, category="hosting", annual_cost=Decimal("48000"), currency="USD"
    )
    CostLine.objects.create(
        project=project,
        category="cybersecurity",
        annual_cost=Decimal("36500"),
        currency="GBP",
        starts_on=date(2026, 7, 1),  # 184 days of 2026: 18,400.00
    )
    with_plan = [
        ("2024", "2", None, "100000.00"),  # before the plan: the tranches
        ("2025", "1", None, "48000.00"),  # the plan, indicative, in each line's currency
        ("2026", "1", "GBP", "18400.00"),
        ("2026", "1", None, "48000.00"),
    ]
    assert budgets_of(only_activity(export(project.portfolio))) == with_plan

    # A closed service will not spend what its plan foresaw: its tranches are its budgets.
    Project.objects.filter(pk=project.pk).update(status=Project.Status.CLOSED)
    assert budgets_of(only_activity(export(project.portfolio))) == tranches_only


def test_changing_or_deleting_a_plan_line_moves_the_activitys_last_update(export, reporter):
    def last_updated():
        return only_activity(export(project.portfolio)).get("last-updated-datetime")

    with time_machine.travel("2026-01-10 09:00:00+00:00", tick=False):
        project = ProjectFactory(launched=True, sustainability_months=24)
        TrancheFactory(project=project, funder=reporter, maintenance=True)
        line = CostLine.objects.create(
            project=project, category="hosting", annual_cost=Decimal("48000"), currency="USD"
        )
    assert last_updated() == "2026-01-10T09:00:00+00:00"

    # The plan is the service's budgets: a new cost is news for the file's readers.
    with time_machine.travel("2026-02-03 14:30:00+00:00", tick=False):
        line.annual_cost = Decimal("52000")
        line.save()
    assert last_updated() == "2026-02-03T14:30:00+00:00"

    with time_machine.travel("2026-02-20 08:15:00+00:00", tick=False):
        line.delete()
    assert last_updated() == "2026-02-20T08:15:00+00:00"


@time_machine.travel(TODAY, tick=False)
def test_what_is_dated_after_today_has_not_happened_yet(export, reporter):
    tranche = TrancheFactory(funder=reporter, committed_on=date(2026, 5, 1))
    activity = only_activity(export(tranche.project.portfolio))
    assert activity.find("transaction") is None
    (planned,) = activity.findall("planned-disbursement")
    described = planned.find(iati.ext("tranche"))
    assert (described.get("status"), described.get("committed-on")) == ("committed", "2026-05-01")
    assert activity.find("budget").get("status") == "1"  # not signed yet: indicative


def test_loan_with_crs_add_loan_terms(export, reporter):
    terms = LoanTermsFactory(
        tranche__funder=reporter,
        tranche__committed_on=date(2025, 3, 1),
        annual_rate_percent=Decimal("0.750"),
        method="linear",
        frequency_months=3,
        tenor_months=60,
        grace_months=12,
    )
    tranche = terms.tranche
    services.disburse(tranche, Decimal("40000"), date(2025, 4, 1))
    activity = only_activity(export(tranche.project.portfolio))

    assert activity.xpath("transaction/finance-type/@code") == ["421", "421"]
    loan_terms = activity.find("crs-add/loan-terms")
    assert loan_terms.get("rate-1") == "0.75"
    assert loan_terms.find("repayment-type").get("code") == "1"  # equal principal payments
    assert loan_terms.find("repayment-plan").get("code") == "4"  # quarterly
    assert loan_terms.find("commitment-date").get("iso-date") == "2025-03-01"
    schedule = terms.schedule()
    first_principal = next(each for each in schedule if each.principal > 0)
    # Grace is interest only: the first repayment of principal comes after it.
    assert first_principal.due_on > terms.first_payment_date
    assert loan_terms.find("repayment-first-date").get("iso-date") == str(first_principal.due_on)
    assert loan_terms.find("repayment-final-date").get("iso-date") == str(schedule[-1].due_on)


@time_machine.travel(date(2026, 11, 28), tick=False)
def test_repayments_are_transactions_5_and_6_and_the_loan_status_is_in_crs_add(export, reporter):
    # 0.75% a year, quarterly, one year of grace from 30 Jun 2026: 40,000.00 out since
    # 1 Apr 2025. Interest paid on the 30 Jun and 30 Sep instalments, 1,000.00 of principal
    # prepaid; the instalments are interest only, so nothing else is due by 28 Nov 2026.
    terms = LoanTermsFactory(
        tranche__funder=reporter,
        tranche__committed_on=date(2025, 3, 1),
        annual_rate_percent=Decimal("0.750"),
        method="linear",
        frequency_months=3,
        tenor_months=60,
        grace_months=12,
    )
    tranche = terms.tranche
    services.disburse(tranche, Decimal("40000"), date(2025, 4, 1))
    status = selectors.loan_statuses([tranche], date(2026, 9, 30))[tranche.pk]
    first, second = status.lines[:2]
    services.record_repayment(tranche, date(2026, 6, 30), 0, first.instalment.interest, "R1")
    services.record_repayment(
        tranche, date(2026, 9, 30), Decimal("1000"), second.instalment.interest, "R2"
    )
    activity = only_activity(export(tranche.project.portfolio))

    kinds = activity.xpath("transaction/transaction-type/@code")
    assert kinds == ["2", "3", "5", "5", "6"]  # by date, then by kind
    (principal,) = activity.xpath("transaction[transaction-type/@code='6']")
    assert principal.find("value").text == "1000.00"
    assert principal.get("ref") == "R2"
    # Money coming back: the implementer provides it, the funder receives it.
    assert principal.find("receiver-org").get("ref") == reporter.iati_identifier
    loan_status = activity.find("crs-add/loan-status")
    assert (loan_status.get("year"), loan_status.get("value-date")) == ("2026", "2026-11-28")
    interest = first.instalment.interest + second.instalment.interest
    assert loan_status.findtext("interest-received") == f"{interest:f}"
    assert loan_status.findtext("principal-outstanding") == "39000.00"
    assert loan_status.findtext("principal-arrears") == "0.00"
    assert loan_status.findtext("interest-arrears") == "0.00"


@time_machine.travel(TODAY, tick=False)
def test_results_based_tranche_is_a_grant_with_a_performance_condition(export, reporter):
    terms = PayoutTermsFactory(
        tranche__funder=reporter,
        tranche__funder_reference="RDB-2601",
        rule=PayoutRule.PRO_RATA,
        minimum_achievement=Decimal("0.25"),
        target__value=Decimal("400000"),
        target__due_on=date(2026, 12, 31),
        target__indicator__unit="people",
        target__indicator__code="ID-OUT-1",
    )
    indicator = terms.target.indicator
    TargetFactory(indicator=indicator, due_on=date(2025, 12, 31), value=Decimal("150000"))
    TargetFactory(
        indicator=indicator,
        due_on=date(2025, 12, 31),
        value=Decimal("70000"),
        disaggregation="sex:female",
    )
    MeasurementFactory(
        indicator=indicator,
        verified=True,
        period_start=date(2025, 1, 1),
        period_end=date(2025, 3, 31),
        value=Decimal("40000"),
    )
    MeasurementFactory(
        indicator=indicator,
        verified=True,
        period_start=date(2025, 4, 1),
        period_end=date(2025, 6, 30),
        value=Decimal("35000"),
    )
    MeasurementFactory(  # not verified: never reported
        indicator=indicator,
        period_start=date(2025, 7, 1),
        period_end=date(2025, 9, 30),
        value=Decimal("99999"),
    )
    activity = only_activity(export(terms.tranche.project.portfolio))

    assert activity.xpath("transaction/finance-type/@code") == ["110"]
    conditions = activity.find("conditions")
    assert conditions.get("attached") == "1"
    condition = conditions.find("condition")
    assert condition.get("type") == "2"
    said = condition.findtext("narrative")
    assert "RDB-2601" in said and "ID-OUT-1" in said and "400000 people by 2026-12-31" in said
    assert "pro rata" in said and "25%" in said

    result = activity.find("result")
    assert result.get("type") == "1"
    element = result.find("indicator")
    assert element.get("measure") == "1" and element.get("ascending") == "1"
    assert element.find("baseline").get("year") == "2025"
    measured, first, second = element.findall("period")
    # The last day measured closes a period of its own, so the verified value is reported
    # on a period that has ended; the target's period keeps the target.
    assert measured.find("period-start").get("iso-date") == "2025-01-01"
    assert measured.find("period-end").get("iso-date") == "2025-06-30"
    assert measured.find("target") is None
    # Cumulative: the verified quarters add up; the unverified one does not count.
    (actual,) = measured.findall("actual")
    assert actual.get("value") == "75000"
    assert "2025-06-30" in actual.findtext("comment/narrative")
    assert first.find("period-start").get("iso-date") == "2025-07-01"
    assert first.find("period-end").get("iso-date") == "2025-12-31"
    assert [t.get("value") for t in first.findall("target")] == ["150000", "70000"]
    assert first.find("target[2]/dimension").attrib == {"name": "sex", "value": "female"}
    assert first.find("actual") is None
    assert second.find("period-start").get("iso-date") == "2026-01-01"
    assert second.find("target").get("value") == "400000"
    assert second.find("actual") is None


def test_results_based_tranche_without_payout_terms_yet(export, reporter):
    tranche = TrancheFactory(instrument=Instrument.RESULTS_BASED, funder=reporter)
    activity = only_activity(export(tranche.project.portfolio))
    said = activity.findtext("conditions/condition/narrative")
    assert "still to be agreed" in said


def test_non_ascii_and_control_characters(export, schema, reporter):
    partner = ImplementerFactory(name="Agence de l'État numérique — Sénégal")
    project = ProjectFactory(
        code="SN-CRVS-01",
        country="SN",
        title="Registre d'état civil — Sénégal",
        description="Numérisation des actes de naissance.\x0bÇa marche · 出生登记 😀",
        implementing_partner=partner,
    )
    out = BytesIO()
    iati.write_activities(out, project.portfolio, reporter)
    assert out.getvalue().startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    assert "Registre d'état civil — Sénégal".encode() in out.getvalue()
    activity = only_activity(export(project.portfolio))
    assert activity.findtext("title/narrative") == "Registre d'état civil — Sénégal"
    assert activity.findtext("description/narrative") == (
        "Numérisation des actes de naissance.Ça marche · 出生登记 😀"
    )
    assert activity.findtext("participating-org/narrative") == partner.name
    assert activity.get("{http://www.w3.org/XML/1998/namespace}lang") == "en"


def test_target_groups_become_a_description(export, reporter):
    project = ProjectFactory(target_groups=["women", "rural"])
    # The narratives are declared English, whatever language the request came in.
    with translation.override("fr"):
        activity = only_activity(export(project.portfolio))
    (groups,) = activity.findall("description[@type='3']")
    assert groups.findtext("narrative") == "Target groups: Women, Rural population."


# The reporting organisation


def test_reporting_org_by_identifier(export, reporter):
    other = FunderFactory(
        iati_identifier="GB-CHC-1187654", funder_type=Organisation.FunderType.PHILANTHROPY
    )
    project = ProjectFactory(code="KE-1")
    activity = only_activity(export(project.portfolio, reporting_org="GB-CHC-1187654"))
    assert activity.find("reporting-org").attrib == {"ref": "GB-CHC-1187654", "type": "60"}
    assert activity.findtext("reporting-org/narrative") == other.name
    assert activity.findtext("iati-identifier") == "GB-CHC-1187654-KE-1"


def test_reporting_org_without_identifier_is_refused_by_name():
    funder = FunderFactory(name="Quiet Donor", funder_type=Organisation.FunderType.PRIVATE)
    project = ProjectFactory()
    out = BytesIO()
    with pytest.raises(iati.ExportError, match="Quiet Donor has no IATI organisation identifier"):
        iati.write_activities(out, project.portfolio, funder)
    assert out.getvalue() == b""  # nothing is written before the checks pass


def test_reporting_org_without_funder_type_is_refused():
    partner = ImplementerFactory(name="Savanna Digital Works", iati_identifier="KE-NCB-12345")
    project = ProjectFactory()
    with pytest.raises(iati.ExportError, match="Savanna Digital Works has no funder type"):
        iati.write_activities(BytesIO(), project.portfolio, partner)


def test_unknown_reporting_org_identifier_is_refused():
    project = ProjectFactory()
    with pytest.raises(iati.ExportError, match="XX-NONE-1") as raised:
        iati.write_activities(BytesIO(), project.portfolio, "XX-NONE-1")
    assert raised.value.field == "reporting_org"


def test_default_reporting_org_needs_exactly_one_managing_organisation(export, reporter):
    project = ProjectFactory()
    with pytest.raises(iati.ExportError, match="no organisation"):
        iati.write_activities(BytesIO(), project.portfolio)
    MembershipFactory(organisation=reporter, role=Role.PORTFOLIO_MANAGER)
    activity = only_activity(export(project.portfolio, reporting_org=None))
    assert activity.find("reporting-org").get("ref") == "XM-DAC-46990"
    MembershipFactory(role=Role.PORTFOLIO_MANAGER)
    with pytest.raises(iati.ExportError, match="several organisations"):
        iati.write_activities(BytesIO(), project.portfolio)


def test_portfolio_without_projects_is_refused(reporter):
    # iati-activities must hold at least one iati-activity.
    portfolio = PortfolioFactory(name="Empty Fund")
    with pytest.raises(iati.ExportError, match="Empty Fund has no projects") as raised:
        iati.write_activities(BytesIO(), portfolio, reporter)
    assert raised.value.field == "portfolio"


# The command


def test_command_writes_the_file(tmp_path, schema, reporter):
    project = ProjectFactory(portfolio__name="Digital Fund")
    out = tmp_path / "activities.xml"
    stdout = StringIO()
    call_command(
        "export_iati",
        portfolio="Digital Fund",
        out=str(out),
        reporting_org="XM-DAC-46990",
        stdout=stdout,
    )
    assert "Wrote 1 IATI activities of Digital Fund" in stdout.getvalue()
    assert schema.validate(etree.parse(str(out)))
    assert list(tmp_path.iterdir()) == [out]
    # By id too.
    call_command(
        "export_iati",
        portfolio=str(project.portfolio.pk),
        out=str(out),
        reporting_org="XM-DAC-46990",
        stdout=stdout,
    )


def test_command_refuses_an_unknown_portfolio(tmp_path):
    PortfolioFactory(name="Digital Fund")
    with pytest.raises(
        CommandError, match="No portfolio is named or numbered 'Nope'.*Digital Fund"
    ):
        call_command("export_iati", portfolio="Nope", out=str(tmp_path / "a.xml"))
    assert not list(tmp_path.iterdir())


def test_command_error_leaves_the_previous_file_alone(tmp_path):
    project = ProjectFactory()
    out = tmp_path / "activities.xml"
    out.write_text("previous export")
    with pytest.raises(CommandError, match="reporting organisation is not known"):
        call_command("export_iati", portfolio=str(project.portfolio.pk), out=str(out))
    assert out.read_text() == "previous export"
    assert list(tmp_path.iterdir()) == [out]


def test_command_refuses_an_unwritable_place(tmp_path, reporter):
    project = ProjectFactory()
    with pytest.raises(CommandError, match="Cannot write"):
        call_command(
            "export_iati",
            portfolio=project.portfolio.name,
            out=str(tmp_path / "missing" / "a.xml"),
            reporting_org="XM-DAC-46990",
        )
    with pytest.raises(CommandError, match="is a folder"):
        call_command(
            "export_iati",
            portfolio=project.portfolio.name,
            out=str(tmp_path),
            reporting_org="XM-DAC-46990",
        )


def test_command_needs_its_options():
    with pytest.raises(CommandError, match="--portfolio"):
        call_command("export_iati", out="a.xml")


# The API endpoint

URL = "/api/v1/iati/activities.xml"


@pytest.fixture
def finance_client(client, reporter):
    user = UserFactory()
    MembershipFactory(user=user, organisation=reporter, role=Role.FINANCE)
    MembershipFactory(organisation=reporter, role=Role.PORTFOLIO_MANAGER)
    client.force_login(user)
    return client


def test_endpoint_url_is_named():
    assert reverse("iati-activities") == URL


def test_endpoint_downloads_the_file(finance_client, schema):
    project = ProjectFactory(portfolio__name="Digital Fund")
    response = finance_client.get(URL, {"portfolio": project.portfolio.pk})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/xml")
    assert (
        response["Content-Disposition"] == 'attachment; filename="iati-activities-digital-fund.xml"'
    )
    root = etree.fromstring(response.content)
    assert schema.validate(root), schema.error_log
    assert root.findtext("iati-activity/reporting-org/narrative") == "Regional Development Bank"


def test_endpoint_refuses_anonymous_users(client):
    project = ProjectFactory()
    response = client.get(URL, {"portfolio": project.portfolio.pk})
    assert response.status_code in (401, 403)


def test_endpoint_hides_from_users_without_a_role(client):
    project = ProjectFactory()
    client.force_login(UserFactory())
    assert client.get(URL, {"portfolio": project.portfolio.pk}).status_code == 404


@pytest.mark.parametrize("value", [None, "", "abc", "1.5", "-1", "²", "9" * 30])
def test_endpoint_names_a_bad_portfolio_parameter(finance_client, value):
    params = {} if value is None else {"portfolio": value}
    response = finance_client.get(URL, params, HTTP_ACCEPT="application/xml")
    assert response.status_code == 400
    assert "portfolio" in response.json()


def test_endpoint_names_an_unknown_portfolio(finance_client):
    response = finance_client.get(URL, {"portfolio": 987654})
    assert response.status_code == 400
    assert response.json() == {"portfolio": ["No portfolio has the id 987654."]}


def test_endpoint_names_a_bad_reporting_org(finance_client):
    project = ProjectFactory()
    response = finance_client.get(
        URL, {"portfolio": project.portfolio.pk, "reporting_org": "XX-NONE-1"}
    )
    assert response.status_code == 400
    assert "XX-NONE-1" in response.json()["reporting_org"][0]


def test_endpoint_names_an_empty_portfolio(finance_client):
    portfolio = PortfolioFactory()
    response = finance_client.get(URL, {"portfolio": portfolio.pk})
    assert response.status_code == 400
    assert "no projects" in response.json()["portfolio"][0]


def test_endpoint_is_in_the_openapi_schema(admin_client):
    response = admin_client.get(reverse("api-schema"), HTTP_ACCEPT="application/json")
    operation = response.json()["paths"][URL]["get"]
    assert "application/xml" in operation["responses"]["200"]["content"]
    assert {p["name"] for p in operation["parameters"]} >= {"portfolio", "reporting_org"}


# The admin action


def changelist():
    return reverse("admin:portfolio_portfolio_changelist")


def test_admin_action_downloads_the_file(admin_client, reporter, schema):
    MembershipFactory(organisation=reporter, role=Role.PORTFOLIO_MANAGER)
    project = ProjectFactory()
    response = admin_client.post(
        changelist(),
        {"action": "export_iati_xml", "_selected_action": [project.portfolio.pk]},
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/xml")
    assert "attachment" in response["Content-Disposition"]
    assert schema.validate(etree.fromstring(response.content)), schema.error_log


def test_admin_action_explains_what_it_cannot_do(admin_client):
    first, second = ProjectFactory(), ProjectFactory()
    response = admin_client.post(
        changelist(),
        {
            "action": "export_iati_xml",
            "_selected_action": [first.portfolio.pk, second.portfolio.pk],
        },
        follow=True,
    )
    assert "Select one portfolio" in response.content.decode()
    response = admin_client.post(
        changelist(),
        {"action": "export_iati_xml", "_selected_action": [first.portfolio.pk]},
        follow=True,
    )
    assert "reporting organisation is not known" in response.content.decode()


# Standard indicators: references and combined disaggregations


@time_machine.travel(date(2026, 3, 1), tick=False)
def test_an_adopting_indicator_names_its_standard_and_reports_rural_women(export, reporter):
    standard = StandardIndicatorFactory(
        sdg_indicator="16.9.1", iati_vocabulary="99", iati_code="DPS-ID-1"
    )
    indicator = IndicatorFactory(
        project=ProjectFactory(portfolio=standard.portfolio),
        standard=standard,
        unit="people",
        disaggregations=["sex", "location"],
    )
    TargetFactory(
        indicator=indicator, disaggregation="location:rural+sex:female", value=Decimal(50)
    )
    MeasurementFactory(indicator=indicator, value=Decimal(100), verified=True)
    MeasurementFactory(
        indicator=indicator,
        value=Decimal(30),
        disaggregation="location:rural+sex:female",
        verified=True,
    )

    activity = only_activity(export(standard.portfolio))  # checked against the schema

    element = activity.find("result/indicator")
    assert [(r.get("vocabulary"), r.get("code")) for r in element.findall("reference")] == [
        ("9", "16.9.1"),
        ("99", "DPS-ID-1"),
    ]
    assert {"9", "99"} <= iati.codelist("IndicatorVocabulary")
    actual = element.xpath("period/actual[dimension]")[0]
    assert actual.get("value") == "30"
    assert [(d.get("name"), d.get("value")) for d in actual.findall("dimension")] == [
        ("location", "rural"),
        ("sex", "female"),
    ]
    target = element.xpath("period/target[dimension]")[0]
    assert len(target.findall("dimension")) == 2


def test_an_indicator_without_a_standard_has_no_reference(export, reporter):
    indicator = IndicatorFactory(disaggregations=[])
    activity = only_activity(export(indicator.project.portfolio))
    assert activity.find("result/indicator/reference") is None

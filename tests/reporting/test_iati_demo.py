"""The IATI export of the demo portfolio: valid, coded from the codelists, and whole. The demo
is seeded once for the module (tests/conftest.py); these tests only read it."""

from collections import defaultdict
from datetime import date
from decimal import Decimal
from io import BytesIO

import pytest
from django.utils import timezone
from lxml import etree

from funding import selectors
from funding.models import Tranche
from projects.models import Project
from reporting import iati, iati_plans
from tests.reporting.test_iati import texts

pytestmark = pytest.mark.django_db

# Where the export writes a code, and the codelist it must come from.
CODES = [
    ("/iati-activities/@version", "Version"),
    ("//iati-activity/@xml:lang", "Language"),
    ("//activity-status/@code", "ActivityStatus"),
    ("//activity-date/@type", "ActivityDateType"),
    ("//description/@type", "DescriptionType"),
    ("//reporting-org/@type", "OrganisationType"),
    ("//participating-org/@role", "OrganisationRole"),
    ("//participating-org/@type", "OrganisationType"),
    ("//provider-org/@type", "OrganisationType"),
    ("//receiver-org/@type", "OrganisationType"),
    ("//other-identifier/@type", "OtherIdentifierType"),
    ("//recipient-country/@code", "Country"),
    ("//location-reach/@code", "GeographicLocationReach"),
    ("//location-class/@code", "GeographicLocationClass"),
    ("//feature-designation/@code", "LocationType"),
    ("//sector/@vocabulary", "SectorVocabulary"),
    ("//sector[@vocabulary='1']/@code", "Sector"),
    ("//tag/@vocabulary", "TagVocabulary"),
    ("//tag[@vocabulary='2']/@code", "UNSDG-Goals"),
    ("//policy-marker/@vocabulary", "PolicyMarkerVocabulary"),
    ("//policy-marker/@code", "PolicyMarker"),
    ("//policy-marker/@significance", "PolicySignificance"),
    ("//default-aid-type/@vocabulary", "AidTypeVocabulary"),
    ("//default-aid-type[@vocabulary='1']/@code", "AidType"),
    ("//budget/@type", "BudgetType"),
    ("//budget/@status", "BudgetStatus"),
    ("//planned-disbursement/@type", "BudgetType"),
    ("//transaction-type/@code", "TransactionType"),
    ("//flow-type/@code", "FlowType"),
    ("//finance-type/@code", "FinanceType"),
    ("//document-link/@format", "FileFormat"),
    ("//document-link/category/@code", "DocumentCategory"),
    ("//condition/@type", "ConditionType"),
    ("//result/@type", "ResultType"),
    ("//indicator/@measure", "IndicatorMeasure"),
    ("//indicator/reference/@vocabulary", "IndicatorVocabulary"),
    ("//loan-terms/repayment-type/@code", "LoanRepaymentType"),
    ("//loan-terms/repayment-plan/@code", "LoanRepaymentPeriod"),
    ("//iati-activity/@default-currency", "Currency"),
    ("//value/@currency", "Currency"),
]

# The children of iati-activity the export writes, in the order the schema requires.
ACTIVITY_ORDER = [
    "iati-identifier",
    "reporting-org",
    "title",
    "description",
    "participating-org",
    "other-identifier",
    "activity-status",
    "activity-date",
    "recipient-country",
    "location",
    "sector",
    "tag",
    "policy-marker",
    "default-aid-type",
    "budget",
    "planned-disbursement",
    "transaction",
    "document-link",
    "conditions",
    "result",
    "crs-add",
    iati.ext("project"),  # the extension comes last, where the schema lets other namespaces in
]


def test_demo_portfolio_is_valid_iati_reported_by_the_managers_organisation(schema, demo):
    out = BytesIO()
    written = iati.write_activities(out, demo)
    root = etree.fromstring(out.getvalue())

    assert schema.validate(root), schema.error_log
    assert written == Project.objects.filter(portfolio=demo).count() == 13
    assert root.get("version") == "2.03"
    # The demo's portfolio manager works for the bank, which therefore reports.
    assert set(root.xpath("//reporting-org/@ref")) == {"XM-DAC-46990"}
    assert texts(root, "iati-activity/iati-identifier")[0].startswith("XM-DAC-46990-")
    identifiers = texts(root, "iati-activity/iati-identifier")
    assert len(set(identifiers)) == 13
    assert "XM-DAC-46990-KE-ID-01" in identifiers


def test_every_code_the_demo_export_writes_is_in_the_shipped_codelist(demo, export):
    root = export(demo, reporting_org=None)
    for path, name in CODES:
        written = set(root.xpath(path))
        assert written <= iati.codelist(name), (path, written - iati.codelist(name))
    # The demo uses most of the mappings; all of them must hold codes of their codelist.
    # Commitments and disbursements; interest received on the demo loans (and principal, once
    # their grace has ended).
    assert {"2", "3", "5"} <= set(root.xpath("//transaction-type/@code")) <= {"2", "3", "5", "6"}
    assert set(root.xpath("//finance-type/@code")) == {"110", "421"}


def test_activity_children_come_in_schema_order(demo, export):
    root = export(demo, reporting_org=None)
    for activity in root.findall("iati-activity"):
        tags = [child.tag for child in activity]
        assert set(tags) <= set(ACTIVITY_ORDER)
        positions = [ACTIVITY_ORDER.index(tag) for tag in tags]
        assert positions == sorted(positions), tags


def test_demo_values_carry_value_dates_and_foreign_currencies(demo, export):
    root = export(demo, reporting_org=None)
    values = root.findall(".//value")
    assert values
    assert all(value.get("value-date") for value in values)
    assert {value.get("currency") for value in values} == {None, "EUR", "GBP", "KES"}
    assert root.get("generated-datetime").endswith("+00:00")
    stamps = root.xpath("//iati-activity/@last-updated-datetime")
    assert len(stamps) == 13 and all(stamp.endswith("+00:00") for stamp in stamps)


def test_the_closed_demo_project_ends_and_the_cancelled_one_too(demo, export):
    root = export(demo, reporting_org=None)
    statuses = dict(
        zip(
            texts(root, "iati-activity/iati-identifier"),
            root.xpath("//activity-status/@code"),
            strict=True,
        )
    )
    assert statuses["XM-DAC-46990-GH-PROC-01"] == "4"
    assert statuses["XM-DAC-46990-NP-DL-01"] == "5"
    assert statuses["XM-DAC-46990-RW-BIZ-01"] == "1"
    assert statuses["XM-DAC-46990-KE-ID-01"] == "2"
    ended = root.xpath(
        "//iati-activity[iati-identifier='XM-DAC-46990-GH-PROC-01']/activity-date[@type='4']"
    )
    assert len(ended) == 1


def test_the_demo_plans_are_the_budgets_of_their_years_as_the_sustainability_sheet_has_them(
    demo, export
):
    """A launched service's plan in the reporting currency: each year of its window is budgeted
    at the plan's cost of that year as the workbook shows it (funding.selectors.project_plan),
    indicative; its maintenance tranches pay days of the window only, so they add nothing."""
    root = export(demo, reporting_org=None)
    today = timezone.localdate()
    for code in ("KE-ID-01", "NP-LAND-01"):
        project = Project.objects.get(portfolio=demo, code=code)
        plan = selectors.project_plan(project, today)
        assert plan.currency == "USD" and not plan.unconverted
        cost = defaultdict(Decimal)
        for line in plan.lines:
            for year in line.years:
                cost[year.year] += year.cost
        activity = root.xpath(f"//iati-activity[iati-identifier='XM-DAC-46990-{code}']")[0]
        found = {}
        for budget in activity.iter("budget"):
            year = int(budget.find("period-start").get("iso-date")[:4])
            if plan.window.start.year <= year <= plan.window.end.year:
                value = budget.find("value")
                assert (budget.get("status"), value.get("currency")) == ("1", None), code
                found[year] = Decimal(value.text)
        assert found == cost, code


def test_demo_file_holds_all_the_money_and_clean_results(demo, export):
    """What the issue found missing or noisy in the demo's file, checked on the whole file."""
    root = export(demo, reporting_org=None)
    today = timezone.localdate()
    tranches = Tranche.objects.filter(project__portfolio=demo).exclude(status="cancelled")

    # Planned tranches (EUR 1.9M and USD 250k in the demo) are planned disbursements.
    planned = defaultdict(Decimal)
    for line in root.iter("planned-disbursement"):
        described = line.find(iati.ext("tranche"))
        if described.get("status") == "planned":
            value = line.find("value")
            planned[value.get("currency") or "USD"] += Decimal(value.text)
    assert planned == {"EUR": Decimal("1900000.00"), "USD": Decimal("250000.00")}
    # Each with its type, period and value date; a revised line is this quarter's.
    this_quarter = iati_plans.quarter(today)
    for line in root.iter("planned-disbursement"):
        start = date.fromisoformat(line.find("period-start").get("iso-date"))
        end = date.fromisoformat(line.find("period-end").get("iso-date"))
        assert line.get("type") in {"1", "2"} and start <= end
        assert line.find("value").get("value-date")
        if line.get("type") == "2":
            assert (start, end) == this_quarter
    # Money still to pay is always expected in a period that has not ended.
    for activity in root.iter("iati-activity"):
        ahead = {
            line.find(iati.ext("tranche")).get("reference")
            for line in activity.iter("planned-disbursement")
            if date.fromisoformat(line.find("period-end").get("iso-date")) >= today
        }
        code = activity.find(iati.ext("project")).get("code")
        for tranche in tranches.filter(project__code=code):
            if tranche.undisbursed_amount > 0:
                assert tranche.funder_reference in ahead, tranche.funder_reference

    # Budgets by year add up to the tranches, per currency, each at most a year long, for
    # projects without a launched service's plan (the plans: the test below).
    with_plans = set(
        Project.objects.filter(portfolio=demo, status=Project.Status.LAUNCHED)
        .filter(cost_lines__isnull=False)
        .values_list("code", flat=True)
    )
    assert with_plans == {"KE-ID-01", "NP-LAND-01", "PE-MIG-01"}
    budgeted = defaultdict(Decimal)
    for activity in root.iter("iati-activity"):
        if activity.find(iati.ext("project")).get("code") in with_plans:
            continue
        for budget in activity.iter("budget"):
            assert budget.get("type") == "1" and budget.get("status") in {"1", "2"}
            value = budget.find("value")
            budgeted[value.get("currency") or "USD"] += Decimal(value.text)
    expected = defaultdict(Decimal)
    for tranche in tranches.exclude(project__code__in=with_plans):
        expected[tranche.currency] += tranche.amount
    assert budgeted == expected

    # Every organisation has an identifier, or a type and a name.
    for tag in ("participating-org", "provider-org", "receiver-org", "reporting-org"):
        for org in root.iter(tag):
            assert org.get("ref") or (org.get("type") and org.findtext("narrative")), tag
    # The demo's organisations all have identifiers with registered prefixes.
    prefixes = iati.codelist("OrganisationRegistrationAgency")
    refs = set(root.xpath("//@ref[parent::participating-org or parent::provider-org]"))
    refs |= set(root.xpath("//receiver-org/@ref"))
    assert refs and all("-".join(ref.split("-")[:2]) in prefixes for ref in refs)
    assert not root.xpath("//receiver-org[not(@ref)]")
    assert all(sector.get("percentage") == "100" for sector in root.iter("sector"))

    # Results: at most four decimal places; actuals only on periods that have ended.
    values = root.xpath("//actual/@value | //target/@value | //baseline/@value")
    assert values and all(len(value.partition(".")[2]) <= 4 for value in values)
    for actual in root.iter("actual"):
        end = actual.getparent().find("period-end").get("iso-date")
        assert date.fromisoformat(end) < today

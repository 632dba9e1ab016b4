"""Load a believable demo portfolio of digital public-service pilots, dated relative to today."""

import re
from datetime import date
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from devtools.demo_plans import PLANS, SUSTAINABILITY_MONTHS, seed_plans
from devtools.demo_results import seed_results
from devtools.demo_standards import seed_standards
from funding import loans, selectors, services
from funding.models import LoanTerms, Tranche
from funding.scan import scan_lapses
from funding.signals import rescans_paused
from portfolio.models import ExchangeRate, Membership, Organisation, Portfolio, Role
from projects.models import CostCategory, CostLine, Project

DEMO_PASSWORD = "demo-password"  # noqa: S105 - the published demo login (README)

PORTFOLIO_NAME = "Digital Public Services Fund"
PORTFOLIO = {
    "reporting_currency": "USD",
    "lapse_warning_days": 90,
    "reminder_days": [180, 90, 30],
}

# Dates are written relative to an anchor: "today", the project's "launch" (actual, or
# planned before go-live) or the "end" of its obligation window, plus or minus days (d),
# months (m) or years (y), applied left to right: "launch+24m-1d".

# fmt: off
# key          name                                   parts        funder type          country  IATI identifier
ORGANISATIONS = [
    ("bank",      "Regional Development Bank",          "funder",      "multilateral_bank", "CI", "XM-DAC-46990"),
    ("agency",    "Nordic Cooperation Agency",          "funder",      "bilateral_donor",   "FI", "XI-IATI-NCA01"),
    ("foundation", "Open Futures Foundation",           "funder",      "philanthropy",      "GB", "GB-CHC-1187654"),
    ("savanna",   "Savanna Digital Works",              "implementer", "",                  "KE", "KE-RCO-PVT-7LU2XQ9B"),
    ("kigali",    "Kigali Health Informatics",          "implementer", "",                  "RW", "RW-RGB-1082"),
    ("accra",     "Accra Civic Tech Cooperative",       "implementer", "",                  "GH", "GH-RGD-CS041562019"),
    ("dhaka",     "Dhaka Digital Services Trust",       "implementer", "",                  "BD", "BD-NAB-2841"),
    ("himalaya",  "Himalaya GovTech",                   "implementer", "",                  "NP", "NP-CRO-178452"),
    ("andes",     "Andes Digital Public Services",      "implementer", "",                  "PE", "PE-RUC-20601234567"),
    ("manila",    "Manila Health Systems Lab",          "implementer", "",                  "PH", "PH-SEC-CS201912345"),
    ("evaluator", "Meridian Evaluation Partners",       "evaluator",   "",                  "GB", "GB-COH-09876543"),
    ("lumen",     "Lumen Impact Verification",          "evaluator",   "",                  "ZA", ""),
]

# username     first     last        role                     organisation  staff + superuser
USERS = [
    ("officer",   "Amina",  "Njoroge",  Role.DONOR_OFFICER,     "bank",      False),
    ("officer2",  "Lukas",  "Virtanen", Role.DONOR_OFFICER,     "agency",    False),
    ("evaluator", "Priya",  "Raman",    Role.EVALUATOR,         "evaluator", False),
    ("finance",   "Daniel", "Mensah",   Role.FINANCE,           "bank",      False),
    ("manager",   "Sofía",  "Quispe",   Role.PORTFOLIO_MANAGER, "bank",      True),
    # Reports the results of Andes' projects (the results-based PE-MIG-01); verifies nothing.
    ("implementer", "Mateo", "Huamán",  Role.IMPLEMENTER,       "andes",     False),
    # A second, independent firm: verifies what the first evaluator changed or reported.
    ("evaluator2", "Thandi", "Mokoena", Role.EVALUATOR,         "lumen",     False),
]

# Who records the disbursements of each funder's tranches.
# The foundation has no officer here; the portfolio manager records its payments.
RECORDED_BY = {"bank": "officer", "agency": "officer2", "foundation": "manager"}

# One US dollar value per currency, around which the demo's rates move from month to month.
USD_RATES = {"EUR": Decimal("1.0850"), "GBP": Decimal("1.2700"), "KES": Decimal("0.00775")}
MONTHLY_MOVE_PER_MILLE = (0, 4, -3, 6, 2, -5, 1, 7, -2, 3, -6, 5)

# The launched projects each show one situation of the lapse scan:
#   KE-ID-01 fully covered        RW-EHR-01 lapsed five weeks ago (renewal cancelled)
#   GH-PAY-01 at risk (ends in 60 days, nothing planned)
#   SN-CRVS-01 unsecured (ends in 45 days, a planned tranche covers the rest)
#   BD-SCH-01 no maintenance tranche at all     NP-LAND-01 underfunded
#   PE-MIG-01 fully covered, with a results-based tranche
# CO-PAY-01 has a committed tranche whose expected disbursement date has passed.
# GH-PROC-01 was closed within its obligation window. Sustainability plans: devtools/demo_plans;
# a project without one there that has an annual upkeep here gets it as its plan's one line.
# code          country sector   partner     status          launch       annual upkeep   target groups            title
PROJECTS = [
    ("KE-ID-01",   "KE", "15110", "savanna",  "launched",     "today-14m", "",            "women,rural",           "Digital identity and e-KYC for public services"),
    ("RW-EHR-01",  "RW", "12110", "kigali",   "launched",     "today-20m", "",            "women,rural",           "Electronic health records for district hospitals"),
    ("GH-PAY-01",  "GH", "16010", "accra",    "launched",     "today-10m", "",            "low_income,women",      "Mobile payment of social cash transfers"),
    ("SN-CRVS-01", "SN", "13010", "accra",    "launched",     "today-8m",  "",            "rural",                 "Digital birth and death registration"),
    ("BD-SCH-01",  "BD", "11110", "dhaka",    "launched",     "today-5m",  "",            "youth,low_income",      "Online school enrolment and stipends"),
    ("NP-LAND-01", "NP", "15110", "himalaya", "launched",     "today-6m",  "",            "rural,women",           "Digital land registry and cadastre"),
    ("PE-MIG-01",  "PE", "15190", "andes",    "launched",     "today-3m",  "",            "",                      "Online residence permits for migrants"),
    ("CO-PAY-01",  "CO", "24030", "andes",    "implementing", "today+4m",  "",            "low_income",            "Instant payments for small market traders"),
    ("KE-AGRI-01", "KE", "31110", "savanna",  "implementing", "today+6m",  "KES 18,000,000", "rural,youth",     "E-vouchers for farm inputs"),
    ("PH-TEL-01",  "PH", "12220", "manila",   "approved",     "today+14m", "",            "rural,older_adults",    "Telemedicine referrals for rural health units"),
    ("RW-BIZ-01",  "RW", "25010", "kigali",   "pipeline",     "today+20m", "",            "youth,women",           "One-stop online business registration"),
    ("GH-PROC-01", "GH", "15125", "accra",    "closed",       "today-30m", "",            "",                      "Electronic public procurement portal"),
    ("NP-DL-01",   "NP", "21020", "himalaya", "cancelled",    "",          "",            "",                      "Digital driving licences"),
]

# project       funder        reference      instrument       purpose        amount               status       signed        expected      covers from   covers until
TRANCHES = [
    ("KE-ID-01",   "bank",       "RDB-2201",   "grant",         "launch",      "USD 2,400,000",    "committed", "launch-22m", "launch-20m", "",           ""),
    ("KE-ID-01",   "bank",       "RDB-2202",   "grant",         "maintenance", "USD 700,000",      "committed", "launch-2m",  "launch",     "launch",     "launch+24m-1d"),
    ("KE-ID-01",   "foundation", "OFF-1101",   "grant",         "capacity",    "GBP 180,000",      "committed", "launch-10m", "launch-9m",  "",           ""),
    ("KE-ID-01",   "bank",       "RDB-2203",   "grant",         "maintenance", "KES 45,000,000",   "committed", "today-1m",   "launch+23m", "launch+24m", "end"),
    ("RW-EHR-01",  "agency",     "NCA-RW-301", "grant",         "launch",      "EUR 1,800,000",    "committed", "launch-24m", "launch-23m", "",           ""),
    ("RW-EHR-01",  "agency",     "NCA-RW-302", "grant",         "maintenance", "EUR 420,000",      "committed", "launch-1m",  "launch",     "launch",     "today-35d"),
    ("RW-EHR-01",  "agency",     "NCA-RW-303", "grant",         "maintenance", "EUR 400,000",      "cancelled", "",           "",           "today-34d",  "end"),
    ("GH-PAY-01",  "bank",       "RDB-2301",   "loan",          "launch",      "USD 3,000,000",    "committed", "launch-14m", "launch-13m", "",           ""),
    ("GH-PAY-01",  "foundation", "OFF-1102",   "grant",         "maintenance", "GBP 250,000",      "committed", "launch-1m",  "launch",     "launch",     "today+60d"),
    ("SN-CRVS-01", "agency",     "NCA-SN-101", "grant",         "launch",      "EUR 1,200,000",    "committed", "launch-15m", "launch-14m", "",           ""),
    ("SN-CRVS-01", "agency",     "NCA-SN-102", "grant",         "maintenance", "EUR 300,000",      "committed", "launch-1m",  "launch",     "launch",     "today+45d"),
    ("SN-CRVS-01", "agency",     "NCA-SN-103", "grant",         "maintenance", "EUR 650,000",      "planned",   "",           "today+30d",  "today+46d",  "end"),
    ("BD-SCH-01",  "bank",       "RDB-2401",   "loan",          "launch",      "USD 5,000,000",    "committed", "launch-18m", "launch-17m", "",           ""),
    ("BD-SCH-01",  "foundation", "OFF-1103",   "grant",         "capacity",    "GBP 150,000",      "committed", "launch-4m",  "launch-3m",  "",           ""),
    ("NP-LAND-01", "bank",       "RDB-2501",   "grant",         "launch",      "USD 2,000,000",    "committed", "launch-20m", "launch-19m", "",           ""),
    ("NP-LAND-01", "bank",       "RDB-2502",   "grant",         "maintenance", "USD 240,000",      "committed", "launch-1m",  "launch",     "launch",     "end"),
    ("PE-MIG-01",  "agency",     "NCA-PE-201", "grant",         "launch",      "EUR 900,000",      "committed", "launch-12m", "launch-11m", "",           ""),
    ("PE-MIG-01",  "agency",     "NCA-PE-202", "grant",         "maintenance", "EUR 540,000",      "committed", "launch-1m",  "launch",     "launch",     "end"),
    ("PE-MIG-01",  "bank",       "RDB-2601",   "results_based", "launch",      "USD 500,000",      "committed", "launch-2m",  "today+6m",   "",           ""),
    ("PE-MIG-01",  "foundation", "OFF-1104",   "grant",         "other",       "GBP 60,000",       "committed", "launch-1m",  "launch+1m",  "",           ""),
    ("CO-PAY-01",  "agency",     "NCA-CO-401", "grant",         "launch",      "EUR 1,500,000",    "committed", "today-7m",   "today-40d",  "",           ""),
    ("CO-PAY-01",  "foundation", "OFF-1105",   "grant",         "capacity",    "GBP 120,000",      "committed", "today-6m",   "today-5m",   "",           ""),
    ("CO-PAY-01",  "agency",     "NCA-CO-402", "grant",         "maintenance", "EUR 450,000",      "planned",   "",           "launch",     "launch",     "end"),
    ("KE-AGRI-01", "bank",       "RDB-2701",   "grant",         "launch",      "KES 150,000,000",  "committed", "today-9m",   "today-8m",   "",           ""),
    ("KE-AGRI-01", "foundation", "OFF-1106",   "grant",         "maintenance", "GBP 200,000",      "committed", "today-1m",   "launch",     "launch",     "launch+12m-1d"),
    ("PH-TEL-01",  "bank",       "RDB-2801",   "loan",          "launch",      "USD 4,000,000",    "committed", "today-1m",   "today+2m",   "",           ""),
    ("PH-TEL-01",  "bank",       "RDB-2802",   "grant",         "capacity",    "USD 250,000",      "planned",   "",           "today+3m",   "",           ""),
    ("RW-BIZ-01",  "agency",     "NCA-RW-304", "grant",         "launch",      "EUR 800,000",      "planned",   "",           "today+4m",   "",           ""),
    ("GH-PROC-01", "bank",       "RDB-1901",   "grant",         "launch",      "USD 1,600,000",    "committed", "launch-14m", "launch-13m", "",           ""),
    ("GH-PROC-01", "bank",       "RDB-1902",   "grant",         "maintenance", "USD 450,000",      "committed", "launch-1m",  "launch",     "launch",     "end"),
    ("NP-DL-01",   "foundation", "OFF-0901",   "grant",         "launch",      "GBP 300,000",      "cancelled", "",           "",           "",           ""),
]

# reference     rate %    tenor  grace  every  method     first payment
LOANS = {
    "RDB-2301": ("0.750",  360,   72,    6,     "annuity", "launch-8m"),
    "RDB-2401": ("1.250",  300,   60,    6,     "annuity", "launch-12m"),
    "RDB-2801": ("1.000",  240,   48,    6,     "linear",  "today+5m"),
}

# Loans whose instalments the bank's finance staff have received, each on its due date; a loan
# in arrears has missed its latest instalment (a repayment_overdue flag on its project).
REPAYMENTS = {"RDB-2301": "on time", "RDB-2401": "in arrears"}

# reference     disbursements (date, amount); made only while a tranche has none
DISBURSEMENTS = {
    "RDB-2201":   [("launch-20m", "1,400,000"), ("launch-8m", "1,000,000")],
    "RDB-2202":   [("launch", "350,000"), ("launch+12m", "350,000")],
    "OFF-1101":   [("launch-9m", "120,000")],
    "NCA-RW-301": [("launch-23m", "900,000"), ("launch-12m", "900,000")],
    "NCA-RW-302": [("launch", "210,000"), ("launch+9m", "210,000")],
    "RDB-2301":   [("launch-13m", "1,500,000"), ("launch-4m", "1,000,000")],
    "OFF-1102":   [("launch", "250,000")],
    "NCA-SN-101": [("launch-14m", "600,000"), ("launch-3m", "600,000")],
    "NCA-SN-102": [("launch", "150,000")],
    "RDB-2401":   [("launch-17m", "2,000,000"), ("launch-6m", "2,000,000")],
    "OFF-1103":   [("launch-3m", "150,000")],
    "RDB-2501":   [("launch-19m", "1,000,000"), ("launch-8m", "1,000,000")],
    "RDB-2502":   [("launch", "80,000")],
    "NCA-PE-201": [("launch-11m", "450,000"), ("launch-2m", "450,000")],
    "NCA-PE-202": [("launch", "180,000")],
    "OFF-1104":   [("launch+1m", "60,000")],
    "OFF-1105":   [("today-5m", "60,000")],
    "RDB-2701":   [("today-8m", "60,000,000"), ("today-2m", "40,000,000")],
    "RDB-1901":   [("launch-13m", "800,000"), ("launch-3m", "800,000")],
    "RDB-1902":   [("launch", "150,000"), ("launch+12m", "150,000"), ("launch+24m", "150,000")],
}
# fmt: on

NOTES = {
    "NCA-RW-303": "Renewal withdrawn after the agency's budget review.",
    "NCA-SN-103": "Renewal agreed in principle; awaiting signature.",
    "RDB-2203": "Local-currency facility for the service's third year.",
    "RDB-2601": "Paid per verified online residence permit issued, pro rata to the target.",
    "OFF-1104": "Independent data-protection audit.",
    "NCA-CO-401": "First instalment held up pending the partner's procurement plan.",
    "OFF-0901": "Cancelled with the project after the licensing reform was postponed.",
}

_OFFSET = re.compile(r"([+-])(\d+)([dmy])")
_UNITS = {"d": "days", "m": "months", "y": "years"}


def when(expression, anchors):
    """The date an expression such as "launch+24m-1d" names, or None for an empty one."""
    if not expression:
        return None
    match = re.fullmatch(r"(today|launch|end)((?:[+-]\d+[dmy])*)", expression)
    if match is None:
        raise ValueError(f"Cannot read the demo date {expression!r}.")
    day = anchors[match[1]]
    for sign, number, unit in _OFFSET.findall(match[2]):
        step = relativedelta(**{_UNITS[unit]: int(number)})
        day = day + step if sign == "+" else day - step
    return day


def money(text):
    """("USD", Decimal) from "USD 2,400,000"; a bare "2,400,000" gives (None, Decimal)."""
    *currency, amount = text.split()
    return (currency[0] if currency else None), Decimal(amount.replace(",", ""))


def upsert(model, lookup, values):
    """Create the row, or bring it to `values`; saves only when something differs, so a
    rerun writes nothing (not even history). Returns (row, created)."""
    row = model.objects.filter(**lookup).first()
    if row is None:
        return model.objects.create(**lookup, **values), True
    changed = {name: value for name, value in values.items() if getattr(row, name) != value}
    if changed:
        for name, value in changed.items():
            setattr(row, name, value)
        row.save()
    return row, False


def rate_on(currency, day):
    """The demo's rate of `currency` into USD on `day`: the same date always gets the same rate."""
    shift = list(USD_RATES).index(currency) * 5
    move = MONTHLY_MOVE_PER_MILLE[(day.month + shift) % 12]
    return (USD_RATES[currency] * (1000 + move) / 1000).quantize(Decimal("0.00000001"))


def seed_rates(today):
    # First of each of the last 12 months, and 1 January of the years before, so that every
    # demo date (the closed project goes back five years) has a rate on or before it.
    days = {today.replace(day=1) - relativedelta(months=n) for n in range(12)}
    days |= {date(today.year - n, 1, 1) for n in range(1, 7)}
    for currency in USD_RATES:
        for day in sorted(days):
            upsert(
                ExchangeRate,
                {"currency": currency, "to_currency": "USD", "valid_on": day},
                {"rate": rate_on(currency, day), "source": "Demo data (illustrative rates)"},
            )


def seed_organisations():
    organisations = {}
    for key, name, part, funder_type, country, iati in ORGANISATIONS:
        organisations[key], _ = upsert(
            Organisation,
            {"name": name},
            {
                "is_funder": part == "funder",
                "is_implementer": part == "implementer",
                "is_evaluator": part == "evaluator",
                "funder_type": funder_type,
                "country": country,
                "iati_identifier": iati,
            },
        )
    return organisations


def seed_users(organisations):
    """Create missing demo users; an existing account keeps its password and rights."""
    User = get_user_model()
    users, created = {}, []
    for username, first, last, role, org_key, admin in USERS:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User.objects.create_user(
                username,
                email=f"{username}@demo.example.org",
                password=DEMO_PASSWORD,
                first_name=first,
                last_name=last,
                is_staff=admin,
                is_superuser=admin,
            )
            created.append(username)
        Membership.objects.get_or_create(user=user, organisation=organisations[org_key], role=role)
        users[username] = user
    return users, created


# What IATI data users filter on (issue 21): DAC gender and disability markers (0 not targeted,
# 1 significant, 2 principal), SDG goals and the first-level regions a service is rolled out in.
# Projects not listed are not screened yet, so their file carries none of these.
# code          gender disability SDG goals   regions
IATI_FACTS = {
    "KE-ID-01":   (2, 1, [16, 5],  ["Nakuru", "Kisumu", "Turkana"]),
    "RW-EHR-01":  (1, 1, [3],      ["Northern Province", "Western Province"]),
    "GH-PAY-01":  (2, 0, [1, 5],   []),
    "SN-CRVS-01": (1, 0, [16],     ["Kolda", "Sedhiou"]),
    "BD-SCH-01":  (1, 2, [4],      ["Rangpur", "Sylhet"]),
    "NP-LAND-01": (2, 0, [1, 5],   ["Karnali"]),
    "PE-MIG-01":  (1, 0, [10, 16], ["Lima", "Tumbes"]),
    "CO-PAY-01":  (1, 0, [1, 10],  []),
}  # fmt: skip


def iati_facts(code):
    gender, disability, goals, regions = IATI_FACTS.get(code, (None, None, [], []))
    return {
        "gender_marker": gender,
        "disability_marker": disability,
        "sdg_goals": goals,
        "admin_regions": regions,
    }


def seed_projects(portfolio, organisations, today):
    projects = {}
    for code, country, sector, partner, status, launch, _upkeep, groups, title in PROJECTS:
        launch_day = when(launch, {"today": today})
        is_live = status in (Project.Status.LAUNCHED, Project.Status.CLOSED)
        projects[code], _ = upsert(
            Project,
            {"portfolio": portfolio, "code": code},
            {
                "title": title,
                "country": country,
                "sector_code": sector,
                "implementing_partner": organisations[partner],
                "status": status,
                "planned_launch_date": launch_day,
                "launch_date": launch_day if is_live else None,
                "sustainability_months": SUSTAINABILITY_MONTHS.get(code, 36),
                "target_groups": groups.split(",") if groups else [],
                **iati_facts(code),
            },
        )
    return projects


def seed_upkeep(projects):
    """A project's annual upkeep is the "other" line of its plan, for the whole window (as
    0006 made of every project's annual maintenance cost); demo_plans has the richer plans."""
    for code, *_, upkeep, _groups, _title in PROJECTS:
        if upkeep and code not in PLANS:
            currency, cost = money(upkeep)
            upsert(
                CostLine,
                {"project": projects[code], "category": CostCategory.OTHER},
                {"annual_cost": cost, "currency": currency, "starts_on": None, "ends_on": None},
            )


def anchors(project, today):
    launch = project.launch_date or project.planned_launch_date or today
    end = launch + relativedelta(months=project.sustainability_months) - relativedelta(days=1)
    return {"today": today, "launch": launch, "end": end}


def seed_tranches(projects, organisations, today):
    tranches = {}
    for row in TRANCHES:
        code, funder, reference, instrument, purpose, amount, status, *dates = row
        at = anchors(projects[code], today)
        signed, expected, covers_from, covers_until = (when(d, at) for d in dates)
        currency, amount = money(amount)
        # A rerun on a later day moves the demo's dates, but a signature never moves past
        # a disbursement already recorded.
        first_paid = Tranche.objects.filter(
            funder=organisations[funder], funder_reference=reference
        ).aggregate(first=Min("disbursements__disbursed_on"))["first"]
        if signed and first_paid and signed > first_paid:
            signed = first_paid
        tranches[reference], _ = upsert(
            Tranche,
            {"funder": organisations[funder], "funder_reference": reference},
            {
                "project": projects[code],
                "instrument": instrument,
                "purpose": purpose,
                "amount": amount,
                "currency": currency,
                "status": status,
                "committed_on": signed,
                "expected_disbursement_on": expected,
                "covers_from": covers_from,
                "covers_until": covers_until,
                "notes": NOTES.get(reference, ""),
            },
        )
    return tranches


def seed_loans(tranches, today):
    for reference, (rate, tenor, grace, every, method, first) in LOANS.items():
        tranche = tranches[reference]
        upsert(
            LoanTerms,
            {"tranche": tranche},
            {
                "annual_rate_percent": Decimal(rate),
                "tenor_months": tenor,
                "grace_months": grace,
                "frequency_months": every,
                "method": method,
                "first_payment_date": when(first, anchors(tranche.project, today)),
            },
        )


def seed_disbursements(tranches, users, organisations, today):
    funder_keys = {org.pk: key for key, org in organisations.items()}
    for reference, payments in DISBURSEMENTS.items():
        tranche = tranches[reference]
        if tranche.disbursements.exists():
            continue
        recorder = users[RECORDED_BY[funder_keys[tranche.funder_id]]]
        for number, (day, amount) in enumerate(payments, start=1):
            services.disburse(
                tranche,
                money(amount)[1],
                when(day, anchors(tranche.project, today)),
                reference=f"{reference}/{number}",
                recorded_by=recorder,
            )


def seed_repayments(tranches, users, today):
    """Pay each demo loan's instalments due by today on their due dates, but for the latest
    of a loan in arrears. Idempotent: only what is unpaid is paid, so a rerun on a later day
    pays the instalments fallen due since and keeps the arrears on the latest."""
    for reference, standing in REPAYMENTS.items():
        tranche = tranches[reference]
        status = selectors.loan_statuses([tranche], today).get(tranche.pk)
        if status is None:
            continue
        unpaid = [line for line in status.lines if line.state in (loans.OVERDUE, loans.DUE)]
        if standing == "in arrears" and unpaid:
            unpaid = unpaid[:-1]
        for line in unpaid:
            services.record_repayment(
                tranche,
                line.due_on,
                line.principal_unpaid,
                line.interest_unpaid,
                reference=f"{reference}/R{line.instalment.number}",
                recorded_by=users["finance"],
            )


class Command(BaseCommand):
    help = "Load the demo portfolio (idempotent); print the demo logins."

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing when any project exists already.",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Run even with DEBUG off (demo and test databases only).",
        )

    def handle(self, *args, if_empty=False, force=False, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "The demo creates users with a known password; it runs only with DEBUG on, "
                "or with --force on a database you are about to throw away."
            )
        today = timezone.localdate()
        with transaction.atomic():
            if if_empty and Project.objects.exists():
                self.stdout.write("Projects exist already; the demo portfolio was not loaded.")
                if settings.DEBUG:
                    self.print_logins()
                return
            with rescans_paused():
                created_users = self.seed(today)
            result = scan_lapses(today)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo portfolio {PORTFOLIO_NAME!r} is loaded as of {today}; "
                f"{result.open} lapse flags are open."
            )
        )
        if settings.DEBUG or created_users:
            self.print_logins()

    def seed(self, today):
        portfolio, _ = upsert(Portfolio, {"name": PORTFOLIO_NAME}, PORTFOLIO)
        seed_rates(today)
        organisations = seed_organisations()
        users, created_users = seed_users(organisations)
        projects = seed_projects(portfolio, organisations, today)
        tranches = seed_tranches(projects, organisations, today)
        seed_loans(tranches, today)
        seed_disbursements(tranches, users, organisations, today)
        seed_repayments(tranches, users, today)
        seed_upkeep(projects)
        seed_plans(projects, tranches, upsert)
        users_by_role = {}  # the first user of each role acts for it in the seeded results
        for username, _first, _last, role, _org, _admin in USERS:
            users_by_role.setdefault(role, users[username])
        seed_standards(portfolio, users_by_role.get(Role.PORTFOLIO_MANAGER))
        seed_results(projects, tranches, users_by_role, organisations["evaluator"])
        return created_users

    def print_logins(self):
        """The demo users that exist, with the password they were created with."""
        existing = set(
            get_user_model()
            .objects.filter(username__in=[row[0] for row in USERS])
            .values_list("username", flat=True)
        )
        rows = [(username, role.label) for username, _first, _last, role, _org, _admin in USERS]
        rows = [row for row in rows if row[0] in existing]
        if not rows:
            return
        self.stdout.write("Demo logins:")
        self.stdout.write(f"  {'username':<12} {'role':<18} password")
        for username, role in rows:
            self.stdout.write(f"  {username:<12} {role:<18} {DEMO_PASSWORD}")

"""The demo's sustainability plans: recurrent cost lines split among co-funders, line by line.

What the lapse scan finds in them, whatever day the demo is loaded:
  KE-ID-01   four lines shared by the bank's two tranches; nobody pays cybersecurity once the
             first tranche ends, so the service is covered but cybersecurity is unfunded.
  NP-LAND-01 hosting paid, its window ends within a year and nobody takes hosting over.
  PE-MIG-01  fully planned: every line paid to the end, each with its successor.
  GH-PROC-01 (closed) its plan stays on record; it was closed within its window.
"""

from decimal import Decimal

from dateutil.relativedelta import relativedelta

from funding.models import Allocation
from projects.models import CostLine

MINISTRY_ICT = "Ministry of ICT and Digital Economy, recurrent budget line 2.1.4"
INTERIOR = "Ministry of the Interior, migration directorate's operating budget"

# project      category        USD a year  taken over by   commitment document
PLANS = {
    "KE-ID-01": [
        ("hosting", "120,000", MINISTRY_ICT, "Treasury circular 14/2025 on recurrent ICT costs"),
        ("updates", "80,000", MINISTRY_ICT, "Treasury circular 14/2025 on recurrent ICT costs"),
        ("cybersecurity", "60,000", "", ""),
        ("user_support", "40,000", "", ""),
    ],
    "NP-LAND-01": [
        ("hosting", "220,000", "", ""),
    ],
    "PE-MIG-01": [
        ("hosting", "70,000", INTERIOR, "Memorandum of understanding, annex 3"),
        ("cybersecurity", "45,000", INTERIOR, "Memorandum of understanding, annex 3"),
        ("user_support", "35,000", INTERIOR, "Memorandum of understanding, annex 3"),
    ],
    "GH-PROC-01": [
        ("hosting", "90,000", "", ""),
        ("licences", "60,000", "", ""),
    ],
}
PLAN_CURRENCY = {"PE-MIG-01": "EUR"}

# tranche reference -> the share (%) it gives each line; a tranche not named pays the whole plan.
ALLOCATIONS = {
    "RDB-2202": {"hosting": "40", "updates": "27", "cybersecurity": "20", "user_support": "13"},
    "RDB-2203": {"hosting": "50", "updates": "30", "user_support": "20"},
}

# A shorter obligation window than the default 36 months, so its end is near.
SUSTAINABILITY_MONTHS = {"NP-LAND-01": 17}


def _money(text):
    return Decimal(text.replace(",", ""))


def seed_plans(projects, tranches, upsert):
    """Each demo project's lines made to be exactly the ones above; `upsert` (the demo's) saves
    only what differs, so a rerun writes nothing, not even history."""
    for code, lines in PLANS.items():
        project = projects[code]
        wanted = {category for category, *_ in lines}
        CostLine.objects.filter(project=project).exclude(category__in=wanted).delete()
        end = project.obligation_end
        for category, cost, successor, document in lines:
            upsert(
                CostLine,
                {"project": project, "category": category},
                {
                    "annual_cost": _money(cost),
                    "currency": PLAN_CURRENCY.get(code, "USD"),
                    "starts_on": None,
                    "ends_on": None,
                    "successor": successor,
                    "handover_on": end + relativedelta(days=1) if successor and end else None,
                    "handover_document": document,
                },
            )
    for reference, shares in ALLOCATIONS.items():
        tranche = tranches[reference]
        Allocation.objects.filter(tranche=tranche).exclude(category__in=shares).delete()
        for category, share in shares.items():
            upsert(
                Allocation,
                {"tranche": tranche, "category": category},
                {"share": Decimal(share), "amount": None},
            )

"""One truth through every door: on the demo portfolio, the headline figures of the dashboard,
the API, the workbook (read back with python-calamine, which does not recalculate) and the IATI
file agree to the cent, and the open flags are those a scan would raise."""

from collections import Counter
from datetime import date
from decimal import Decimal
from io import BytesIO

import pytest
from django.utils import timezone
from lxml import etree
from python_calamine import CalamineWorkbook
from rest_framework.test import APIClient

from funding import figures, scan
from funding.models import FlagKind, Instrument, Purpose
from portfolio.models import ExchangeRate, Membership, Role
from portfolio.rates import RateTable
from reporting import iati
from reporting.workbook import ExportFilters, write_workbook
from reporting.workbook.summary import PURPOSE_SHORT

pytestmark = pytest.mark.django_db

ZERO = Decimal("0.00")


@pytest.fixture
def manager(demo):
    """The demo's portfolio manager (whose organisation reports to IATI)."""
    return Membership.objects.filter(role=Role.PORTFOLIO_MANAGER).get().user


def money(value):
    return Decimal(value).quantize(Decimal("0.01"))


def dashboard_figures(client, user, portfolio, **params):
    client.force_login(user)
    response = client.get("/", {"portfolio": portfolio.pk, **params})
    assert response.status_code == 200
    m = response.context["money"]
    return {
        "currency": m.currency,
        "committed": m.committed,
        "disbursed": m.disbursed,
        "undisbursed": m.undisbursed,
        "leverage": m.leverage,
        "by_instrument": {
            r.key: (r.committed, r.disbursed, r.undisbursed) for r in m.by_instrument
        },
        "by_purpose": {r.key: (r.committed, r.disbursed, r.undisbursed) for r in m.by_purpose},
        "flags": {kind: n for kind, _, n in response.context["flag_counts"]},
        "flag_order": [kind for kind, _, _ in response.context["flag_counts"]],
    }


def api_figures(user, portfolio, **params):
    api = APIClient()
    api.force_authenticate(user)
    response = api.get(f"/api/v1/portfolios/{portfolio.pk}/figures/", params)
    assert response.status_code == 200, response.json()
    body = response.json()

    def rows(name):
        return {
            r["key"]: (money(r["committed"]), money(r["disbursed"]), money(r["undisbursed"]))
            for r in body[name]
        }

    return {
        "currency": body["currency"],
        "committed": money(body["committed"]),
        "disbursed": money(body["disbursed"]),
        "undisbursed": money(body["undisbursed"]),
        "leverage": None if body["leverage"] is None else money(body["leverage"]),
        "by_instrument": rows("by_instrument"),
        "by_purpose": rows("by_purpose"),
        "flags": {row["kind"]: row["count"] for row in body["open_flags"]},
        "flag_order": [row["kind"] for row in body["open_flags"]],
    }


def iati_figures(portfolio):
    """Commitments and disbursements as the IATI file carries them: each transaction in its own
    currency with its value date, converted here with the portfolio's rates on that date."""
    raw = iati.download(portfolio).content
    root = etree.fromstring(raw)
    table = RateTable(
        portfolio.reporting_currency,
        ExchangeRate.objects.filter(to_currency=portfolio.reporting_currency).values_list(
            "currency", "valid_on", "rate"
        ),
    )
    totals = Counter()
    for activity in root.iterfind("iati-activity"):
        default_currency = activity.get("default-currency")
        for transaction in activity.iterfind("transaction"):
            kind = transaction.find("transaction-type").get("code")
            if kind in iati.INCOMING:
                continue  # loan repayments: money back, not in the headline figures
            value = transaction.find("value")
            on = date.fromisoformat(value.get("value-date"))
            currency = value.get("currency") or default_currency
            converted = table.convert(Decimal(value.text), currency, on).amount
            loan = transaction.find("finance-type").get("code") == iati.FINANCE_TYPE["loan"]
            what = {
                iati.TRANSACTION_COMMITMENT: "committed",
                iati.TRANSACTION_DISBURSEMENT: "disbursed",
            }[kind]
            totals[what] += converted
            totals[(what, "loan" if loan else "grant or results-based")] += converted
    return totals


def nonzero(counts):
    return {key: n for key, n in counts.items() if n}


def workbook_figures(portfolio, as_of=None):
    """The Summary sheet's tables, as a reader that does not recalculate sees them: each table
    is found by its heading and read down to its total."""
    out = BytesIO()
    write_workbook(out, ExportFilters(portfolio=portfolio.pk, as_of=as_of))
    rows = CalamineWorkbook.from_filelike(BytesIO(out.getvalue())).get_sheet_by_name("Summary")
    rows = rows.to_python()

    def table(heading):
        start = next(n for n, row in enumerate(rows) if str(row[0]).startswith(heading))
        found = {}
        for row in rows[start + 1 :]:  # the heading's row holds the column headers
            if row[0] in ("", "Total"):
                return found
            found[row[0]] = row[1:]

    def money_rows(heading, labels):
        read = table(heading)
        return {key: tuple(money(str(read[label][n])) for n in range(3)) for key, label in labels}

    flags = table("Open flags on")
    by_instrument = money_rows("By instrument", Instrument.choices)
    leverage = table("Leverage")["Loan and results-based money"][0]
    return {
        "committed": sum(row[0] for row in by_instrument.values()),
        "disbursed": sum(row[1] for row in by_instrument.values()),
        "undisbursed": sum(row[2] for row in by_instrument.values()),
        "leverage": None if leverage == "" else money(str(leverage)),
        "by_instrument": by_instrument,
        "by_purpose": money_rows("By purpose", PURPOSE_SHORT.items()),
        "flags": {
            kind: int(flags[label][0]) for kind, label in FlagKind.choices if flags[label][0]
        },
    }


def test_dashboard_api_workbook_and_iati_show_the_same_headline_figures(demo, manager, client):
    on_page = dashboard_figures(client, manager, demo)
    through_api = api_figures(manager, demo)
    in_workbook = workbook_figures(demo)
    in_iati = iati_figures(demo)

    assert on_page == through_api
    for figure, value in in_workbook.items():
        assert value == (nonzero(on_page[figure]) if figure == "flags" else on_page[figure]), figure
    # The demo has money in several currencies, every instrument and purpose, and payments.
    assert on_page["committed"] > on_page["disbursed"] > ZERO
    assert on_page["undisbursed"] > ZERO
    assert set(on_page["by_instrument"]) == set(Instrument.values)
    assert set(on_page["by_purpose"]) == set(Purpose.values)
    assert all(committed > ZERO for committed, _, _ in on_page["by_instrument"].values())
    committed = {key: row[0] for key, row in on_page["by_instrument"].items()}
    assert on_page["leverage"] == figures.leverage(committed) is not None
    # The parts add up to the whole, by instrument and by purpose alike.
    for column, total in enumerate(("committed", "disbursed", "undisbursed")):
        assert sum(r[column] for r in on_page["by_instrument"].values()) == on_page[total]
        assert sum(r[column] for r in on_page["by_purpose"].values()) == on_page[total]
    # IATI carries commitments and disbursements (finance type tells loans from grants).
    assert in_iati["committed"] == on_page["committed"]
    assert in_iati["disbursed"] == on_page["disbursed"]
    loans = on_page["by_instrument"][Instrument.LOAN]
    assert in_iati[("committed", "loan")] == loans[0]
    assert in_iati[("disbursed", "loan")] == loans[1]


def test_open_flags_by_kind_agree_with_a_dry_run_scan_through_every_door(demo, manager, client):
    expected = Counter(flag.kind for flag in scan.scan_lapses(dry_run=True).flags)

    on_page = dashboard_figures(client, manager, demo)
    through_api = api_figures(manager, demo)

    assert {kind: n for kind, n in on_page["flags"].items() if n} == dict(expected)
    assert on_page["flags"] == through_api["flags"]
    assert on_page["flag_order"] == through_api["flag_order"]
    assert sum(expected.values()) >= 5, "the demo shows every kind of trouble"


def test_as_of_a_past_day_every_door_shows_the_same_snapshot(demo, manager, client):
    day = timezone.localdate().replace(day=1)  # before the demo's payments of this month, if any

    on_page = dashboard_figures(client, manager, demo, as_of=day.isoformat())
    through_api = api_figures(manager, demo, as_of=day.isoformat())
    in_workbook = workbook_figures(demo, as_of=day)
    today = api_figures(manager, demo)

    assert on_page == through_api
    for figure, value in in_workbook.items():
        assert value == (nonzero(on_page[figure]) if figure == "flags" else on_page[figure]), figure
    assert on_page["committed"] <= today["committed"]
    assert on_page["disbursed"] <= today["disbursed"]

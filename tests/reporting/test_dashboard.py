"""Dashboard figures: a snapshot as of a day, converted as finance staff do, rounded half-up,
with the leverage and flag order every door shares."""

from datetime import date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from funding import coverage, services
from funding.models import LapseFlag, Tranche
from portfolio.models import Role
from reporting import dashboard
from tests.factories import (
    ExchangeRateFactory,
    MembershipFactory,
    PortfolioFactory,
    ProjectFactory,
    TrancheFactory,
)

pytestmark = pytest.mark.django_db

D = Decimal
DAY = date(2026, 1, 1)


def row(rows, key):
    return next(each for each in rows if each.key == key)


def test_leverage_is_loan_and_results_based_money_per_unit_of_grant():
    portfolio = PortfolioFactory()
    project = ProjectFactory(portfolio=portfolio)
    for instrument, amount in (
        (Tranche.Instrument.GRANT, "200000.00"),
        (Tranche.Instrument.LOAN, "100000.00"),
        (Tranche.Instrument.RESULTS_BASED, "50000.00"),
    ):
        TrancheFactory(project=project, instrument=instrument, amount=D(amount))
    TrancheFactory(
        project=project,
        instrument=Tranche.Instrument.LOAN,
        amount=D("999999.00"),
        status=Tranche.Status.PLANNED,
        committed_on=None,
    )

    money = dashboard.money(portfolio, date(2026, 1, 1))

    assert money.leverage == D("0.75")
    assert money.committed == D("350000.00")


def test_leverage_is_absent_without_grant_money():
    portfolio = PortfolioFactory()
    TrancheFactory(project__portfolio=portfolio, instrument=Tranche.Instrument.LOAN)

    assert dashboard.money(portfolio, date(2026, 1, 1)).leverage is None


def test_conversion_rounds_half_up_to_the_cent():
    portfolio = PortfolioFactory()
    ExchangeRateFactory(currency="EUR", rate=D("0.5"), valid_on=date(2025, 1, 1))
    TrancheFactory(project__portfolio=portfolio, currency="EUR", amount=D("1000.05"))

    money = dashboard.money(portfolio, DAY)

    assert money.committed == D("500.03")  # half-even would give 500.02
    assert money.undisbursed == D("500.03")


@time_machine.travel(date(2026, 6, 1), tick=False)
def test_as_of_a_day_money_signed_paid_or_rated_later_does_not_exist():
    portfolio = PortfolioFactory()
    project = ProjectFactory(portfolio=portfolio)
    ExchangeRateFactory(currency="EUR", rate=D("1.10"), valid_on=date(2025, 1, 1))
    ExchangeRateFactory(currency="EUR", rate=D("2.00"), valid_on=date(2026, 2, 1))
    before = TrancheFactory(
        project=project, currency="EUR", amount=D("1000.00"), committed_on=date(2025, 6, 1)
    )
    TrancheFactory(
        project=project,
        instrument=Tranche.Instrument.LOAN,
        currency="EUR",
        amount=D("5000.00"),
        committed_on=date(2026, 1, 2),
    )
    services.disburse(before, D("100.00"), date(2025, 7, 1))
    services.disburse(before, D("200.00"), date(2026, 3, 1))

    then = dashboard.money(portfolio, DAY)
    now = dashboard.money(portfolio, date(2026, 6, 1))

    assert (then.committed, then.disbursed, then.undisbursed) == (
        D("1100.00"),  # 1,000 EUR at 1.10; the loan signed on 2 January is not there yet
        D("110.00"),  # 100 EUR paid in 2025; the March payment has not happened
        D("990.00"),  # 900 EUR still to pay, at the 2025 rate: the February rate is not known
    )
    assert row(then.by_instrument, "loan").committed == D("0.00")
    assert then.leverage == D("0.00")
    assert (now.committed, now.disbursed, now.undisbursed) == (
        D("6600.00"),  # the loan too, at its signing day's rate (1.10; 2.00 came later)
        D("510.00"),  # 100 EUR at 1.10 and 200 EUR at 2.00
        D("11400.00"),  # 700 + 5,000 EUR at 2.00
    )


def test_a_disbursement_keeps_its_converted_value_when_a_new_rate_arrives():
    portfolio = PortfolioFactory()
    ExchangeRateFactory(currency="EUR", rate=D("1.10"), valid_on=date(2025, 1, 1))
    tranche = TrancheFactory(project__portfolio=portfolio, currency="EUR", amount=D("1000.00"))
    services.disburse(tranche, D("400.00"), date(2025, 6, 1))
    before = dashboard.money(portfolio, date(2026, 6, 1))

    ExchangeRateFactory(currency="EUR", rate=D("1.30"), valid_on=date(2026, 1, 1))
    after = dashboard.money(portfolio, date(2026, 6, 1))

    assert before.disbursed == after.disbursed == D("440.00")
    assert before.committed == after.committed == D("1100.00")  # at the commitment's date
    assert (before.undisbursed, after.undisbursed) == (D("660.00"), D("780.00"))


def test_a_fixed_rate_agreed_in_the_tranche_converts_its_commitment():
    portfolio = PortfolioFactory()
    ExchangeRateFactory(currency="EUR", rate=D("1.10"), valid_on=date(2025, 1, 1))
    TrancheFactory(
        project__portfolio=portfolio, currency="EUR", amount=D("1000.00"), fixed_rate=D("1.05")
    )

    money = dashboard.money(portfolio, DAY)

    assert money.committed == D("1050.00")
    assert money.undisbursed == D("1100.00")


def test_each_rate_used_is_named_with_its_date():
    portfolio = PortfolioFactory()
    ExchangeRateFactory(currency="EUR", rate=D("1.10"), valid_on=date(2025, 1, 1))
    ExchangeRateFactory(currency="EUR", rate=D("1.20"), valid_on=date(2025, 12, 1))
    tranche = TrancheFactory(project__portfolio=portfolio, currency="EUR")
    services.disburse(tranche, D("10.00"), date(2025, 12, 5))

    rates = {(r.used_for, r.rate, r.rate_date) for r in dashboard.money(portfolio, DAY).rates}

    assert rates == {
        ("commitment", D("1.10"), date(2025, 1, 1)),
        ("disbursement", D("1.20"), date(2025, 12, 1)),
        ("undisbursed", D("1.20"), date(2025, 12, 1)),
    }


def test_a_currency_without_a_rate_is_left_out_and_named():
    portfolio = PortfolioFactory()
    TrancheFactory(project__portfolio=portfolio, currency="XOF")
    TrancheFactory(project__portfolio=portfolio, amount=D("10.00"))

    money = dashboard.money(portfolio, DAY)

    assert money.committed == D("10.00")
    assert money.missing_rates == {"XOF"}


def flag(project, kind, raised, resolved=None, last_seen=None):
    return LapseFlag.objects.create(
        project=project,
        kind=kind,
        gap_start=date(2025, 6, 1),
        raised_at=timezone.make_aware(datetime.combine(raised, datetime.min.time())),
        resolved_at=timezone.make_aware(datetime.combine(resolved, datetime.min.time()))
        if resolved
        else None,
        last_seen_on=last_seen or raised,
    )


def test_flags_as_of_a_day_are_those_open_at_its_end_most_urgent_first(client):
    portfolio = PortfolioFactory()
    a, b = ProjectFactory(portfolio=portfolio), ProjectFactory(portfolio=portfolio)
    flag(a, "at_risk", date(2025, 10, 1), resolved=date(2026, 2, 1))  # open on DAY
    flag(a, "lapsed", date(2026, 2, 1))  # raised after DAY
    flag(b, "underfunded", date(2025, 11, 1))
    flag(b, "no_maintenance", date(2025, 12, 1), resolved=date(2025, 12, 20))
    user = MembershipFactory(role=Role.FINANCE).user

    flags = dashboard.open_flags(user, {"project__portfolio": portfolio}, DAY)

    assert [f.kind for f in flags] == ["at_risk", "underfunded"]
    assert not any(f.can_acknowledge for f in flags if not f.is_open)
    counts = dashboard.flag_counts(flags)
    assert [kind for kind, _, _ in counts] == coverage.by_urgency(
        k.value for k in coverage.FLAG_KINDS
    )
    assert {kind: n for kind, _, n in counts if n} == {"at_risk": 1, "underfunded": 1}


def test_dashboard_page_shows_the_snapshot_asked_for_with_its_rates(client):
    portfolio = PortfolioFactory()
    ExchangeRateFactory(currency="EUR", rate=D("1.10"), valid_on=date(2025, 1, 1))
    TrancheFactory(project__portfolio=portfolio, currency="EUR", committed_on=date(2025, 3, 1))
    TrancheFactory(project__portfolio=portfolio, currency="EUR", committed_on=date(2026, 3, 1))
    client.force_login(MembershipFactory(role=Role.FINANCE).user)

    then = client.get("/", {"as_of": "2026-01-01"})
    unreadable = client.get("/", {"as_of": "someday"})

    assert then.status_code == 200
    assert then.context["today"] == DAY
    assert then.context["money"].committed == D("110000.00")
    body = then.content.decode()
    assert "Exchange rates used" in body and "1.1" in body
    assert unreadable.status_code == 200
    assert unreadable.context["today"] == timezone.localdate()
    assert "could not be read" in unreadable.content.decode()


def test_the_dashboard_names_the_least_funded_cost_line(client):
    from datetime import date as day
    from decimal import Decimal as D

    import time_machine

    from funding.models import Allocation, Tranche
    from portfolio.models import Role
    from projects.models import CostLine, Project
    from tests.factories import MembershipFactory, ProjectFactory, TrancheFactory

    with time_machine.travel(day(2026, 1, 15)):
        portfolio = None
        for n in range(2):
            project = ProjectFactory(
                status=Project.Status.LAUNCHED, launch_date=day(2025, 1, 1), code=f"L-{n}"
            )
            if portfolio is None:
                portfolio = project.portfolio
            else:
                Project.objects.filter(pk=project.pk).update(portfolio=portfolio)
            for category in ("hosting", "cybersecurity"):
                CostLine.objects.create(
                    project=project, category=category, annual_cost=D("1"), currency="USD"
                )
            tranche = TrancheFactory(
                project=project,
                purpose=Tranche.Purpose.MAINTENANCE,
                covers_from=day(2025, 1, 1),
                covers_until=day(2027, 12, 31),
            )
            Allocation.objects.create(tranche=tranche, category="hosting", share=D("100"))
        client.force_login(MembershipFactory(role=Role.PORTFOLIO_MANAGER).user)
        response = client.get("/", {"portfolio": portfolio.pk})

    lines = response.context["cost_lines"]
    assert [(c.category, c.lines, c.unfunded_now) for c in lines] == [
        ("cybersecurity", 2, 2),
        ("hosting", 2, 0),
    ]
    assert "Cybersecurity is the least funded line." in response.content.decode()

"""The tranche form: a currency picker that starts from the portfolio's usual currencies, the
officer's only funder chosen for them, and loan terms that a small script shows only for a
loan while the form works the same without it."""

from pathlib import Path

import pytest
from django.conf import settings

from funding.models import Tranche
from portfolio.codelists import NOT_PAID_IN, money_currencies
from tests.factories import TrancheFactory
from tests.pages.test_forms import tranche_data

pytestmark = pytest.mark.django_db


def new_tranche_form(client, world):
    response = client.get(f"/projects/{world.project.pk}/tranches/new/")
    assert response.status_code == 200
    return response.context["form"]


def choice_groups(form):
    return {
        str(group): [code for code, _label in options]
        for group, options in form.fields["currency"].widget.choices
        if isinstance(options, list)
    }


def test_the_currency_picker_leaves_out_withdrawn_and_non_national_codes():
    assert {"HRK", "SLL", "XBT", "XDR", "XAU", "USN"} <= NOT_PAID_IN
    assert not NOT_PAID_IN & set(money_currencies())
    assert {"USD", "EUR", "KES", "XOF", "XAF", "SLE"} <= set(money_currencies())


def test_the_portfolios_currencies_come_first_most_used_first(world, login):
    # Funder A pays in EUR more than anything else; the portfolio reports in USD.
    for _n in range(3):
        TrancheFactory(project=world.project, funder=world.funder_a, currency="EUR")
    TrancheFactory(project=world.project, funder=world.funder_b, currency="KES")
    form = new_tranche_form(login(world.users["officer"]), world)
    groups = choice_groups(form)
    usual, everything = groups["This portfolio's currencies"], groups["All currencies"]
    assert usual[:2] == ["EUR", "USD"]
    assert "KES" in usual
    assert not {"XBT", "HRK", "SLL"} & set(usual + everything)
    assert everything == sorted(everything)
    # The funder's usual currency is chosen for a new tranche, and the only funder too.
    assert form.initial["currency"] == "EUR"
    assert form.initial["funder"] == world.funder_a.pk
    assert form.fields["funder"].empty_label is None


def test_without_tranches_the_reporting_currency_is_chosen(world, login):
    Tranche.objects.filter(funder=world.funder_a).delete()
    form = new_tranche_form(login(world.users["officer"]), world)
    assert form.initial["currency"] == world.project.portfolio.reporting_currency


def test_a_manager_with_several_funders_chooses_one(world, login):
    form = new_tranche_form(login(world.users["manager"]), world)
    assert form.initial.get("funder") is None
    assert form.fields["funder"].empty_label


def test_a_code_no_tranche_is_paid_in_is_refused_by_name(world, login):
    client = login(world.users["officer"])
    data = tranche_data(**{"tranche-funder": world.funder_a.pk, "tranche-currency": "XBT"})
    response = client.post(f"/projects/{world.project.pk}/tranches/new/", data)
    assert response.status_code == 400
    assert (
        "XBT is not a currency tranches are paid in"
        in response.context["form"].errors["currency"][0]
    )
    assert not Tranche.objects.filter(funder_reference="A-9").exists()


def test_a_stored_withdrawn_currency_still_shows_when_the_tranche_is_changed(world, login):
    Tranche.objects.filter(pk=world.launch.pk).update(currency="HRK")
    client = login(world.users["officer"])
    response = client.get(f"/tranches/{world.launch.pk}/edit/")
    groups = choice_groups(response.context["form"])
    assert "HRK" in groups["All currencies"]


def test_loan_terms_are_shown_by_a_static_script_only_for_a_loan(world, login):
    body = (
        login(world.users["officer"])
        .get(f"/projects/{world.project.pk}/tranches/new/")
        .content.decode()
    )
    assert 'data-shows="loan-terms"' in body and 'data-when="loan"' in body
    assert 'id="loan-terms"' in body
    assert "funding/shows_when.js" in body
    assert "<script>" not in body  # no inline script: the page keeps working under a CSP
    script = Path(settings.BASE_DIR) / "funding" / "static" / "funding" / "shows_when.js"
    assert "data-shows" in script.read_text()


def test_without_javascript_loan_terms_of_a_grant_are_ignored(world, login):
    client = login(world.users["officer"])
    data = tranche_data(
        **{"tranche-funder": world.funder_a.pk, "loan-annual_rate_percent": "not a rate"}
    )
    response = client.post(f"/projects/{world.project.pk}/tranches/new/", data)
    assert response.status_code == 302
    assert not hasattr(Tranche.objects.get(funder_reference="A-9"), "loan_terms")

"""Plain errors: every constraint has a sentence on its field, and every door (API, pages,
admin) shows that sentence, never a constraint's name, a class name or "1E-8"."""

import re
from datetime import date

import pytest
from django.apps import apps
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction
from django.utils import translation

from funding.models import Tranche
from portfolio import errors
from portfolio.fields import RATE_MESSAGE
from portfolio.models import ExchangeRate
from tests.api.conftest import client_for
from tests.factories import ExchangeRateFactory, LoanTermsFactory, TrancheFactory

pytestmark = pytest.mark.django_db

DISTINCT = "A rate converts one currency into another: choose two different currencies."
SAME_DAY = "There is already a rate between these two currencies for this day; correct that one."
DISTINCT_FR = "Un taux convertit une monnaie en une autre : choisissez deux monnaies différentes."
INTERNALS = re.compile(r"exchange_rate_|Constraint|1E-8|ExchangeRate")


def all_constraints():
    return [
        (model, constraint) for model in apps.get_models() for constraint in model._meta.constraints
    ]


@pytest.mark.parametrize(
    ("model", "constraint"), all_constraints(), ids=lambda each: getattr(each, "name", "")
)
def test_every_constraint_has_a_sentence_on_a_field_of_its_model(model, constraint):
    field, sentence = errors.CONSTRAINTS[constraint.name]
    assert model._meta.get_field(field)
    assert constraint.name not in str(sentence) and "_" not in str(sentence)


def test_a_violated_check_becomes_its_sentence_on_its_field():
    rate = ExchangeRate(currency="USD", to_currency="USD", rate="1", valid_on=date(2026, 1, 1))
    with pytest.raises(ValidationError) as refused:
        rate.full_clean()
    assert "exchange_rate_distinct_currencies" in str(refused.value)  # what Django says

    assert errors.plain(refused.value).message_dict == {"to_currency": [DISTINCT]}


def test_a_violated_unique_constraint_becomes_its_sentence_on_its_field():
    ExchangeRateFactory(currency="EUR", to_currency="USD", valid_on=date(2026, 1, 1))
    rate = ExchangeRate(currency="EUR", to_currency="USD", rate="1.1", valid_on=date(2026, 1, 1))
    with pytest.raises(ValidationError) as refused:
        rate.full_clean()

    assert errors.plain(refused.value).message_dict == {"valid_on": [SAME_DAY]}


def test_other_messages_pass_unchanged():
    error = ValidationError({"amount": ["Too much."], NON_FIELD_ERRORS: ["Not now."]})
    assert errors.plain(error) is error
    listed = ValidationError("Not now.")
    assert errors.plain(listed) is listed


def test_the_sentence_is_in_the_language_the_refusal_was_made_in():
    rate = ExchangeRate(currency="USD", to_currency="USD", rate="1", valid_on=date(2026, 1, 1))
    with translation.override("fr"):
        with pytest.raises(ValidationError) as refused:
            rate.full_clean()
        assert errors.plain(refused.value).message_dict == {"to_currency": [DISTINCT_FR]}


def test_the_databases_refusal_names_the_field_too():
    """Another request may get there between validation and save: the database's own error,
    check or unique, in PostgreSQL's words or SQLite's, maps to the same sentences."""
    ExchangeRateFactory(currency="EUR", to_currency="USD", valid_on=date(2026, 1, 1))
    found = {}
    for currency, to_currency in (("USD", "USD"), ("EUR", "USD")):
        try:
            with transaction.atomic():
                ExchangeRate.objects.create(
                    currency=currency, to_currency=to_currency, rate=1, valid_on=date(2026, 1, 1)
                )
        except IntegrityError as error:
            found.update(errors.from_integrity_error(error).message_dict)
    assert found == {"to_currency": [DISTINCT], "valid_on": [SAME_DAY]}


def test_an_unknown_database_refusal_asks_to_read_again():
    refusal = errors.from_integrity_error(IntegrityError("deadlock detected"))
    assert refusal.message_dict == {NON_FIELD_ERRORS: [str(errors.CONFLICT)]}


# --- Through each door ---------------------------------------------------------------------


def same_currencies(**extra):
    return {"currency": "USD", "to_currency": "USD", "rate": "1", "valid_on": "2026-01-01", **extra}


def test_api_answers_a_violation_with_the_sentence(cast):
    response = client_for(cast.finance).post(
        "/api/v1/exchange-rates/", same_currencies(), format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"to_currency": [DISTINCT]}
    assert not ExchangeRate.objects.exists()


def test_api_answers_in_the_readers_language(cast):
    response = client_for(cast.finance).post(
        "/api/v1/exchange-rates/", same_currencies(), format="json", HTTP_ACCEPT_LANGUAGE="fr"
    )
    assert response.json() == {"to_currency": [DISTINCT_FR]}


def test_api_says_what_a_valid_rate_is(cast):
    response = client_for(cast.finance).post(
        "/api/v1/exchange-rates/",
        {"currency": "EUR", "to_currency": "USD", "rate": "0", "valid_on": "2026-01-01"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"rate": [str(RATE_MESSAGE)]}


def test_page_shows_the_sentence_on_the_field(cast, client):
    client.force_login(cast.finance)
    response = client.post("/rates/", same_currencies())
    assert response.status_code == 400
    assert response.context["form"].errors == {"to_currency": [DISTINCT]}
    assert not INTERNALS.search(response.content.decode())
    assert not ExchangeRate.objects.exists()


def test_page_says_what_a_valid_rate_is(cast, client):
    client.force_login(cast.finance)
    response = client.post("/rates/", same_currencies(currency="EUR", rate="0"))
    assert response.context["form"].errors == {"rate": [str(RATE_MESSAGE)]}
    assert "1E-8" not in response.content.decode()


def test_admin_shows_the_sentence_on_the_field(cast, client):
    client.force_login(cast.manager)
    response = client.post("/admin/portfolio/exchangerate/add/", same_currencies())
    assert response.status_code == 200  # the admin shows its form again
    assert response.context["adminform"].form.errors == {"to_currency": [DISTINCT]}
    assert not INTERNALS.search(response.content.decode())
    assert not ExchangeRate.objects.exists()


def test_admin_refuses_a_duplicate_role_with_the_sentence(cast, client):
    client.force_login(cast.manager)
    data = {"user": cast.officer.pk, "organisation": cast.funder_a.pk, "role": "donor_officer"}
    response = client.post("/admin/portfolio/membership/add/", data)
    assert response.context["adminform"].form.errors == {
        "role": ["This person already has this role at this organisation."]
    }


def unchanged(response):
    """What the browser would send back for the admin change form in `response`."""
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        forms += [inline.formset.management_form, *inline.formset.forms]
    data = {}
    for form in forms:
        for name in form.fields:
            value = form[name].value()
            if value is not None and value is not False:
                data[form.add_prefix(name)] = "on" if value is True else value
    return data


def test_admin_inline_shows_the_sentence_too(cast, client):
    """The admin's inline forms (the loan terms under a tranche) pass through it as well."""
    terms = LoanTermsFactory(tranche=TrancheFactory(instrument=Tranche.Instrument.LOAN))
    client.force_login(cast.manager)
    url = f"/admin/funding/tranche/{terms.tranche.pk}/change/"
    data = unchanged(client.get(url))
    data["loan_terms-0-grace_months"] = data["loan_terms-0-tenor_months"]

    response = client.post(url, data)

    assert response.status_code == 200
    body = response.content.decode()
    assert "The grace period must be shorter than the tenor, which includes it." in body
    assert "loan_grace_shorter_than_tenor" not in body and "Constraint" not in body
    terms.refresh_from_db()
    assert terms.grace_months < terms.tenor_months

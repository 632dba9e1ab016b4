"""The portfolio's own writes: exchange rates and the set-up, each through its service."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from portfolio import services
from portfolio.models import ExchangeRate, Organisation, Portfolio
from tests.factories import ExchangeRateFactory

pytestmark = pytest.mark.django_db


def eur_rate(**changes):
    values = {
        "currency": "EUR",
        "to_currency": "USD",
        "rate": Decimal("1.08"),
        "valid_on": date(2026, 1, 1),
        "source": "ECB",
    }
    return ExchangeRate(**{**values, **changes})


def test_finance_records_a_rate_and_the_history_names_them(cast):
    saved = services.save_exchange_rate(eur_rate(), cast.finance)

    stored = ExchangeRate.objects.get()
    assert (stored.pk, stored.currency, stored.rate, stored.source) == (
        saved.pk,
        "EUR",
        Decimal("1.08000000"),
        "ECB",
    )
    assert stored.history.get().history_user == cast.finance


@pytest.mark.parametrize("role", ["officer", "evaluator", "no_role"])
def test_only_finance_and_managers_record_rates(cast, role):
    with pytest.raises(PermissionDenied):
        services.save_exchange_rate(eur_rate(), cast[role])
    assert not ExchangeRate.objects.exists()


def test_a_rate_is_validated_whole_before_it_is_saved(cast):
    with pytest.raises(ValidationError) as refused:
        services.save_exchange_rate(eur_rate(to_currency="EUR", rate=Decimal("0")), cast.finance)
    # Every problem at once: the rate, and the currencies (the constraint, worded by the doors).
    assert set(refused.value.message_dict) == {"rate", "__all__"}
    assert not ExchangeRate.objects.exists()


def test_a_rate_saved_meanwhile_by_another_request_is_refused_plainly(cast, monkeypatch):
    """Validation passed, then another request stored the same day's rate: the database
    refuses, and the refusal names the field; the transaction stays usable."""
    ExchangeRateFactory(currency="EUR", to_currency="USD", valid_on=date(2026, 1, 1))
    rate = eur_rate()
    monkeypatch.setattr(rate, "full_clean", lambda: None)

    with pytest.raises(ValidationError) as refused:
        services.save_exchange_rate(rate, cast.finance)

    assert list(refused.value.message_dict) == ["valid_on"]
    assert ExchangeRate.objects.count() == 1


def test_only_managers_set_up_portfolios_and_organisations(cast):
    with pytest.raises(PermissionDenied):
        services.save_portfolio(Portfolio(name="Fund"), cast.finance)
    with pytest.raises(PermissionDenied):
        services.save_organisation(Organisation(name="Donor", is_funder=True), cast.officer)

    services.save_portfolio(Portfolio(name="Fund"), cast.manager)
    services.save_organisation(Organisation(name="Donor", is_funder=True), cast.manager)

    assert Portfolio.objects.get().name == "Fund"
    assert Organisation.objects.filter(name="Donor", is_funder=True).exists()


def test_an_organisation_is_validated_before_it_is_saved(cast):
    with pytest.raises(ValidationError):
        services.save_organisation(Organisation(name="Nobody in particular"), cast.manager)
    assert not Organisation.objects.filter(name="Nobody in particular").exists()

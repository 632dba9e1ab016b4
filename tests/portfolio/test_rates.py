"""Exchange rates: the latest rate on or before a date, which rate was used, and the guards."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from portfolio.models import ExchangeRate
from portfolio.rates import Conversion, NoRateError, RateTable, convert_tranche
from tests.factories import ExchangeRateFactory

D = Decimal

# EUR into USD: three rates in 2026, deliberately given out of order.
EUR_USD_ROWS = [
    ("EUR", date(2026, 3, 1), D("1.15")),
    ("EUR", date(2026, 1, 1), D("1.10")),
    ("EUR", date(2026, 2, 1), D("1.20")),
]


@pytest.fixture
def eur_usd():
    return RateTable("USD", EUR_USD_ROWS)


@pytest.mark.parametrize(
    ("on", "rate", "rate_date"),
    [
        (date(2026, 1, 1), D("1.10"), date(2026, 1, 1)),  # on the day of a rate
        (date(2026, 1, 31), D("1.10"), date(2026, 1, 1)),  # the day before the next rate
        (date(2026, 2, 1), D("1.20"), date(2026, 2, 1)),
        (date(2026, 2, 28), D("1.20"), date(2026, 2, 1)),
        (date(2026, 3, 1), D("1.15"), date(2026, 3, 1)),
        (date(2030, 12, 31), D("1.15"), date(2026, 3, 1)),  # long after the last rate
    ],
)
def test_conversion_uses_latest_rate_on_or_before_the_date(eur_usd, on, rate, rate_date):
    conversion = eur_usd.convert(D("1000.00"), "EUR", on)

    assert conversion == Conversion(
        amount=(D("1000.00") * rate).quantize(D("0.01")),
        currency="USD",
        rate=rate,
        rate_date=rate_date,
    )


def test_conversion_says_amount_rate_and_rate_date(eur_usd):
    conversion = eur_usd.convert(D("250.00"), "EUR", date(2026, 2, 14))

    assert conversion.amount == D("300.00")
    assert conversion.currency == "USD"
    assert conversion.rate == D("1.20")
    assert conversion.rate_date == date(2026, 2, 1)


def test_converted_amount_is_rounded_half_up_to_the_cent(eur_usd):
    # 0.05 * 1.10 = 0.055, exactly half a cent: rounds up, not to even.
    assert eur_usd.convert(D("0.05"), "EUR", date(2026, 1, 15)).amount == D("0.06")


def test_same_currency_needs_no_rate():
    conversion = RateTable("USD", []).convert(D("123.45"), "USD", date(2000, 1, 1))

    assert conversion == Conversion(D("123.45"), "USD", D("1"), None)


def test_no_rate_before_the_date_is_refused_with_a_clear_message(eur_usd):
    with pytest.raises(NoRateError) as raised:
        eur_usd.convert(D("1000.00"), "EUR", date(2025, 12, 31))

    assert str(raised.value) == "No EUR to USD exchange rate on or before 2025-12-31."
    assert (raised.value.currency, raised.value.to_currency, raised.value.on) == (
        "EUR",
        "USD",
        date(2025, 12, 31),
    )


def test_currency_without_any_rate_is_refused(eur_usd):
    with pytest.raises(NoRateError, match="No GBP to USD exchange rate on or before 2026-06-01"):
        eur_usd.convert(D("1.00"), "GBP", date(2026, 6, 1))


def test_no_rate_error_is_a_lookup_error():
    assert issubclass(NoRateError, LookupError)


# --- on the database -------------------------------------------------------------------------


@pytest.fixture
def stored_eur_usd(db):
    for currency, valid_on, rate in EUR_USD_ROWS:
        ExchangeRateFactory(currency=currency, to_currency="USD", valid_on=valid_on, rate=rate)
    # Rates of other pairs must never be picked up.
    ExchangeRateFactory(currency="EUR", to_currency="GBP", valid_on=date(2026, 2, 10), rate="0.85")
    ExchangeRateFactory(currency="USD", to_currency="EUR", valid_on=date(2026, 2, 10), rate="0.90")


@pytest.mark.parametrize(
    ("on", "rate", "rate_date"),
    [
        (date(2026, 1, 20), D("1.10"), date(2026, 1, 1)),
        (date(2026, 2, 10), D("1.20"), date(2026, 2, 1)),
        (date(2026, 3, 1), D("1.15"), date(2026, 3, 1)),
    ],
)
def test_stored_rates_convert_with_latest_rate_on_or_before_the_date(
    stored_eur_usd, on, rate, rate_date
):
    conversion = ExchangeRate.convert(D("1000.00"), "EUR", "USD", on)

    assert conversion.amount == (D("1000.00") * rate).quantize(D("0.01"))
    assert (conversion.currency, conversion.rate, conversion.rate_date) == ("USD", rate, rate_date)


def test_stored_rates_refuse_a_date_before_the_first_rate(stored_eur_usd):
    with pytest.raises(NoRateError, match="No EUR to USD exchange rate on or before 2025-12-31"):
        ExchangeRate.convert(D("1000.00"), "EUR", "USD", date(2025, 12, 31))


@pytest.mark.django_db
def test_stored_conversion_in_the_same_currency_needs_no_stored_rate():
    conversion = ExchangeRate.convert(D("10.00"), "USD", "USD", date(2026, 1, 1))

    assert conversion == Conversion(D("10.00"), "USD", D("1"), None)


def test_rate_table_converts_many_amounts_after_one_query(
    stored_eur_usd, django_assert_num_queries
):
    ExchangeRateFactory(currency="KES", to_currency="USD", valid_on=date(2026, 1, 1), rate="0.0077")

    with django_assert_num_queries(1):
        table = ExchangeRate.table("USD")
        converted = [
            table.convert(D("1000.00"), "EUR", date(2026, 2, 10)),
            table.convert(D("1000.00"), "EUR", date(2026, 4, 1)),
            table.convert(D("1000000.00"), "KES", date(2026, 1, 2)),
            table.convert(D("5.00"), "USD", date(2026, 1, 2)),
        ]

    assert [(c.amount, c.rate_date) for c in converted] == [
        (D("1200.00"), date(2026, 2, 1)),
        (D("1150.00"), date(2026, 3, 1)),
        (D("7700.00"), date(2026, 1, 1)),
        (D("5.00"), None),
    ]
    with pytest.raises(NoRateError):
        table.convert(D("1.00"), "GBP", date(2026, 2, 10))  # only EUR->GBP is stored


@pytest.mark.django_db
@pytest.mark.parametrize("rate", ["0", "-1.10"])
def test_database_refuses_a_rate_that_is_not_positive(rate):
    with pytest.raises(IntegrityError), transaction.atomic():
        ExchangeRateFactory(rate=rate)


@pytest.mark.django_db
def test_database_refuses_two_rates_for_the_same_pair_and_day():
    ExchangeRateFactory(currency="EUR", to_currency="USD", valid_on=date(2026, 1, 1))

    with pytest.raises(IntegrityError), transaction.atomic():
        ExchangeRateFactory(currency="EUR", to_currency="USD", valid_on=date(2026, 1, 1))


@pytest.mark.django_db
def test_same_day_is_allowed_for_another_pair():
    ExchangeRateFactory(currency="EUR", to_currency="USD", valid_on=date(2026, 1, 1))
    ExchangeRateFactory(currency="USD", to_currency="EUR", valid_on=date(2026, 1, 1), rate="0.9")

    assert ExchangeRate.objects.count() == 2


@pytest.mark.django_db
def test_database_refuses_a_rate_between_a_currency_and_itself():
    with pytest.raises(IntegrityError), transaction.atomic():
        ExchangeRateFactory(currency="USD", to_currency="USD", rate="1")


@pytest.mark.django_db
@pytest.mark.parametrize("currency", ["eur", "EU", "EU1"])
def test_database_refuses_a_currency_that_is_not_three_capitals(currency):
    with pytest.raises(IntegrityError), transaction.atomic():
        ExchangeRateFactory(currency=currency)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value"),
    [("rate", D("0")), ("currency", "ABC"), ("currency", "BYR"), ("to_currency", "XYZ")],
)
def test_validation_refuses_zero_rate_and_unknown_or_withdrawn_currency(field, value):
    rate = ExchangeRateFactory.build(**{field: value})

    with pytest.raises(ValidationError) as raised:
        rate.full_clean()

    assert field in raised.value.message_dict


@pytest.mark.django_db
def test_validation_accepts_a_well_formed_rate():
    ExchangeRateFactory.build(currency="KES", to_currency="USD", rate=D("0.0077")).full_clean()


# --- convert_tranche: which rate each part of a tranche takes -----------------------------

EUR_TABLE = RateTable(
    "USD",
    [
        ("EUR", date(2025, 1, 1), "1.10"),
        ("EUR", date(2025, 6, 1), "1.20"),
        ("EUR", date(2026, 1, 1), "1.05"),
    ],
)


def test_a_disbursement_keeps_the_rate_of_its_own_date_when_rates_move():
    figures = convert_tranche(
        EUR_TABLE,
        amount=Decimal("1000.00"),
        currency="EUR",
        committed_on=date(2025, 2, 1),
        as_of=date(2026, 3, 1),
        disbursements=[(date(2025, 7, 1), Decimal("400.00"))],
    )
    assert figures.committed == Decimal("1100.00")  # 2025-01-01 rate, the commitment's
    assert figures.disbursed == Decimal("480.00")  # 2025-06-01 rate, the payment's
    assert figures.undisbursed == Decimal("630.00")  # 600 at the as-of rate 1.05
    assert figures.revaluation == Decimal("-60.00")  # 400 at 1.05 = 420, against 480 paid


def test_a_fixed_rate_agreed_in_the_tranche_converts_the_commitment():
    figures = convert_tranche(
        EUR_TABLE,
        amount=Decimal("1000.00"),
        currency="EUR",
        committed_on=date(2025, 2, 1),
        as_of=date(2026, 3, 1),
        fixed_rate=Decimal("1.15"),
    )
    assert figures.committed == Decimal("1150.00")
    assert figures.commitment_rate.rate == Decimal("1.15")


def test_disbursements_after_the_as_of_date_do_not_exist_yet():
    figures = convert_tranche(
        EUR_TABLE,
        amount=Decimal("1000.00"),
        currency="EUR",
        committed_on=date(2025, 2, 1),
        as_of=date(2025, 12, 31),
        disbursements=[(date(2026, 2, 1), Decimal("400.00"))],
    )
    assert figures.disbursed == Decimal("0.00")
    assert figures.undisbursed == Decimal("1200.00")


def test_conversion_rounds_half_up_to_the_cent():
    table = RateTable("USD", [("EUR", date(2025, 1, 1), "0.5")])
    assert table.convert(Decimal("1000.05"), "EUR", date(2025, 1, 2)).amount == Decimal("500.03")

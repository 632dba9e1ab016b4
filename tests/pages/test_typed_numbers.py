"""Every number box of the pages takes a number as people type it in their language, as the
app itself shows numbers: "900,000" in English, "12 500,50" in French."""

from datetime import date
from decimal import Decimal

import pytest
from django.utils import formats, translation
from django.utils.numberformat import format as number_format
from hypothesis import given
from hypothesis import strategies as st

from evaluations.models import Measurement
from funding.models import Disbursement, Tranche
from portfolio.numbers import plain_number
from tests.pages.test_forms import tranche_data

NARROW_NBSP = "\u202f"
NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("typed", "separators", "read"),
    [
        ("900,000", (".", ","), "900000"),
        ("5,500", (".", ","), "5500"),
        ("1,234,567.89", (".", ","), "1234567.89"),
        ("180000.00", (".", ","), "180000.00"),
        ("12 500,50", (",", NBSP), "12500.50"),
        (f"12{NARROW_NBSP}500,50", (",", NBSP), "12500.50"),
        (f"12{NBSP}500,50", (",", NBSP), "12500.50"),
        ("180000.00", (",", NBSP), "180000.00"),
        ("1.500,25", (",", "."), "1500.25"),
        (" 42 ", (".", ","), "42"),
    ],
)
def test_a_typed_number_is_read_as_its_language_writes_it(typed, separators, read):
    assert plain_number(typed, *separators) == read


@pytest.mark.parametrize("typed", ["5,5", "1,23,456", "1,5,0"])
def test_a_comma_that_does_not_group_thousands_is_not_guessed_at_in_english(typed):
    assert "," in plain_number(typed, ".", ",")


@given(st.decimals(min_value=-(10**12), max_value=10**12, places=2))
@pytest.mark.parametrize("language", ["en", "fr", "es"])
def test_what_the_app_displays_reads_back_as_the_same_number(language, value):
    with translation.override(language):
        shown = number_format(
            value,
            formats.get_format("DECIMAL_SEPARATOR"),
            2,
            3,
            formats.get_format("THOUSAND_SEPARATOR"),
            force_grouping=True,
        )
        read = plain_number(
            shown,
            formats.get_format("DECIMAL_SEPARATOR"),
            formats.get_format("THOUSAND_SEPARATOR"),
        )
    assert Decimal(read) == value


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "typed", "saved"),
    [
        ("en", "900,000", Decimal("900000.00")),
        ("fr", f"12{NARROW_NBSP}500,50", Decimal("12500.50")),
        ("fr", "12 500,50", Decimal("12500.50")),
        ("es", "12\u00a0500,50", Decimal("12500.50")),
    ],
)
def test_a_tranche_amount_is_saved_as_typed_in_the_readers_language(
    world, login, language, typed, saved
):
    client = login(world.users["officer"])
    data = tranche_data(**{"tranche-funder": world.funder_a.pk, "tranche-amount": typed})
    response = client.post(
        f"/projects/{world.project.pk}/tranches/new/", data, HTTP_ACCEPT_LANGUAGE=language
    )
    assert response.status_code == 302, response.context["form"].errors
    assert Tranche.objects.get(funder_reference="A-9").amount == saved


@pytest.mark.django_db
def test_a_comma_that_is_no_thousands_group_is_refused_in_english(world, login):
    client = login(world.users["officer"])
    data = tranche_data(**{"tranche-funder": world.funder_a.pk, "tranche-amount": "900,00"})
    response = client.post(
        f"/projects/{world.project.pk}/tranches/new/", data, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400
    assert "amount" in response.context["form"].errors
    assert not Tranche.objects.filter(funder_reference="A-9").exists()


@pytest.mark.django_db
def test_a_disbursement_amount_takes_thousands_groups(world, login):
    client = login(world.users["officer"])
    response = client.post(
        f"/tranches/{world.launch.pk}/disburse/",
        {"disbursed_on": "2026-02-20", "amount": "1,500.25"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 302
    assert Disbursement.objects.get(tranche=world.launch).amount == Decimal("1500.25")


@pytest.mark.django_db
def test_a_measurement_value_takes_thousands_groups(world, login):
    client = login(world.users["evaluator"])
    response = client.post(
        f"/projects/{world.project.pk}/measurements/new/",
        {
            "indicator": world.indicator.pk,
            "period_start": "2025-04-01",
            "period_end": "2025-06-30",
            "value": "5,500",
            "source": "Registry",
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 302
    assert Measurement.objects.get(period_start=date(2025, 4, 1)).value == Decimal("5500")


@pytest.mark.django_db
def test_number_boxes_are_text_boxes_with_a_numeric_keyboard(world, login):
    client = login(world.users["officer"])
    body = client.get(
        f"/tranches/{world.launch.pk}/edit/", HTTP_ACCEPT_LANGUAGE="fr"
    ).content.decode()
    assert 'type="number"' not in body
    assert 'inputmode="decimal"' in body
    amount = f"{world.launch.amount:.2f}".replace(".", ",")
    assert f'value="{amount}"' in body

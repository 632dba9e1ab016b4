"""Every date a person types lies from 1900-01-01 to 2200-12-31, held by one validator
(`portfolio.fields.validate_calendar_date`) through every door and by the database's checks;
every free text has a length limit, held by the model."""

from datetime import date

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction

from evaluations.models import Measurement
from funding.models import Disbursement, Tranche
from portfolio import errors
from portfolio.fields import EARLIEST_DATE, LATEST_DATE, TEXT_LENGTH, validate_calendar_date
from portfolio.models import ExchangeRate

pytestmark = pytest.mark.django_db

RANGE = "Give a date from 1900-01-01 to 2200-12-31."


@pytest.mark.parametrize("day", [date(1, 1, 1), date(1899, 12, 31), date(2201, 1, 1), date.max])
def test_a_date_outside_the_calendar_is_refused(day):
    with pytest.raises(ValidationError) as refused:
        validate_calendar_date(day)

    assert refused.value.messages == [RANGE]


@pytest.mark.parametrize("day", [EARLIEST_DATE, date(2026, 3, 1), LATEST_DATE, None])
def test_a_date_inside_the_calendar_passes(day):
    validate_calendar_date(day)


def test_a_tranche_dated_in_year_one_is_a_400_naming_the_field(api, world):
    response = api("officer").patch(
        f"/api/v1/tranches/{world.tranche.pk}/",
        {"committed_on": "0001-01-01", "expected_disbursement_on": "9999-12-31"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {"committed_on": [RANGE], "expected_disbursement_on": [RANGE]}
    world.tranche.refresh_from_db()
    assert world.tranche.committed_on != date(1, 1, 1)


def test_an_exchange_rate_valid_from_year_one_is_a_400(api, world):
    response = api("finance").post(
        "/api/v1/exchange-rates/",
        {"currency": "GBP", "to_currency": "USD", "rate": "1.25", "valid_on": "0001-01-01"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {"valid_on": [RANGE]}
    assert not ExchangeRate.objects.filter(currency="GBP").exists()


def test_a_disbursement_dated_9999_is_a_400_and_resolves_nothing(api, world):
    response = api("officer").post(
        "/api/v1/disbursements/",
        {"tranche": world.tranche.pk, "disbursed_on": "9999-12-31", "amount": "10.00"},
        format="json",
    )

    assert response.status_code == 400
    assert set(response.json()) == {"disbursed_on"}
    assert Disbursement.objects.filter(tranche=world.tranche).count() == 1


def test_a_measurement_period_outside_the_calendar_is_a_400(api, world):
    response = api("evaluator").post(
        "/api/v1/measurements/",
        {
            "indicator": world.indicator.pk,
            "period_start": "0001-01-01",
            "period_end": "2025-06-30",
            "value": "250",
            "source": "Registry extract",
        },
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {"period_start": [RANGE]}
    assert not Measurement.objects.filter(period_start=date(1, 1, 1)).exists()


def test_the_coverage_as_of_is_bounded_by_the_same_range(api, world):
    response = api("manager").get(
        f"/api/v1/projects/{world.project.pk}/coverage/", {"as_of": "2201-01-01"}
    )

    assert response.status_code == 400
    assert response.json() == {"as_of": [RANGE]}


@pytest.mark.parametrize(
    ("model", "field"),
    [
        (Tranche, "covers_until"),
        (Disbursement, "disbursed_on"),
        (ExchangeRate, "valid_on"),
        (Measurement, "period_end"),
    ],
)
def test_the_database_refuses_a_date_outside_the_calendar(world, model, field):
    row = model.objects.order_by("pk").first()

    with pytest.raises(IntegrityError) as refused, transaction.atomic():
        model.objects.filter(pk=row.pk).update(**{field: date(9999, 12, 31)})

    assert errors.from_integrity_error(refused.value).message_dict == {field: [RANGE]}


# --- Free text: every text field has a length limit through every door ----------------------


def test_tranche_notes_of_a_megabyte_are_a_400(api, world):
    # The probe: 1 MB of notes was accepted through the API.
    response = api("officer").patch(
        f"/api/v1/tranches/{world.tranche.pk}/", {"notes": "x" * (1 << 20)}, format="json"
    )

    assert response.status_code == 400
    assert set(response.json()) == {"notes"}


def test_the_model_itself_refuses_overlong_text(world):
    # The model, not only a form or serializer, holds the limit: imports and services that
    # call full_clean inherit it.
    world.tranche.notes = "x" * (TEXT_LENGTH + 1)

    with pytest.raises(ValidationError) as refused:
        world.tranche.full_clean()

    assert set(refused.value.message_dict) == {"notes"}


# Written by the system, never typed by a person.
SYSTEM_TEXT = {"portfolio.OutboxMessage.last_error", "reporting.ExportJob.error"}


def test_every_free_text_field_has_a_length_limit():
    unlimited = [
        f"{model._meta.label}.{field.name}"
        for model in apps.get_models()
        if not model._meta.label.startswith(("auth.", "admin.", "sessions.", "authtoken."))
        and not model.__name__.startswith("Historical")
        for field in model._meta.get_fields()
        if isinstance(field, models.TextField) and field.editable and field.max_length is None
    ]

    assert set(unlimited) == SYSTEM_TEXT

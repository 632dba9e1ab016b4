"""Pages in English, French and Spanish: a switcher, translated choice labels, local numbers."""

import re
from datetime import date

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.functional import Promise
from django_countries.fields import CountryField

from evaluations.templatetags.results import status_words
from funding.models import LoanTerms
from portfolio.fields import validate_currency
from portfolio.rates import NoRateError
from tests.factories import TrancheFactory

pytestmark = pytest.mark.django_db

# A few words are the same in French or Spanish.
SAME = {"Total", "Impact", "Final", "Rural", "Philanthropie"}


def model_choices():
    """Every choice list of every field of the project's models."""
    for model in apps.get_models():
        if model._meta.app_label not in {
            "portfolio",
            "projects",
            "funding",
            "evaluations",
            "reporting",
        }:
            continue
        for field in model._meta.fields:
            # Countries come translated from django-countries.
            if isinstance(field, CountryField) or model.__name__.startswith("Historical"):
                continue
            if field.choices:
                yield f"{model._meta.label}.{field.name}", field.choices


CHOICES = dict(model_choices())


def test_the_choice_lists_are_found():
    assert {
        "funding.Tranche.instrument",
        "projects.Project.status",
        "reporting.ExportJob.status",
    } <= set(CHOICES)
    assert len(CHOICES) >= 15


@pytest.mark.parametrize(
    "choices",
    # Disaggregation categories are the portfolio's own data, named in its words.
    [*CHOICES.values(), LoanTerms.FREQUENCIES],
    ids=[*CHOICES, "frequencies"],
)
def test_every_choice_label_is_translated_where_it_is_defined(choices):
    """The label itself is marked for translation (no parallel list to keep in step), and the
    French and Spanish catalogues translate it."""
    for _value, label in choices:
        assert isinstance(label, Promise), label
        english = str(label)
        for language in ("fr", "es"):
            with translation.override(language):
                assert str(label) != english or english in SAME, (language, english)


def test_page_forms_offer_choices_in_the_readers_language(world, login):
    client = login(world.users["manager"])
    body = client.get(
        f"/projects/{world.project.pk}/tranches/new/", HTTP_ACCEPT_LANGUAGE="fr"
    ).content.decode()
    assert ">Prêt concessionnel<" in body  # instrument
    assert ">Engagée (signée)<" in body  # status
    body = client.get(
        f"/projects/{world.project.pk}/evaluations/new/", HTTP_ACCEPT_LANGUAGE="es"
    ).content.decode()
    assert ">De medio término<" in body  # evaluation kind


@pytest.mark.parametrize(
    ("language", "heading", "amount"),
    [
        ("en", "Portfolio dashboard", "250,000.00"),
        ("fr", "Tableau de bord du portefeuille", "250\xa0000,00"),
        ("es", "Panel de la cartera", "250\xa0000,00"),  # Django's Spanish groups with a space
    ],
)
def test_pages_speak_the_readers_language(world, login, language, heading, amount):
    client = login(world.users["manager"])
    client.post("/i18n/setlang/", {"language": language, "next": "/"})
    assert heading in client.get("/").content.decode()
    world.launch.amount = "250000.00"
    world.launch.save()
    body = client.get(world.project.get_absolute_url()).content.decode()
    assert amount in body
    assert f'<html lang="{language}">' in body


def test_french_choice_labels_and_dates(world, login):
    client = login(world.users["manager"])
    body = client.get(world.project.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Engagée (signée)" in body  # tranche status
    assert "1 janvier 2025" in body or "1er janvier 2025" in body  # launch date


def test_every_input_has_a_label(world, login):
    client = login(world.users["manager"])
    for url in (
        f"/projects/{world.project.pk}/tranches/new/",
        f"/tranches/{world.maintenance.pk}/disburse/",
        f"/projects/{world.project.pk}/measurements/new/",
        "/measurements/upload/",
        f"/projects/{world.project.pk}/evaluations/new/",
        "/rates/",
        "/exports/",
        "/projects/",
    ):
        form = client.get(url).context["form"]
        for field in form.visible_fields():
            assert field.label, (url, field.name)
            assert f'for="{field.id_for_label}"' in field.label_tag()


def test_one_date_format_per_language_including_british_english(world, login):
    client = login(world.users["manager"])
    url = world.project.get_absolute_url()
    us = client.get(url, HTTP_ACCEPT_LANGUAGE="en-US").content.decode()
    assert "Jan. 1, 2025" in us  # the launch date
    assert not re.search(r"\b\d{2}/\d{2}/\d{4}\b", us)  # never 03/01/2026 beside it
    british = client.get(url, HTTP_ACCEPT_LANGUAGE="en-GB").content.decode()
    assert '<html lang="en-gb">' in british
    assert "1 Jan 2025" in british
    assert "Jan. 1, 2025" not in british
    assert not re.search(r"\b\d{1,2}:\d{2} [ap]\.m\.", british)  # a 24-hour clock
    french = client.get(url, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "1 janvier 2025" in french
    assert not re.search(r"\b\d{2}/\d{2}/\d{4}\b", french)


def test_the_site_has_a_favicon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("portfolio/favicon.svg")
    assert 'rel="icon"' in client.get("/accounts/login/").content.decode()


def test_a_targets_status_is_said_in_the_readers_language():
    with translation.override("fr"):
        assert status_words("on_track") == "en bonne voie"
        assert status_words("off_track") == "en retard"
    with translation.override("es"):
        assert status_words("achieved") != "achieved"
    assert status_words("something else") == "no data yet"


def test_a_models_validation_message_reaches_a_french_reader():
    """clean() writes its sentences at call time, in the reader's language."""
    tranche = TrancheFactory(maintenance=True)
    tranche.covers_until = tranche.covers_from.replace(year=tranche.covers_from.year - 1)
    with translation.override("fr"), pytest.raises(ValidationError) as refused:
        tranche.full_clean()
    assert (
        "La période de couverture ne peut pas finir avant de commencer."
        in (refused.value.message_dict["covers_until"])
    )


def test_a_validation_message_with_a_value_reaches_a_spanish_reader():
    """A value goes into its named place in the translated sentence."""
    with translation.override("es"), pytest.raises(ValidationError) as refused:
        validate_currency("XYZ")
    assert refused.value.messages == ["XYZ no es un código de moneda ISO 4217."]


def test_a_services_refusal_reaches_a_french_reader_on_the_page(world, login):
    client = login(world.users["officer"])
    response = client.post(
        f"/tranches/{world.maintenance.pk}/disburse/",
        {"disbursed_on": "2026-02-01", "amount": "60000", "reference": "X"},
        HTTP_ACCEPT_LANGUAGE="fr",
    )
    assert response.status_code == 400
    assert "non décaissés sur cette tranche" in response.context["form"].errors["amount"][0]


def test_a_missing_rate_is_said_in_the_readers_language():
    with translation.override("fr"):
        said = str(NoRateError("KES", "USD", date(2026, 3, 1)))
    assert said == "Aucun taux de change de KES en USD au 2026-03-01 ou avant."
    assert str(NoRateError("KES", "USD", date(2026, 3, 1))) == (
        "No KES to USD exchange rate on or before 2026-03-01."
    )

"""Pages in English, French and Spanish: a switcher, translated choice labels, local numbers."""

import pytest
from django.utils import translation

from evaluations.models import CATEGORY_CHOICES, EvaluationKind, FollowUp, MeasurementStatus
from funding.models import FlagKind, Instrument, Purpose, TrancheStatus
from portfolio.choice_labels import LABELS
from projects.models import Status

pytestmark = pytest.mark.django_db

SAME = {"Total", "Impact", "Final"}


@pytest.mark.parametrize(
    "choices",
    [
        Instrument.choices,
        Purpose.choices,
        TrancheStatus.choices,
        FlagKind.choices,
        Status.choices,
        MeasurementStatus.choices,
        EvaluationKind.choices,
        FollowUp.choices,
        CATEGORY_CHOICES,
    ],
)
def test_every_choice_label_shown_on_a_page_is_translated(choices):
    for _, label in choices:
        assert label in LABELS
        for language in ("fr", "es"):
            with translation.override(language):
                # A few words are the same in French or Spanish.
                assert translation.gettext(label) != label or label in SAME


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
        f"/projects/{world.project.pk}/evaluations/new/",
        "/rates/",
        "/exports/",
        "/projects/",
    ):
        form = client.get(url).context["form"]
        for field in form.visible_fields():
            assert field.label, (url, field.name)
            assert f'for="{field.id_for_label}"' in field.label_tag()

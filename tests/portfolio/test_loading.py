"""A row read whole becomes the same instance without Model.__init__ as with it."""

import pytest
from django.db.models import Model
from django.db.models.signals import post_init

from funding.models import Tranche
from portfolio import loading
from portfolio.models import Organisation
from projects.models import Project
from tests.factories import ProjectFactory, TrancheFactory

pytestmark = pytest.mark.django_db


def fields_of(instance):
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.fields}


@pytest.fixture
def django_way(monkeypatch):
    """Reads built by Model.__init__, as Django builds them."""
    monkeypatch.setattr(loading, "_loaded_as_given", lambda model: None)


def test_a_row_read_whole_is_built_without_model_init(monkeypatch):
    tranche = TrancheFactory()
    built = []
    init = Model.__init__

    def counted(self, *args, **kwargs):
        built.append(type(self))
        init(self, *args, **kwargs)

    monkeypatch.setattr(Model, "__init__", counted)

    read = Tranche.objects.get(pk=tranche.pk)

    assert read.pk == tranche.pk and read.project_id == tranche.project_id
    assert built == []


@pytest.mark.parametrize("model", [Tranche, Project, Organisation])
def test_an_instance_read_quickly_is_the_instance_django_reads(model, request):
    TrancheFactory(project=ProjectFactory(country="KE"))
    quick = list(model.objects.order_by("pk"))

    request.getfixturevalue("django_way")
    slow = list(model.objects.order_by("pk"))

    assert [fields_of(row) for row in quick] == [fields_of(row) for row in slow]
    assert all(not row._state.adding and row._state.db == "default" for row in quick)


def test_a_country_read_quickly_is_the_country_of_its_code():
    project = ProjectFactory(country="KE")

    read = Project.objects.get(pk=project.pk)

    assert read.country.code == "KE" and read.country.name == "Kenya"


def test_a_read_instance_remembers_what_was_stored_and_saves_as_an_update():
    tranche = TrancheFactory()
    read = Tranche.objects.get(pk=tranche.pk)

    read.notes = "changed"
    read.save()

    assert read.stored("project_id") == tranche.project_id
    assert Tranche.objects.get(pk=tranche.pk).notes == "changed"
    assert Tranche.objects.count() == 1


def test_a_row_with_deferred_columns_is_read_django_s_way():
    tranche = TrancheFactory(notes="kept")

    read = Tranche.objects.only("id", "project").get(pk=tranche.pk)

    assert read.get_deferred_fields() and read.notes == "kept"


def test_a_post_init_receiver_still_hears_every_row_read():
    tranche = TrancheFactory()
    heard = []

    def receiver(sender, instance, **kwargs):
        heard.append(instance.pk)

    post_init.connect(receiver, sender=Tranche)
    try:
        Tranche.objects.get(pk=tranche.pk)
    finally:
        post_init.disconnect(receiver, sender=Tranche)

    assert heard == [tranche.pk]

"""StoredValues remembers what the database holds, through reads, saves and refreshes."""

import pytest

from funding.models import Tranche
from projects.models import Project
from tests.factories import ProjectFactory, TrancheFactory

pytestmark = pytest.mark.django_db


def test_a_row_read_from_the_database_remembers_its_values():
    project = Project.objects.get(pk=ProjectFactory(sustainability_months=36).pk)
    assert project.stored("sustainability_months") == 36
    assert not project.changed()
    project.sustainability_months = 48
    assert project.changed("sustainability_months")
    assert project.stored("sustainability_months") == 36


def test_saving_makes_the_new_values_the_stored_ones():
    project = Project.objects.get(pk=ProjectFactory(sustainability_months=36).pk)
    project.sustainability_months = 48
    project.save()
    assert project.stored("sustainability_months") == 48
    assert not project.changed()


def test_a_new_row_counts_as_changed_until_saved():
    project = ProjectFactory.build()
    assert not project.is_stored
    assert project.changed()


def test_refreshing_some_fields_keeps_unsaved_edits_to_others():
    project = Project.objects.get(pk=ProjectFactory(sustainability_months=36).pk)
    project.sustainability_months = 48
    Project.objects.filter(pk=project.pk).update(status=Project.Status.CANCELLED)
    project.refresh_from_db(fields=["status"])
    assert project.stored("status") == Project.Status.CANCELLED
    assert project.changed("sustainability_months")


def test_saving_a_foreign_key_by_its_field_name_remembers_its_column():
    tranche = Tranche.objects.get(pk=TrancheFactory().pk)
    tranche.project = ProjectFactory()
    Tranche.save(tranche, update_fields=["project"])
    assert tranche.stored("project_id") == tranche.project_id

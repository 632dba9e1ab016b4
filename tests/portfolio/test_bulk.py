"""update_rows: many rows updated at once, each with its own values, in linear time."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from funding.models import Tranche
from portfolio.bulk import copy_to_history, update_rows
from tests.factories import TrancheFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_each_row_gets_its_own_values_and_other_rows_are_untouched():
    changed = [TrancheFactory(notes="old") for _ in range(5)]
    untouched = TrancheFactory(notes="keep")
    for n, tranche in enumerate(changed):
        tranche.notes = f"new {n}"
        tranche.amount = Decimal("1000.00") + n
        tranche.covers_until = date(2030, 1, 1) if n % 2 else None

    update_rows(Tranche, changed, ["notes", "amount", "covers_until"], batch_size=2)

    stored = {t.pk: t for t in Tranche.objects.all()}
    for n, tranche in enumerate(changed):
        row = stored[tranche.pk]
        assert (row.notes, row.amount) == (f"new {n}", Decimal("1000.00") + n)
        assert row.covers_until == (date(2030, 1, 1) if n % 2 else None)
    assert stored[untouched.pk].notes == "keep"


def test_one_statement_a_batch():
    tranches = [TrancheFactory() for _ in range(6)]
    for tranche in tranches:
        tranche.notes = "batched"

    with CaptureQueriesContext(connection) as captured:
        update_rows(Tranche, tranches, ["notes"], batch_size=4)

    assert len(captured) == 2
    assert Tranche.objects.filter(notes="batched").count() == 6


def test_history_rows_are_copies_of_the_stored_rows_with_who_and_when():
    user = UserFactory()
    tranches = [TrancheFactory(notes=f"row {n}") for n in range(3)]
    Tranche.history.all().delete()
    when = timezone.now()

    copy_to_history(Tranche, [t.pk for t in tranches], "~", user, when, batch_size=2)

    for tranche in tranches:
        (record,) = tranche.history.all()
        assert (record.history_type, record.history_user, record.history_date) == ("~", user, when)
        assert record.history_change_reason is None
        assert record.instance.notes == tranche.notes
        assert record.instance.amount == tranche.amount
        assert record.project_id == tranche.project_id

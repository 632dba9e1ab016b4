"""Rules that belong to one set of payout terms: a results-based tranche, a target of its project."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from evaluations.models import PayoutRule
from funding.models import Tranche
from tests.factories import TrancheFactory

from ..factories import PayoutTermsFactory, TargetFactory

pytestmark = pytest.mark.django_db


def errors_of(excinfo):
    return excinfo.value.message_dict


def test_only_a_results_based_tranche_takes_payout_terms():
    terms = PayoutTermsFactory()
    terms.tranche = TrancheFactory(
        project=terms.tranche.project, instrument=Tranche.Instrument.GRANT
    )
    with pytest.raises(ValidationError) as excinfo:
        terms.full_clean()
    assert "tranche" in errors_of(excinfo)


def test_payout_target_must_be_of_the_tranches_project():
    terms = PayoutTermsFactory()
    terms.target = TargetFactory()
    with pytest.raises(ValidationError) as excinfo:
        terms.full_clean()
    assert "target" in errors_of(excinfo)


def test_minimum_achievement_applies_only_to_pro_rata():
    terms = PayoutTermsFactory(rule=PayoutRule.ALL_OR_NOTHING)
    terms.minimum_achievement = Decimal("0.5")
    with pytest.raises(ValidationError) as excinfo:
        terms.full_clean()
    assert "minimum_achievement" in errors_of(excinfo)
    with pytest.raises(IntegrityError), transaction.atomic():
        terms.save()

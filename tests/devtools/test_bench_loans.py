"""manage.py bench_loans measures loan statuses on synthetic loans, then removes them."""

from io import StringIO

import pytest
from django.core.management import call_command

from funding.models import Repayment, Tranche


@pytest.mark.django_db
def test_bench_loans_prints_its_figures_with_a_fixed_number_of_queries():
    out = StringIO()
    call_command("bench_loans", loans=40, stdout=out)
    text = out.getvalue()
    assert "loan statuses: " in text and ", 3 queries," in text
    # Every fourth loan misses its latest instalment (10 of 40), and every tenth pays only its
    # interest (loans 9, 19, 29, 39; 19 and 39 are among the fourth ones): 12 in arrears.
    assert "40 loans, 12 in arrears" in text
    assert not Tranche.objects.exists() and not Repayment.objects.exists()

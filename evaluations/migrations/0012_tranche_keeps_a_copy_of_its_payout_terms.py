"""PostgreSQL keeps a copy of each results-based tranche's payout terms in the tranche's row.

As funding 0011 does for loan terms, with its trigger function, and for the same reason: the
tranche list reads the terms, with what verified results have earned, without a join. The
copy is written in the statement that writes the terms, so a payout recalculation moves it
with the earned amount. Not a model field, so Django never writes it.
"""

import importlib

from django.db import migrations

# A migration is history that does not change, so its helpers may be borrowed.
loan_terms_copy = importlib.import_module(
    "funding.migrations.0011_tranche_keeps_a_copy_of_its_loan_terms"
)

PAYOUT_TERMS, NO_PAYOUT_TERMS = loan_terms_copy.copy_into_tranche(
    "evaluations_payoutterms", "payout_terms_copy"
)


class Migration(migrations.Migration):
    dependencies = [
        ("evaluations", "0011_standard_definition_checked_by_the_model"),
        ("funding", "0011_tranche_keeps_a_copy_of_its_loan_terms"),
    ]

    operations = [
        migrations.RunPython(
            loan_terms_copy.on_postgresql(PAYOUT_TERMS),
            loan_terms_copy.on_postgresql(NO_PAYOUT_TERMS),
        )
    ]

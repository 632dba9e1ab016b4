"""PostgreSQL keeps a copy of each results-based tranche's payout terms in the tranche's row.

As funding 0011 does for loan terms, and for the same reason: the tranche list reads the
terms, with what verified results have earned, without a join. A trigger writes the copy in
the statement that writes the terms, so a payout recalculation moves the copy with the
earned amount. Not a model field, so Django never writes it.
"""

from django.db import migrations

COPY = """
ALTER TABLE funding_tranche ADD COLUMN payout_terms_copy text NULL;

CREATE FUNCTION evaluations_copy_payout_terms() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND OLD.tranche_id <> NEW.tranche_id) THEN
        UPDATE funding_tranche SET payout_terms_copy = NULL WHERE id = OLD.tranche_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE funding_tranche SET payout_terms_copy = row_to_json(NEW)::text
            WHERE id = NEW.tranche_id;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER payout_terms_copied
    AFTER INSERT OR UPDATE OR DELETE ON evaluations_payoutterms
    FOR EACH ROW EXECUTE FUNCTION evaluations_copy_payout_terms();

UPDATE funding_tranche SET payout_terms_copy = row_to_json(terms)::text
    FROM evaluations_payoutterms AS terms WHERE terms.tranche_id = funding_tranche.id;
"""

DROP = """
DROP TRIGGER IF EXISTS payout_terms_copied ON evaluations_payoutterms;
DROP FUNCTION IF EXISTS evaluations_copy_payout_terms();
ALTER TABLE funding_tranche DROP COLUMN IF EXISTS payout_terms_copy;
"""


def run(sql):
    def operation(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(sql)

    return operation


class Migration(migrations.Migration):
    dependencies = [
        ("evaluations", "0011_standard_definition_checked_by_the_model"),
        ("funding", "0011_tranche_keeps_a_copy_of_its_loan_terms"),
    ]

    operations = [migrations.RunPython(run(COPY), run(DROP))]

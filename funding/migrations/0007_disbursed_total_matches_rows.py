"""PostgreSQL holds the rule that a tranche's stored disbursed total is the sum of its rows.

A deferred constraint trigger checks each tranche a transaction touched, at commit: the
services change the row and the total one statement apart, so only the end of the
transaction can be judged. Other databases rely on the daily scan's reconciliation.
"""

from django.db import migrations

CHECK = """
CREATE OR REPLACE FUNCTION funding_check_disbursed_total(tranche bigint) RETURNS void AS $$
DECLARE
    stored numeric;
    summed numeric;
BEGIN
    SELECT disbursed_amount INTO stored FROM funding_tranche WHERE id = tranche;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    SELECT COALESCE(SUM(amount), 0) INTO summed FROM funding_disbursement
        WHERE tranche_id = tranche;
    IF stored <> summed THEN
        RAISE EXCEPTION 'tranche % records % disbursed, but its disbursements sum to %',
            tranche, stored, summed
            USING ERRCODE = 'check_violation', CONSTRAINT = 'tranche_disbursed_total_matches';
    END IF;
END
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION funding_disbursement_total_trigger() RETURNS trigger AS $$
BEGIN
    IF TG_TABLE_NAME = 'funding_tranche' THEN
        PERFORM funding_check_disbursed_total(NEW.id);
    ELSE
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            PERFORM funding_check_disbursed_total(OLD.tranche_id);
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            PERFORM funding_check_disbursed_total(NEW.tranche_id);
        END IF;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER disbursement_total_matches
    AFTER INSERT OR UPDATE OR DELETE ON funding_disbursement
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION funding_disbursement_total_trigger();

-- A new tranche has no disbursements yet, so only a total other than zero needs checking;
-- a stored total, only when it changes (an import of 20,000 tranches costs no checks).
CREATE CONSTRAINT TRIGGER tranche_disbursed_total_matches
    AFTER INSERT ON funding_tranche
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.disbursed_amount <> 0)
    EXECUTE FUNCTION funding_disbursement_total_trigger();

CREATE CONSTRAINT TRIGGER tranche_disbursed_total_changed
    AFTER UPDATE OF disbursed_amount ON funding_tranche
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (OLD.disbursed_amount IS DISTINCT FROM NEW.disbursed_amount)
    EXECUTE FUNCTION funding_disbursement_total_trigger();
"""

DROP = """
DROP TRIGGER IF EXISTS tranche_disbursed_total_changed ON funding_tranche;
DROP TRIGGER IF EXISTS tranche_disbursed_total_matches ON funding_tranche;
DROP TRIGGER IF EXISTS disbursement_total_matches ON funding_disbursement;
DROP FUNCTION IF EXISTS funding_disbursement_total_trigger();
DROP FUNCTION IF EXISTS funding_check_disbursed_total(bigint);
"""


def run(sql):
    def operation(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(sql)  # no parameters: the % of RAISE are PL/pgSQL's own

    return operation


class Migration(migrations.Migration):
    dependencies = [("funding", "0006_list_indexes")]

    operations = [migrations.RunPython(run(CHECK), run(DROP))]

"""PostgreSQL keeps a copy of each tranche's loan terms in the tranche's own row, for lists.

A page of 50 tranches read their terms with a join, which cost the list a tenth of its
Python time and a quarter of PostgreSQL's. The copy is written by a trigger in the statement
that writes the terms, whoever writes them (a service, a bulk insert, a cascade), so it never
lags the terms. It is the terms row as JSON (`row_to_json`, so a column added later is copied
too). It is not a model field: Django never writes it, so a tranche saved from an instance
read earlier cannot put back old terms. `funding.tranche_terms.tranches_with_terms()` reads
it; other databases read the terms with a join.

`funding_copy_to_tranche` serves any table of rows that belong one to a tranche (its
`tranche_id`): the trigger names the tranche's column that holds the copy. Evaluations 0012
copies payout terms with it.
"""

import importlib

from django.db import migrations

COPY = """
CREATE FUNCTION funding_copy_to_tranche() RETURNS trigger AS $$
DECLARE
    copy_column text := quote_ident(TG_ARGV[0]);
BEGIN
    IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND OLD.tranche_id <> NEW.tranche_id) THEN
        EXECUTE format('UPDATE funding_tranche SET %s = NULL WHERE id = $1', copy_column)
            USING OLD.tranche_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        EXECUTE format('UPDATE funding_tranche SET %s = $1 WHERE id = $2', copy_column)
            USING row_to_json(NEW)::text, NEW.tranche_id;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
"""

DROP = "DROP FUNCTION IF EXISTS funding_copy_to_tranche();"


def copy_into_tranche(table, column):
    """The SQL that adds `column` to the tranche table, fills it with a copy of each tranche's
    row of `table`, and keeps it so; and the SQL that takes it away again."""
    trigger = f"{column}_kept"
    # Names written in these migrations, never input.
    return (
        f"""
        ALTER TABLE funding_tranche ADD COLUMN {column} text NULL;
        CREATE TRIGGER {trigger} AFTER INSERT OR UPDATE OR DELETE ON {table}
            FOR EACH ROW EXECUTE FUNCTION funding_copy_to_tranche('{column}');
        UPDATE funding_tranche SET {column} = row_to_json(copied)::text
            FROM {table} AS copied WHERE copied.tranche_id = funding_tranche.id;
        """,  # noqa: S608
        f"""
        DROP TRIGGER IF EXISTS {trigger} ON {table};
        ALTER TABLE funding_tranche DROP COLUMN IF EXISTS {column};
        """,
    )


# Funding 0007's runner of SQL on PostgreSQL alone; a migration is history that does not
# change, so its helpers may be borrowed (evaluations 0012 borrows this module's).
on_postgresql = importlib.import_module("funding.migrations.0007_disbursed_total_matches_rows").run

LOAN_TERMS, NO_LOAN_TERMS = copy_into_tranche("funding_loanterms", "loan_terms_copy")


class Migration(migrations.Migration):
    dependencies = [("funding", "0010_allocations_and_line_flags")]

    operations = [
        migrations.RunPython(on_postgresql(COPY), on_postgresql(DROP)),
        migrations.RunPython(on_postgresql(LOAN_TERMS), on_postgresql(NO_LOAN_TERMS)),
    ]

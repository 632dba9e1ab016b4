"""Tranches with their loan and payout terms, as the API shows them: on PostgreSQL from the
copies a trigger keeps in the tranche's own row (migrations funding 0011 and evaluations
0012), elsewhere by a join."""

from django.db import connection
from django.db.models import Expression, TextField
from django.db.models.query import ModelIterable

from portfolio.rows import JSON, row_from_json

from .models import Tranche

# The one-to-one relations copied, and the column of the tranche row that holds each copy.
COPIES = {"loan_terms": "loan_terms_copy", "payout_terms": "payout_terms_copy"}


def tranches_with_terms():
    """Every tranche, each read with its loan terms and payout terms (or None for none)."""
    if connection.vendor != "postgresql":
        return Tranche.objects.select_related(*COPIES)
    queryset = Tranche.objects.annotate(**{column: OwnColumn(column) for column in COPIES.values()})
    queryset._iterable_class = TermsFromCopies
    return queryset


class OwnColumn(Expression):
    """A column of the queried table that is no model field, such as a copy a trigger keeps."""

    output_field = TextField()

    def __init__(self, column):
        super().__init__()
        self.column = column

    def as_sql(self, compiler, connection):
        table = compiler.quote_name_unless_alias(compiler.query.base_table)
        return f"{table}.{connection.ops.quote_name(self.column)}", []


class TermsFromCopies(ModelIterable):
    """Tranches whose related terms are built from the copies in their rows (the terms row as
    PostgreSQL's `row_to_json` writes it), and cached on them as select_related() would."""

    def __iter__(self):
        db = self.queryset.db
        relations = [(Tranche._meta.get_field(name), column) for name, column in COPIES.items()]
        for tranche in super().__iter__():
            held = tranche.__dict__
            for relation, column in relations:
                copy = held.pop(column)
                terms = None if copy is None else from_copy(relation.related_model, copy, db)
                if terms is not None:
                    relation.remote_field.set_cached_value(terms, tranche)
                relation.set_cached_value(tranche, terms)
            yield tranche


def from_copy(model, copy, db):
    # A column missing from the copy is a KeyError, never a value made up.
    row = JSON.decode(copy)
    return row_from_json(model, [row[field.column] for field in model._meta.concrete_fields], db)

"""Tranches with their loan and payout terms, as the API shows them: on PostgreSQL from the
copies a trigger keeps in the tranche's own row (migrations funding 0011 and evaluations
0012), elsewhere by a join."""

import json
from datetime import date
from decimal import Decimal

from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.models import Expression, TextField
from django.db.models.query import ModelIterable

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
    """Tranches whose related terms are built from the copies in their rows, and cached on
    them as select_related() would cache them."""

    def __iter__(self):
        db = self.queryset.db
        relations = [
            (Tranche._meta.get_field(name), column, builder(name))
            for name, column in COPIES.items()
        ]
        for tranche in super().__iter__():
            held = tranche.__dict__
            for relation, column, build in relations:
                copy = held.pop(column)
                terms = None if copy is None else build(db, copy)
                if terms is not None:
                    relation.remote_field.set_cached_value(terms, tranche)
                relation.set_cached_value(tranche, terms)
            yield tranche


_builders = {}
JSON = json.JSONDecoder(parse_float=Decimal)  # numbers as exact as the columns' own


def builder(name):
    """For the relation `name`, a function from a copy (the row as PostgreSQL's JSON: numbers
    exact, dates as ISO text) to an instance of its model, as if read from its table."""
    if name not in _builders:
        model = Tranche._meta.get_field(name).related_model
        fields = model._meta.concrete_fields
        names = [field.attname for field in fields]
        columns = [(field.column, reading(field)) for field in fields]

        def build(db, copy):
            row = JSON.decode(copy)
            values = [
                row[column] if read is None or row[column] is None else read(row[column])
                for column, read in columns
            ]
            return model.from_db(db, names, values)

        _builders[name] = build
    return _builders[name]


# How a value of each kind of column reads from JSON, where JSON's own type is not the one
# the database driver gives (None: it is).
READINGS = {
    "AutoField": None,
    "BigAutoField": None,
    "BigIntegerField": None,
    "BooleanField": None,
    "CharField": None,
    "DateField": date.fromisoformat,
    "DecimalField": Decimal,  # a decimal JSON number is a Decimal already; a whole one is not
    "ForeignKey": None,
    "IntegerField": None,
    "OneToOneField": None,
    "PositiveIntegerField": None,
    "PositiveSmallIntegerField": None,
    "SmallIntegerField": None,
    "TextField": None,
}


def reading(field):
    kind = field.get_internal_type()
    if kind not in READINGS or hasattr(field, "from_db_value"):
        raise ImproperlyConfigured(
            f"{field.model.__name__}.{field.name} ({kind}) has no known reading from a copy"
        )
    return READINGS[kind]

"""The rows of an API list page, serialized the shortest way each field allows.

DRF reads every field of every row through the same general path: the field's
`get_attribute()` walks its source, tests each step for a callable and a mapping, and wraps
a related id in an object, for a page of 50 rows and 20 fields a thousand times over. Most
fields are a plain attribute of the row, or a foreign key whose id the row already holds:
`Rows` reads those directly and leaves every other field (nested serializers, computed
fields, sources through relations) to DRF, so the answer is the same, field for field.
"""

from contextlib import suppress

from django.core.exceptions import FieldDoesNotExist
from rest_framework import fields, relations, serializers


class Rows(serializers.ListSerializer):
    """A list of rows read for an answer (never for writing)."""

    def to_representation(self, data):
        readers = [reader(field) for field in self.child._readable_fields]
        rows = []
        for row in data:
            out = {}
            for name, read in readers:
                with suppress(fields.SkipField):  # as DRF does, the field is left out
                    out[name] = read(row)
            rows.append(out)
        return rows


def reader(field):
    """(name, function of a row giving the field's representation)."""
    represent = field.to_representation
    attrs = field.source_attrs
    plain = (
        type(field).get_attribute is fields.Field.get_attribute
        and not isinstance(field, serializers.BaseSerializer)
        and len(attrs) == 1
    )
    if plain:
        (attr,) = attrs

        def read(row):
            try:
                value = getattr(row, attr)
            except AttributeError:
                return general(field, row)
            if value is None:
                return None
            if callable(value):
                return general(field, row)
            return represent(value)

        return field.field_name, read

    by_id = (
        isinstance(field, relations.PrimaryKeyRelatedField)
        and type(field).get_attribute is relations.RelatedField.get_attribute
        and type(field).to_representation is relations.PrimaryKeyRelatedField.to_representation
        and field.pk_field is None
        and len(attrs) == 1
    )
    if by_id:
        (attr,) = attrs
        columns = {}  # model -> the column holding the related row's id, or None

        def read(row):
            model = type(row)
            if model not in columns:
                columns[model] = id_column(model, attr)
            column = columns[model]
            return general(field, row) if column is None else getattr(row, column)

        return field.field_name, read

    return field.field_name, lambda row: general(field, row)


def id_column(model, name):
    try:
        found = model._meta.get_field(name)
    except FieldDoesNotExist:
        return None
    if found.concrete and (found.many_to_one or found.one_to_one):
        return found.attname
    return None


def general(field, row):
    """DRF's own way: the field's get_attribute() and its test for a missing value."""
    attribute = field.get_attribute(row)
    check_for_none = attribute.pk if isinstance(attribute, relations.PKOnlyObject) else attribute
    return None if check_for_none is None else field.to_representation(attribute)

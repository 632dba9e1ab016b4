"""The rows of an API list page, serialized the shortest way each field allows.

DRF reads every field of every row through the same general path: the field's
`get_attribute()` walks its source, tests each step for a callable and a mapping, and wraps
a related id in an object, for a page of 50 rows and 20 fields a thousand times over; and it
builds the serializer's fields anew for every request. Most fields are a plain attribute of
the row, or a foreign key whose id the row already holds, written by a field whose answer
depends on nothing but the value: `Rows` builds those fields once per serializer class, reads
them directly (a column from what the row holds, a property through its own rule, a value
through related rows step by step, a related row with its own serializer the same ways),
and leaves every other field (computed fields, nested lists, any field class not known
here) to DRF, built for the request as DRF builds it, so the answer is the same, field for
field.
"""

import contextlib
import contextvars
import copy
import decimal
import functools
import json
import threading
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist, ObjectDoesNotExist
from django.db import NotSupportedError
from django.db.models import F, Field, Func, Model
from django.db.models.fields.related_descriptors import (
    ForeignKeyDeferredAttribute,
    ForwardManyToOneDescriptor,
    ForwardOneToOneDescriptor,
    ReverseOneToOneDescriptor,
)
from django.db.models.query_utils import DeferredAttribute
from django.utils import timezone
from django_countries import fields as country_fields
from django_countries.serializer_fields import CountryField
from rest_framework import fields, relations, serializers
from rest_framework.settings import api_settings

from .loading import descriptor_of

# Fields whose representation depends on the value alone (never on the request, the context
# or the parent), so one instance a serializer class serves every request. Exact classes: a
# subclass may read or write its value another way.
VALUE_ONLY = {
    fields.BigIntegerField,
    fields.BooleanField,
    fields.CharField,
    fields.ChoiceField,
    fields.DateField,
    fields.DateTimeField,
    fields.DecimalField,
    fields.EmailField,
    fields.FloatField,
    fields.IntegerField,
    fields.JSONField,
    fields.SlugField,
    fields.URLField,
    fields.UUIDField,
    fields.ListField,
    relations.PrimaryKeyRelatedField,
    CountryField,
}


class Rows(serializers.ListSerializer):
    """A list of rows read for an answer (never for writing)."""

    def to_representation(self, data):
        rows = list(data)
        model = type(rows[0]) if rows else None
        readers = readers_of(type(self.child), model)
        with answering(self.child):
            return [write(readers, model, row) for row in rows]


class ReadQuickly:
    """Serializer mixin: one row (a detail, a write's answer) written the ways `Rows` writes
    each row of a list, rather than DRF building every field anew for it. Anything but a
    model's row is written DRF's way."""

    def to_representation(self, instance):
        if not isinstance(instance, Model):
            return super().to_representation(instance)
        model = type(instance)
        readers = readers_of(type(self), model)
        with answering(self):
            return write(readers, model, instance)


class Answer:
    """The serializer a list is written with for one request, and the fields built for that
    request from it (`built_on_first_use`)."""

    def __init__(self, serializer):
        self.serializer = serializer
        self.built = {}
        # An instant's zone, as DRF's DateTimeField.default_timezone() gives it, asked once.
        self.zone = timezone.get_current_timezone() if settings.USE_TZ else None
        self.zone_is_utc = self.zone is UTC or getattr(self.zone, "key", None) in UTC_NAMES


UTC_NAMES = {"UTC", "Etc/UTC"}  # zones that are UTC itself, whatever the date
ANSWER = contextvars.ContextVar("answer")  # the Answer being written in this thread


@contextlib.contextmanager
def answering(serializer):
    """Write an answer with `serializer` (readers find it, and the request's own fields, in
    `ANSWER`); an answer written inside another (a nested list) gives it back after."""
    token = ANSWER.set(Answer(serializer))
    try:
        yield
    finally:
        ANSWER.reset(token)


def readers_of(serializer_class, model):
    """How to write each field of a serializer of this class for rows of `model`, worked out
    once: nothing in a reader belongs to a request (what does is built on first use for the
    request being answered)."""
    found = _readers.get((serializer_class, model))
    if found is None:
        found = [
            reader(name, field, lambda: ANSWER.get().serializer, model)
            for name, field in readable_fields(serializer_class)
        ]
        _readers[serializer_class, model] = found
    return found


_readers = {}  # (serializer class, model) -> readers


MISSING = object()


def write(readers, model, row):
    """The row's representation. A field that is a column of the row (`column`) is read from
    what the row holds, with no descriptor and no test for a method: a stored value is never
    one. A row of another class than the page's, or a column it does not hold (deferred),
    is read the field's general way (`read`)."""
    out = {}
    held = row.__dict__ if type(row) is model else {}
    for name, column, represent, read in readers:
        value = held.get(column, MISSING)
        if value is not MISSING:
            out[name] = value if value is None or represent is None else represent(value)
            continue
        try:  # noqa: SIM105 - a `with suppress()` a field costs more than the field
            out[name] = read(row)
        except fields.SkipField:  # as DRF does, the field is left out
            pass
    return out


_readable = {}  # serializer class -> [(name, field built once)]
_building = threading.Lock()


def readable_fields(cls):
    """The fields a serializer of this class writes, built once for the class (its fields are
    the same for every request: no serializer here chooses them by the request)."""
    found = _readable.get(cls)
    if found is None:
        with _building:
            built = cls(context={})
            found = [(name, field) for name, field in built.fields.items() if not field.write_only]
            _readable[cls] = found
    return found


def value_only(field):
    if type(field) not in VALUE_ONLY:
        return False
    if isinstance(field, fields.ListField):
        return value_only(field.child)
    if isinstance(field, relations.PrimaryKeyRelatedField):
        return field.pk_field is None
    return True


def built_on_first_use(name, field, parent):
    """A function giving the field built for the request being answered, as DRF's own
    get_fields() copies a declared field, and bound to the serializer `parent()` gives: built
    the first time a row of the answer needs DRF's own way, then kept for the answer."""
    key = object()

    def built():
        answer = ANSWER.get().built
        own = answer.get(key)
        if own is None:
            own = answer[key] = copy.deepcopy(field)
            own.bind(name, parent())
        return own

    return built


def reader(name, field, parent, model):
    """How to write the field for rows of `model`: (name, the column of the row holding its
    value or None, the representation of that value (None: the value itself), a function of
    a row giving the field's representation the general way). Any field read DRF's way is
    first built for the request, as DRF's own get_fields() copies a declared field, and bound
    to the serializer `parent()` gives."""
    built = built_on_first_use(name, field, parent)

    def drf(row):
        return general(built(), row)

    attrs = field.source_attrs
    if one_row(field) and len(attrs) == 1:
        return name, None, None, nested(name, field, parent, attrs[0], model)
    if type(field) is Prefetched and one_row(field.child) and len(attrs) == 1:
        return name, None, None, nested_list(name, field, parent, attrs[0], model)
    if not value_only(field) or not attrs:
        return name, None, None, drf
    represent = representation(field)
    if len(attrs) > 1:
        return name, None, None, through(attrs, represent, drf)
    (attr,) = attrs

    if isinstance(field, relations.PrimaryKeyRelatedField):
        columns = {}  # model -> the column holding the related row's id, or None

        def read(row):
            model = type(row)
            if model not in columns:
                columns[model] = id_column(model, attr)
            column = columns[model]
            return drf(row) if column is None else getattr(row, column)

        return name, id_column(model, attr), None, read

    return name, stored_column(model, attr), represent, through(attrs, represent, drf)


# The descriptors through which a column reads as the value the row holds. (A country's
# descriptor builds a Country from the code held, which the country field writes back as
# that code: stored_column() names it too.)
PLAIN_DESCRIPTORS = (DeferredAttribute, ForeignKeyDeferredAttribute)


@functools.cache
def stored_column(model, name):
    """The name under which a row of `model` holds the field `name`'s value as the field
    writes it, or None if it holds none (a property, a relation)."""
    if model is None:
        return None
    try:
        found = model._meta.get_field(name)
    except FieldDoesNotExist:
        return None
    if not found.concrete or found.is_relation or found.attname != name:
        return None
    if type(descriptor_of(model, name)) in PLAIN_DESCRIPTORS:
        return name
    if isinstance(found, country_fields.CountryField) and not found.multiple:
        return name
    return None


def through(attrs, represent, drf):
    """A value read from the row, or through related rows (a payment's `tranche.currency`):
    each step a plain attribute; a step that is missing, empty or callable is left to DRF,
    which knows what each of those means for the field."""
    *steps, last = attrs

    def read(row):
        value = row
        try:
            for step in steps:
                value = getattr(value, step)
                if value is None or callable(value) or isinstance(value, Mapping):
                    return drf(row)
            value = getattr(value, last)
        except (AttributeError, ObjectDoesNotExist):
            return drf(row)
        if value is None:
            return None
        if callable(value):
            return drf(row)
        return represent(value)

    return read


def one_row(field):
    """A related row written by a serializer of its own, the way DRF's Serializer writes it."""
    return (
        isinstance(field, serializers.Serializer)
        and type(field).to_representation in WRITES_AS_DRF
        and type(field).get_attribute is fields.Field.get_attribute
    )


WRITES_AS_DRF = {serializers.Serializer.to_representation, ReadQuickly.to_representation}


def nested(name, field, parent, attr, model):
    """A related row (a tranche's loan terms), its fields read the same short ways. The
    serializer is built for the request (as DRF copies a declared field) only when a row
    needs DRF's own way."""
    built = built_on_first_use(name, field, parent)

    related = related_model(model, attr)
    readers = [
        reader(each, template, built, related) for each, template in readable_fields(type(field))
    ]

    relation = cached_relation(model, attr)

    def read(row):
        if relation is not None and type(row) is model:
            # What select_related() read: None for no related row, which the descriptor
            # would raise as an exception for DRF to catch, for most tranches twice a row.
            value = relation.get_cached_value(row, MISSING)
            if value is None:
                return None
            if value is not MISSING:
                return write(readers, related, value)
        try:
            value = getattr(row, attr)
        except ObjectDoesNotExist:
            return None  # as DRF answers for a missing related row
        except AttributeError:
            return general(built(), row)
        if value is None:
            return None
        if callable(value):
            return general(built(), row)
        return write(readers, related, value)

    return read


# The descriptors through which a related row is what select_related() cached for it.
CACHING_DESCRIPTORS = (
    ForwardManyToOneDescriptor,
    ForwardOneToOneDescriptor,
    ReverseOneToOneDescriptor,
)


@functools.cache
def cached_relation(model, name):
    """The relation whose cache on a row of `model` holds the related row `name` (a tranche's
    loan terms, or None for none), when its descriptor reads it from there; else None."""
    if model is None or type(descriptor_of(model, name)) not in CACHING_DESCRIPTORS:
        return None
    try:
        found = model._meta.get_field(name)
    except FieldDoesNotExist:
        return None
    return found if found.one_to_one or found.many_to_one else None


def nested_list(name, field, parent, attr, model):
    """A row's related rows that `related_rows()` read with it (a measurement's files), each
    written the same short ways as a related row; a row without them read DRF's way, as
    `Prefetched` reads the relation itself."""
    built = built_on_first_use(name, field, parent)

    related = related_model(model, attr)
    readers = [
        reader(each, template, lambda: built().child, related)
        for each, template in readable_fields(type(field.child))
    ]
    stash = PREFETCHED.format(attr)

    def read(row):
        found = row.__dict__.get(stash)
        if found is None:
            return general(built(), row)
        return [write(readers, related, each) for each in found]

    return read


@functools.cache
def related_model(model, name):
    if model is None:
        return None
    try:
        return model._meta.get_field(name).related_model
    except FieldDoesNotExist:
        return None


def representation(field):
    """The field's to_representation(), with what DRF works out for every value worked out
    once: a date and time's time zone; whether a decimal already has the field's places
    (then rounding it to them changes nothing); a country's code; a choice's value."""
    if type(field) is fields.DecimalField:
        return decimal_representation(field)
    if type(field) is fields.ChoiceField:
        return choice_representation(field)
    if type(field) is fields.DateField:
        output_format = getattr(field, "format", api_settings.DATE_FORMAT)
        if isinstance(output_format, str) and output_format.lower() == fields.ISO_8601:
            return date_representation(field)
    if type(field) is CountryField and not (field.name_only or field.country_dict):
        # A code, the same in every language (a name would be in the request's).
        return memo(field.to_representation, key=str)
    if type(field) is fields.DateTimeField:
        output_format = getattr(field, "format", api_settings.DATETIME_FORMAT)
        if isinstance(output_format, str) and output_format.lower() == fields.ISO_8601:
            return iso_representation(field)
    return field.to_representation


def choice_representation(field):
    """A choice as DRF writes it: the choice whose text the value is (from the field's own
    table), looked up at once for a text among them."""
    table = field.choice_strings_to_values

    def choice(value):
        if isinstance(value, str):  # a text, or a choice of a TextChoices (its text)
            found = table.get(str(value), MISSING)
            if found is not MISSING:
                return found
        return field.to_representation(value)

    return choice


def date_representation(field):
    """A date in ISO 8601, as DRF writes it."""

    def iso_date(value):
        return value.isoformat() if type(value) is date else field.to_representation(value)

    return iso_date


def iso_representation(field):
    """A date and time in ISO 8601 in the field's time zone, as DRF writes it: the zone is the
    answer's (one may be activated for a request)."""
    own_zone = getattr(field, "timezone", None)

    def iso(value):
        if type(value) is not datetime or (
            value.tzinfo is not UTC and not timezone.is_aware(value)
        ):
            return field.to_representation(value)
        answer = ANSWER.get()
        zone = own_zone or answer.zone
        if zone is None:
            return field.to_representation(value)
        if not (value.tzinfo is UTC and zone is answer.zone and answer.zone_is_utc):
            try:
                value = value.astimezone(zone)
            except OverflowError:
                return field.to_representation(value)  # DRF's refusal
        text = value.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    return iso


def decimal_representation(field):
    as_text = getattr(field, "coerce_to_string", api_settings.COERCE_DECIMAL_TO_STRING)
    if not as_text or field.decimal_places is None or field.normalize_output or field.localize:
        return field.to_representation
    places, most = field.decimal_places, field.max_digits
    if places < 1:
        return field.to_representation

    def text(value):
        # A decimal holding no more than the field's places is written as it is, with zeros
        # for the places it lacks: rounding it to them changes nothing else. Its digits are
        # counted from its text (leading zeros too, so a near miss is left to DRF), against
        # the field's most, or with none the decimal context's precision, which DRF's
        # rounding then refuses to pass.
        if type(value) is Decimal and value.is_finite():
            limit = most if most is not None else decimal.getcontext().prec
            written = str(value)  # a quarter of format()'s cost; "1E+2" is the odd one out
            if "E" in written or "e" in written:  # an exponent (a context may write "e")
                written = f"{value:f}"
            dot = written.find(".")
            shown = 0 if dot < 0 else len(written) - dot - 1
            if shown <= places:
                if shown < places:
                    written += ("." if dot < 0 else "") + "0" * (places - shown)
                digits = len(written) - 1 - written.startswith("-")
                if digits <= limit:
                    return written
        return field.to_representation(value)

    return text


def memo(represent, key):
    """`represent`, remembering its answer for each key of a value (a page repeats them)."""
    answers = {}

    def remembered(value):
        found = key(value)
        if found not in answers:
            answers[found] = represent(value)
        return answers[found]

    return remembered


@functools.cache
def id_column(model, name):
    if model is None:
        return None
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


# --- A to-many relation of each row, read in the row's own query ---------------------------

PREFETCHED = "page_{}"


def related_rows(model, relation, order_by):
    """An annotation for `model`'s rows: the rows of `relation` (a reverse foreign key), in
    the order of the fields `order_by` names, as a plain list of instances under the name
    `Prefetched` reads (`queryset.annotate(**related_rows(...))`).

    They are read within the row's own query, as one column of JSON. A query of their own
    for the page (Django's prefetch) costs a round trip, and a queryset built and compiled,
    each more than the few rows it reads: a measurement's files and comments were a quarter
    of its list's time."""
    foreign_key = model._meta.get_field(relation).field
    key = F(foreign_key.target_field.attname)
    return {PREFETCHED.format(relation): RelatedRows(key, foreign_key, tuple(order_by))}


class RelatedRows(Func):
    """The rows whose `foreign_key` holds the row's `key`, each a JSON array of its columns:
    a text array on PostgreSQL, one JSON array on SQLite. Its SQL is written once for each
    relation from the models' metadata: a subquery's queryset built and compiled for every
    request cost a millisecond and a half, more than reading the rows."""

    def __init__(self, key, foreign_key, order_by):
        super().__init__(key, output_field=RowsField(foreign_key.model))
        self.foreign_key, self.order_by = foreign_key, order_by

    def as_sql(self, compiler, connection, **extra_context):
        key, params = compiler.compile(self.get_source_expressions()[0])
        found = (connection.vendor, self.foreign_key, self.order_by)
        if found not in _rows_sql:
            _rows_sql[found] = rows_sql(connection, self.foreign_key, self.order_by)
        before, after = _rows_sql[found]
        return f"{before}{key}{after}", params


_rows_sql = {}  # (vendor, foreign key, order) -> the SQL either side of the row's key


def rows_sql(connection, foreign_key, order_by):
    """The SQL of `RelatedRows`, either side of the row's key: names from the models'
    metadata, quoted, and no value of any request."""
    vendor, quote = connection.vendor, connection.ops.quote_name
    model = foreign_key.model
    columns = ", ".join(f"_r.{quote(field.column)}" for field in model._meta.concrete_fields)
    order = ", ".join(
        f"_r.{quote(model._meta.get_field(name.lstrip('-')).column)}"
        + (" DESC" if name.startswith("-") else "")
        for name in order_by
    )
    rows = f"FROM {quote(model._meta.db_table)} _r WHERE _r.{quote(foreign_key.column)} = "
    if vendor == "postgresql":
        return f"ARRAY(SELECT json_build_array({columns})::text {rows}", f" ORDER BY {order})"
    if vendor == "sqlite":
        select = f"SELECT json_array({columns}) AS _row {rows}"  # noqa: S608 - names, quoted
        outer = "(SELECT json_group_array(json(_rows._row)) FROM ("
        return outer + select, f" ORDER BY {order}) _rows)"
    raise NotSupportedError(f"Related rows are read on PostgreSQL and SQLite, not {vendor}.")


class RowsField(Field):
    """What `RelatedRows` reads, as instances of `model`: each column's JSON value made the
    field's Python value, as Django's own read of the column would make it."""

    def __init__(self, model):
        super().__init__()
        self.related = model

    def from_db_value(self, value, expression, connection):
        if isinstance(value, str):  # SQLite: one JSON array of the rows
            rows = JSON.decode(value)
        else:  # PostgreSQL: a JSON array a row
            rows = [JSON.decode(row) for row in value or ()]
        if not rows:  # most rows of a page (a measurement with no files)
            return []
        return [row_from_json(self.related, row, connection.alias) for row in rows]


JSON = json.JSONDecoder(parse_float=Decimal)  # a JSON number as exact as the column it copies


def row_from_json(model, values, alias):
    """An instance of `model` from its columns' JSON values, in the model's column order, each
    made the field's Python value as Django's own read of the column would make it."""
    columns = model._meta.concrete_fields
    return model.from_db(
        alias,
        column_names(model),
        [column_value(column, each) for column, each in zip(columns, values, strict=True)],
    )


@functools.cache
def column_names(model):
    return [column.attname for column in model._meta.concrete_fields]


def column_value(column, value):
    """A column's value from its JSON: SQLite keeps an instant as UTC with no offset."""
    if value is None:
        return None
    value = column.to_python(value)
    if isinstance(value, datetime) and settings.USE_TZ and timezone.is_naive(value):
        return timezone.make_aware(value, UTC)
    return value


class Prefetched(serializers.ListSerializer):
    """A nested list (a serializer's `Meta.list_serializer_class`) that reads what
    `related_rows()` read with the row, or the relation itself for a row read without it."""

    def get_attribute(self, instance):
        if len(self.source_attrs) == 1:
            found = getattr(instance, PREFETCHED.format(self.source_attrs[0]), None)
            if found is not None:
                return found
        return super().get_attribute(instance)

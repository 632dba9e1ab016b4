"""API list pages that cost the same on a table of a hundred rows or a hundred thousand.

Two ways through a list, in the same order:

- numbered pages (`?page=N`, the default): the total is counted within the page's own query,
  up to `count_limit` rows (a page that is not full tells it by its rows); past the limit
  `count` is that limit and `count_is_exact` is false. A deep page still skips the rows
  before it, so walk big lists by cursor;
- cursor pages (`?cursor=`, empty for the first page, then the `next` and `previous` links):
  each page starts where the last one ended (keyset pagination), so the thousandth page reads
  the same few index entries as the first. No count.

The order is the list's key: its `ordering` (the view's default or `?ordering=`), each
relation by its id, ending with the primary key unless the fields are already unique, so
no row is skipped or repeated between pages.
"""

import base64
import binascii
import json
from dataclasses import dataclass
from functools import reduce
from operator import and_, or_

from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import connections
from django.db.models import (
    F,
    Field,
    Func,
    IntegerField,
    Q,
    Subquery,
    UniqueConstraint,
    Value,
    prefetch_related_objects,
)
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.utils.urls import remove_query_param, replace_query_param


@dataclass(frozen=True)
class Column:
    """One column of a list's order."""

    field: Field
    descending: bool

    @property
    def name(self):
        return self.field.attname

    @property
    def nullable(self):
        return self.field.null

    def order_by(self):
        return f"-{self.name}" if self.descending else self.name

    def flipped(self):
        return Column(self.field, not self.descending)


def key_of(queryset):
    """The columns a queryset is ordered by, made total with the primary key.

    A relation orders by its id (never by the related model's own ordering, which would
    join and sort the whole table).
    """
    opts = queryset.model._meta
    names = queryset.query.order_by
    if not names and queryset.query.default_ordering:
        names = opts.ordering
    columns = []
    for item in names:
        if not isinstance(item, str) or "__" in item or item.lstrip("-") == "?":
            raise ImproperlyConfigured(
                f"{queryset.model.__name__} lists order by their own fields, not {item!r}."
            )
        name = item.lstrip("-")
        field = opts.pk if name == "pk" else opts.get_field(name)
        columns.append(Column(field, item.startswith("-")))
    if not _unique(opts, columns):
        descending = columns[0].descending if columns else False
        columns.append(Column(opts.pk, descending))
    return columns


def _unique(opts, columns):
    """Do these columns tell every row apart (a unique set of non-null fields among them)?"""
    fields = {column.field for column in columns if not column.nullable}
    unique_sets = [{opts.pk}]
    unique_sets += [{field} for field in opts.concrete_fields if field.unique]
    unique_sets += [{opts.get_field(name) for name in names} for names in opts.unique_together]
    unique_sets += [
        {opts.get_field(name) for name in constraint.fields}
        for constraint in opts.constraints
        if isinstance(constraint, UniqueConstraint)
        and constraint.fields
        and constraint.condition is None
        and not constraint.expressions
    ]
    return any(unique <= fields for unique in unique_sets)


class CappedCount(Subquery):
    """How many rows a subquery sliced to a limit gives: the count stops at the limit, so it
    reads no more than that many index entries however big the table."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) AS capped)"
    output_field = IntegerField()

    def get_db_converters(self, connection):
        # COUNT(*) reads as an int on every database: no converter to run on each row.
        return []


COUNTED = "_page_count"  # the annotation carrying it on a page's rows


class Row(Func):
    """An SQL row value, `(a, b)`: `(a, b) > (x, y)` lets an index on (a, b) start at (x, y)."""

    template = "(%(expressions)s)"
    output_field = Field()


def _equal(column, value):
    return Q(**{f"{column.name}__isnull": True}) if value is None else Q(**{column.name: value})


def _beyond(column, value, nulls_largest):
    """Rows past `value` in this column's direction, or None if there are none."""
    upward = not column.descending
    nulls_ahead = nulls_largest == upward  # NULLs sort after every value in this direction
    if value is None:
        return None if nulls_ahead else Q(**{f"{column.name}__isnull": False})
    beyond = Q(**{f"{column.name}__{'gt' if upward else 'lt'}": value})
    if column.nullable and nulls_ahead:
        beyond |= Q(**{f"{column.name}__isnull": True})
    return beyond


def after(queryset, columns, values):
    """`queryset` (ordered by `columns`) from just after the row whose key is `values`, as
    one or two querysets to read in turn, each served by an index range.

    Every column non-null and in one direction: one row comparison, `(a, id) > (x, y)`.
    Otherwise the comparison spelled out column by column, with the first column bounded
    so that an index starts at the position; when NULLs of a first column come after the
    position, they are read second, on their own (`a IS NULL`), as no single range holds
    both.
    """
    nulls_largest = connections[queryset.db].features.nulls_order_largest
    same_direction = len({column.descending for column in columns}) == 1
    if same_direction and not any(c.nullable for c in columns) and None not in values:
        row = Row(*(F(c.name) for c in columns))
        position = Row(
            *(Value(v, output_field=c.field) for c, v in zip(columns, values, strict=True))
        )
        lookup = "lt" if columns[0].descending else "gt"
        return [queryset.alias(_position=row).filter(**{f"_position__{lookup}": position})]

    disjuncts = []
    for i, column in enumerate(columns):
        step = _beyond(column, values[i], nulls_largest)
        if step is not None:
            ties = [_equal(c, v) for c, v in zip(columns[:i], values[:i], strict=True)]
            disjuncts.append(reduce(and_, ties, step))
    if not disjuncts:
        return []
    rest = queryset.filter(reduce(or_, disjuncts))
    first, value = columns[0], values[0]
    if value is None:
        ties = rest.filter(**{f"{first.name}__isnull": True})
        if _beyond(first, None, nulls_largest) is None:
            return [ties]
        return [ties, queryset.filter(**{f"{first.name}__isnull": False})]
    bounded = rest.filter(**{f"{first.name}__{'lte' if first.descending else 'gte'}": value})
    if first.nullable and nulls_largest != first.descending:  # its NULLs come after the value
        return [bounded, queryset.filter(**{f"{first.name}__isnull": True})]
    return [bounded]


MAX_OFFSET = 2**53  # an OFFSET past this overflows the database's integer


def positive(text, limit=None):
    """A whole number of at least 1 from a query parameter (ValueError otherwise), cut to `limit`."""
    number = int(text)
    if number < 1:
        raise ValueError(text)
    return min(number, limit) if limit else number


def with_related(rows, lookups):
    """The page's rows with the related rows the list reads with them (`prefetch_related`),
    read for the page alone: the one row read past the page only says there is a next page."""
    prefetch_related_objects(rows, *lookups)
    return rows


class Pagination(BasePagination):
    """Numbered pages with a capped count, or cursor pages; see the module's docstring."""

    page_size = api_settings.PAGE_SIZE or 50
    max_page_size = 500
    page_query_param = "page"
    page_size_query_param = "page_size"
    cursor_query_param = "cursor"
    # Enough for "1-50 of 1,000+"; counting reads at most this many index entries.
    count_limit = 1_000

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.size = self.get_page_size(request)
        self.columns = key_of(queryset)
        queryset = queryset.order_by(*(column.order_by() for column in self.columns))
        self.cursor_mode = self.cursor_query_param in request.query_params
        if self.cursor_mode:
            return self.cursor_page(queryset, request.query_params[self.cursor_query_param])
        return self.numbered_page(queryset, request.query_params.get(self.page_query_param, 1))

    def get_page_size(self, request):
        try:
            return positive(request.query_params[self.page_size_query_param], self.max_page_size)
        except (KeyError, ValueError):
            return self.page_size

    # --- numbered pages -------------------------------------------------------------------

    def numbered_page(self, queryset, number):
        try:
            self.number = positive(number)
        except ValueError:
            raise exceptions.NotFound(_("No such page.")) from None
        offset = (self.number - 1) * self.size
        if offset > MAX_OFFSET:  # beyond any table here, and beyond what a database OFFSET takes
            raise exceptions.NotFound(_("No such page."))
        related = queryset._prefetch_related_lookups
        queryset = queryset.prefetch_related(None)
        # The capped count rides in the page's own query, worked out once by the database,
        # rather than costing a query of its own.
        counted = CappedCount(queryset.values("pk").order_by()[: self.count_limit + 1])
        rows = list(queryset.annotate(**{COUNTED: counted})[offset : offset + self.size + 1])
        self.has_next = len(rows) > self.size
        if self.has_next:
            counted = getattr(rows[0], COUNTED)
            self.count, self.count_is_exact = (
                min(counted, self.count_limit),
                counted <= self.count_limit,
            )
        rows = with_related(rows[: self.size], related)
        if not rows and self.number > 1:
            raise exceptions.NotFound(_("No such page."))
        if not self.has_next:
            self.count, self.count_is_exact = offset + len(rows), True
        return rows

    def page_link(self, number):
        url = remove_query_param(self.request.build_absolute_uri(), self.cursor_query_param)
        if number == 1:
            return remove_query_param(url, self.page_query_param)
        return replace_query_param(url, self.page_query_param, number)

    # --- cursor pages ---------------------------------------------------------------------

    def cursor_page(self, queryset, token):
        self.reverse, position = self.decode(token) if token else (False, None)
        columns = [c.flipped() for c in self.columns] if self.reverse else self.columns
        if self.reverse:
            queryset = queryset.order_by(*(column.order_by() for column in columns))
        related = queryset._prefetch_related_lookups
        queryset = queryset.prefetch_related(None)
        parts = [queryset] if position is None else after(queryset, columns, position)
        rows = []
        for part in parts:
            rows += part[: self.size + 1 - len(rows)]
            if len(rows) > self.size:
                break
        more = len(rows) > self.size
        rows = with_related(rows[: self.size], related)
        if self.reverse:
            rows.reverse()
            self.has_next, self.has_previous = True, more
        else:
            self.has_next, self.has_previous = more, position is not None
        self.rows = rows
        return rows

    def cursor_link(self, row, reverse):
        values = [
            c.field.value_to_string(row) if getattr(row, c.name) is not None else None
            for c in self.columns
        ]
        token = {"o": [c.order_by() for c in self.columns], "v": values, "r": reverse}
        encoded = base64.urlsafe_b64encode(json.dumps(token).encode()).decode().rstrip("=")
        url = remove_query_param(self.request.build_absolute_uri(), self.page_query_param)
        return replace_query_param(url, self.cursor_query_param, encoded)

    def decode(self, token):
        """The direction and key values a cursor carries; a 400 for one this list never gave."""
        try:
            data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
            ordering, values, reverse = data["o"], data["v"], data["r"]
            if ordering != [c.order_by() for c in self.columns]:
                raise exceptions.ValidationError(
                    {self.cursor_query_param: [_("This cursor was made for another ordering.")]}
                )
            position = [
                None if value is None else column.field.to_python(value)
                for column, value in zip(self.columns, values, strict=True)
            ]
            return bool(reverse), position
        except (ValueError, TypeError, KeyError, binascii.Error, ValidationError):
            raise exceptions.ValidationError(
                {self.cursor_query_param: [_("This is not a cursor this list gave out.")]}
            ) from None

    # --- the answer -----------------------------------------------------------------------

    def get_paginated_response(self, data):
        if self.cursor_mode:
            return Response(
                {
                    "next": self.cursor_link(self.rows[-1], False)
                    if self.has_next and self.rows
                    else None,
                    "previous": self.cursor_link(self.rows[0], True)
                    if self.has_previous and self.rows
                    else None,
                    "results": data,
                }
            )
        return Response(
            {
                "count": self.count,
                "count_is_exact": self.count_is_exact,
                "next": self.page_link(self.number + 1) if self.has_next else None,
                "previous": self.page_link(self.number - 1) if self.number > 1 else None,
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema):
        link = {"type": "string", "nullable": True, "format": "uri"}
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {
                "count": {
                    "type": "integer",
                    "description": "Numbered pages only: how many rows match, counted up to "
                    f"{self.count_limit:,}.",
                    "example": 123,
                },
                "count_is_exact": {
                    "type": "boolean",
                    "description": "Numbered pages only: false when more rows match than "
                    "`count` says (the count stops at its limit).",
                },
                "next": link,
                "previous": link,
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view):
        def integer(name, description):
            return {
                "name": name,
                "required": False,
                "in": "query",
                "description": description,
                "schema": {"type": "integer"},
            }

        return [
            integer(self.page_query_param, "A page number within the list."),
            integer(
                self.page_size_query_param,
                f"Rows a page (default {self.page_size}, at most {self.max_page_size}).",
            ),
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "Cursor pages: empty for the first page, then as the `next` "
                "and `previous` links give it. Each page costs the same however deep it "
                "is; there is no count.",
                "schema": {"type": "string"},
            },
        ]

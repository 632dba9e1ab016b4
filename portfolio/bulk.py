"""Updating many rows at once in linear time, and recording their history in bulk.

Django's `bulk_update` writes one CASE expression per field with a branch per row, which
the database evaluates row by row against every branch: a batch of 1,000 costs a million
comparisons per field (2,000 changed tranches took 25 s). This writes
`WITH v(...) AS (VALUES ...) UPDATE ... FROM v` instead, which joins once; PostgreSQL and
SQLite (3.33 and later) both read it. Other databases get `bulk_update`.
"""

import sqlite3

from django.db import connection
from django.utils import timezone

BATCH = 1000


def _joins():
    if connection.vendor == "postgresql":
        return True
    return connection.vendor == "sqlite" and sqlite3.sqlite_version_info >= (3, 33)


def update_rows(model, objects, field_names, batch_size=BATCH):
    """Write `field_names` of each object to its row, matched on the primary key."""
    if not objects:
        return
    if not _joins():
        model.objects.bulk_update(objects, field_names, batch_size=batch_size)
        return
    meta = model._meta
    pk = meta.pk
    fields = [pk, *(meta.get_field(name) for name in field_names)]
    quote = connection.ops.quote_name
    # PostgreSQL types the VALUES from their first row; tell it each column's type.
    placeholders = [
        f"%s::{f.db_type(connection)}" if connection.vendor == "postgresql" else "%s"
        for f in fields
    ]
    names = ", ".join(quote(f.column) for f in fields)
    assignments = ", ".join(f"{quote(f.column)} = v.{quote(f.column)}" for f in fields[1:])
    if connection.vendor == "sqlite":
        batch_size = min(batch_size, 30_000 // len(fields))  # SQLite's limit of parameters
    for start in range(0, len(objects), batch_size):
        batch = objects[start : start + batch_size]
        rows = ", ".join(["(" + ", ".join(placeholders) + ")"] * len(batch))
        params = [
            field.get_db_prep_save(getattr(obj, field.attname), connection)
            for obj in batch
            for field in fields
        ]
        with connection.cursor() as cursor:
            cursor.execute(
                f"WITH v({names}) AS (VALUES {rows}) "  # noqa: S608 - our own names
                f"UPDATE {quote(meta.db_table)} SET {assignments} FROM v "
                f"WHERE {quote(meta.db_table)}.{quote(pk.column)} = v.{quote(pk.column)}",
                params,
            )


def copy_to_history(model, pks, history_type, user=None, when=None, batch_size=BATCH):
    """Write a history row (simple_history's) for each of these rows as stored now, in one
    `INSERT ... SELECT` a batch: what `bulk_history_create` writes, without building two
    model instances a row in Python (for 20,000 tranches, a third of an import's time).

    `history_type` is "+" (created) or "~" (changed); `user` is who did it.
    """
    history = model.history.model
    meta = model._meta
    quote = connection.ops.quote_name
    stamped = {
        "history_date": (when or timezone.now()),
        "history_change_reason": None,
        "history_type": history_type,
        "history_user_id": getattr(user, "pk", None),
    }
    targets, sources, params = [], [], []
    for field in history._meta.concrete_fields:
        if field.primary_key:
            continue  # history_id is numbered by the database
        targets.append(quote(field.column))
        if field.attname in stamped:
            sources.append("%s")
            params.append(field.get_db_prep_save(stamped[field.attname], connection))
        else:
            sources.append(quote(meta.get_field(field.name).column))
    pks = list(pks)
    for start in range(0, len(pks), batch_size):
        batch = pks[start : start + batch_size]
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {quote(history._meta.db_table)} ({', '.join(targets)}) "  # noqa: S608 - our own names
                f"SELECT {', '.join(sources)} FROM {quote(meta.db_table)} "
                f"WHERE {quote(meta.pk.column)} IN ({', '.join(['%s'] * len(batch))})",
                [*params, *batch],
            )

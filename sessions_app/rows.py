"""Writes of many rows where Django's bulk methods cost more in Python than the database does.

A batch of answers writes four tables; at 500 answers a second QuerySet.bulk_create and bulk_update
were a sixth of a server's CPU, compiling each value of each row (bulk_create: placeholders, pre_save
and a model instance per row; bulk_update: a CASE per field and row, 40 ms of Python for 20 edited
answers). Here one parameterised statement runs for every row (DB-API executemany), each value
prepared by its field as Django would (get_db_prep_save).
"""

from __future__ import annotations

from django.db import connection


def insert_rows(model, columns: list[str], rows: list[list]) -> None:
    """INSERT these values (by field name, in `columns` order) as new rows of `model`, for rows whose
    keys nobody reads back: their primary keys are left to the database. No pre_save: a field
    Django fills on save (auto_now_add) must be given."""
    if not rows:
        return
    meta, quote = model._meta, connection.ops.quote_name
    fields = [meta.get_field(name) for name in columns]
    names = ", ".join(quote(field.column) for field in fields)
    sql = f"INSERT INTO {quote(meta.db_table)} ({names}) VALUES ({', '.join(['%s'] * len(fields))})"
    with connection.cursor() as cursor:
        cursor.executemany(sql, [[field.get_db_prep_save(value, connection) for field, value in zip(fields, row)] for row in rows])


def update_rows(model, rows: list, fields: list[str]) -> None:
    """Write these fields of each row (model instances), by primary key."""
    if not rows:
        return
    meta, quote = model._meta, connection.ops.quote_name
    columns = [meta.get_field(name) for name in fields]
    assignments = ", ".join(f"{quote(column.column)} = %s" for column in columns)
    sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s"
    with connection.cursor() as cursor:
        cursor.executemany(sql, [[column.get_db_prep_save(getattr(row, column.attname), connection) for column in columns] + [row.pk] for row in rows])

"""One INSERT for a whole batch of rows, from arrays: the cheapest way PostgreSQL
takes many rows short of COPY, and unlike COPY it can skip conflicts and say
which rows it took."""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import psycopg
from django.db import connection


@contextmanager
def batch_cursor() -> Iterator[psycopg.Cursor]:
    """A cursor on Django's connection (so inside its transaction) that binds parameters on the server.

    Django's cursors bind on the client, quoting every element of every array
    into the SQL text: for a batch of thousands of rows that costs more than
    the insert. This cursor sends the arrays as parameters instead. Use it only
    for the batch statements; the ORM keeps Django's own cursors.
    """
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        yield cursor


def insert_rows(
    cursor,
    table: str,
    columns: Sequence[tuple[str, str]],
    rows: Sequence[Sequence],
    *,
    on_conflict: str = "",
    returning: str = "",
) -> list[tuple]:
    """Insert `rows` (tuples in the order of `columns`, given as (name, PostgreSQL type))."""
    if not rows:
        return []
    params: dict = {}
    cursor.execute(insert_rows_sql(params, table, columns, rows, on_conflict=on_conflict, returning=returning), params)
    return cursor.fetchall() if returning else []


# Arrays of at most this many values are bound one parameter per value (see `bind_array`).
SMALL_ARRAY = 4


def bind_array(params: dict, name: str, values: Sequence, pg_type: str) -> str:
    """Bind `values` into `params` under `name` and return the SQL array expression that reads them.

    A few values become ``ARRAY[%(name_0)s, ...]``, one parameter each: the planner then knows the array's
    length even in a prepared statement's generic plan, so PostgreSQL keeps that plan instead of planning the
    statement anew on every run (it does for an array parameter, whose length a generic plan must guess).
    More values are one array parameter, so the statement's text stays the same whatever their number.
    """
    if len(values) > SMALL_ARRAY:
        params[name] = list(values)
        return f"%({name})b::{pg_type}[]"  # binary: quoting thousands of values as text costs more
    names = [f"{name}_{n}" for n in range(len(values))]
    params.update(zip(names, values, strict=True))
    return "ARRAY[" + ", ".join(f"%({n})s::{pg_type}" for n in names) + f"]::{pg_type}[]"


def insert_rows_sql(
    params: dict,
    table: str,
    columns: Sequence[tuple[str, str]],
    rows: Sequence[Sequence],
    *,
    on_conflict: str = "",
    returning: str = "",
) -> str:
    """The INSERT of `insert_rows` with its arrays bound into `params` by name (`bind_array`), for a
    statement that does more with it (a data-modifying CTE)."""
    arrays = [
        bind_array(params, f"{name}_values", column, pg_type)
        for (name, pg_type), column in zip(columns, zip(*rows, strict=True), strict=True)
    ]
    names = ", ".join(name for name, _ in columns)
    sql = f"INSERT INTO {table} ({names}) SELECT * FROM unnest({', '.join(arrays)})"
    if on_conflict:
        sql += f" ON CONFLICT {on_conflict}"
    if returning:
        sql += f" RETURNING {returning}"
    return sql

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
    sql = insert_rows_sql(table, columns, on_conflict=on_conflict, returning=returning)
    cursor.execute(sql, column_arrays(rows))
    return cursor.fetchall() if returning else []


def insert_rows_sql(
    table: str, columns: Sequence[tuple[str, str]], *, on_conflict: str = "", returning: str = ""
) -> str:
    """The INSERT of `insert_rows`, for a statement that does more with it (a data-modifying CTE);
    its parameters are `column_arrays(rows)`, first."""
    names = ", ".join(name for name, _ in columns)
    arrays = ", ".join(f"%b::{pg_type}[]" for _, pg_type in columns)
    sql = f"INSERT INTO {table} ({names}) SELECT * FROM unnest({arrays})"
    if on_conflict:
        sql += f" ON CONFLICT {on_conflict}"
    if returning:
        sql += f" RETURNING {returning}"
    return sql


def column_arrays(rows: Sequence[Sequence]) -> list[list]:
    """The rows' values column by column: one array parameter per column."""
    return [list(column) for column in zip(*rows, strict=True)]

"""Multi-row writes and set look-ups for the batch channel. Writes: ``COPY`` on PostgreSQL
(rows streamed through psycopg), one ``executemany`` on SQLite; both run on the session's
connection, inside its transaction. Look-ups by a list of values: one ``= ANY(array)``
parameter on PostgreSQL (one statement whatever the list's length, and the same statement text
every time), ``IN`` lists of at most 900 values on SQLite (its parameter limit)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Table, any_, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import InstrumentedAttribute, Session

_IN_CLAUSE = 900  # parameters per IN (...) list, under SQLite's limit


def is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def among(
    session: Session, column: InstrumentedAttribute[Any], values: Sequence[Any]
) -> Iterator[ColumnElement[bool]]:
    """Conditions "``column`` is one of ``values``", to run one statement each: a single one
    on PostgreSQL, one per 900 values on SQLite; none for no values."""
    if not values:
        return
    if is_postgresql(session):
        array = bindparam(None, list(values), type_=ARRAY(column.type))
        yield column == any_(array)
        return
    for i in range(0, len(values), _IN_CLAUSE):
        yield column.in_(values[i : i + _IN_CLAUSE])


def _last_one(process: Callable[[Any], Any] | None) -> Callable[[Any], Any] | None:
    """``process``, remembering its last value: the rows of a chunk share one timestamp."""
    if process is None:
        return None
    last: list[Any] = [_NOTHING, None]

    def once(value: Any) -> Any:
        if value is not last[0]:
            last[0], last[1] = value, process(value)
        return last[1]

    return once


_NOTHING = object()


def insert_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys) into ``table``, through the driver: the
    column types' bind processing (exact decimals, UTC timestamps, JSON) is applied here."""
    if not rows:
        return
    conn = session.connection()
    dialect = conn.dialect
    columns = list(rows[0])
    processors = [
        (c, _last_one(table.c[c].type.dialect_impl(dialect).bind_processor(dialect)))
        for c in columns
    ]
    plain = [c for c, p in processors if p is None]
    if len(plain) == len(columns):
        values: Iterator[list[Any]] = ([row[c] for c in columns] for row in rows)
    else:
        values = ([p(row[c]) if p is not None else row[c] for c, p in processors] for row in rows)
    names = ", ".join(f'"{c}"' for c in columns)
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        if dialect.name == "postgresql":
            with cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
                for row in values:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" * len(columns))
            cursor.executemany(
                f"INSERT INTO {table.name} ({names}) VALUES ({marks})",  # noqa: S608
                list(values),
            )
    finally:
        cursor.close()


def next_ids(session: Session, table: Table, count: int) -> list[int]:
    """``count`` new primary keys of ``table`` (PostgreSQL: from its sequence)."""
    return list(
        session.scalars(
            text(
                f"SELECT nextval(pg_get_serial_sequence('{table.name}', 'id')) "  # noqa: S608
                "FROM generate_series(1, :n)"
            ),
            {"n": count},
        )
    )

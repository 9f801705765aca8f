"""Multi-row writes and set look-ups for the batch channel. Writes: ``COPY`` on PostgreSQL
(rows streamed through psycopg), one ``executemany`` on SQLite; both run on the session's
connection, inside its transaction. Look-ups by a list of values: one ``= ANY(array)``
parameter on PostgreSQL (one statement whatever the list's length, and the same statement text
every time), ``IN`` lists of at most 900 values on SQLite (its parameter limit)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Table, any_, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import InstrumentedAttribute, Session

_IN_CLAUSE = 900  # parameters per IN (...) list, under SQLite's limit
_COPY_BLOCK = 2000  # lines sent to the server at a time: it works while the rest is built
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_TO_ESCAPE = re.compile(r"[\\\t\n\r]")
NULL = "\\N"
"""NULL in ``COPY`` text format."""


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


_SEQUENCES: dict[tuple[str, str], str] = {}


def next_ids(session: Session, table: Table, count: int) -> list[int]:
    """``count`` new primary keys of ``table`` (PostgreSQL: from its sequence), read as one
    text (``count`` rows or an array of integers take longer to decode than to draw). The
    sequence is named once per database in the statement: ``pg_get_serial_sequence`` in it
    ran for every row (60 ms of the 70 ms of 10,000 keys)."""
    if not count:
        return []
    url = session.get_bind().engine.url.render_as_string()
    key = (url, table.name)
    sequence = _SEQUENCES.get(key)
    if sequence is None:
        sequence = _SEQUENCES[key] = str(
            session.scalar(
                text("SELECT pg_get_serial_sequence(:table, 'id')"), {"table": table.name}
            )
        )
    literal = sequence.replace("'", "''")
    drawn = session.scalar(
        text(
            f"SELECT string_agg(nextval('{literal}'::regclass)::text, ',') "  # noqa: S608
            "FROM generate_series(1, :n)"
        ),
        {"n": count},
    )
    return [int(i) for i in str(drawn).split(",")]


# --- preformatted rows ----------------------------------------------------------------------


def copy_text(value: str) -> str:
    """A string as a field of ``COPY`` text format (backslash, tab, newline, CR escaped)."""
    return value.translate(_COPY_ESCAPES) if _TO_ESCAPE.search(value) else value


def copy_field(value: object) -> str:
    """A bound value (see :func:`binders`) as a field of ``COPY`` text format."""
    if value is None:
        return NULL
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, str):
        return copy_text(value)
    if isinstance(value, date):  # and datetime: ISO 8601, with its offset
        return value.isoformat()
    return str(value)


def binders(session: Session, table: Table, columns: Sequence[str]) -> list[Callable[[Any], Any]]:
    """Per column, what the driver is given for a Python value: the column type's bind
    processing (exact decimals, UTC timestamps, JSON, SQLite's dates and booleans)."""
    dialect = session.get_bind().dialect
    out: list[Callable[[Any], Any]] = []
    for c in columns:
        process = table.c[c].type.dialect_impl(dialect).bind_processor(dialect)
        out.append(process if process is not None else _same)
    return out


def _same(value: Any) -> Any:
    return value


def write_lines(
    session: Session, table: Table, columns: Sequence[str], lines: Iterable[str]
) -> None:
    """PostgreSQL: ``COPY`` rows given as lines of text format (fields from
    :func:`copy_field`, tab-separated, newline-terminated), sent in blocks so that the server
    stores the first ones while the next ones are built."""
    names = ", ".join(f'"{c}"' for c in columns)
    cursor = session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        with cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
            block: list[str] = []
            for line in lines:
                block.append(line)
                if len(block) >= _COPY_BLOCK:
                    copy.write("".join(block))
                    block = []
            if block:
                copy.write("".join(block))
    finally:
        cursor.close()


def write_tuples(
    session: Session, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """SQLite: one ``executemany`` of rows of bound values (see :func:`binders`)."""
    names = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join("?" * len(columns))
    cursor = session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(f"INSERT INTO {table.name} ({names}) VALUES ({marks})", rows)  # noqa: S608
    finally:
        cursor.close()

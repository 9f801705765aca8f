"""Multi-row writes: ``COPY`` on PostgreSQL (rows streamed through psycopg), one
``executemany`` on SQLite. Both run on the session's connection, inside its transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, text
from sqlalchemy.orm import Session


def is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def insert_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys) into ``table``, through the driver: the
    column types' bind processing (exact decimals, UTC timestamps) is applied here."""
    if not rows:
        return
    conn = session.connection()
    columns = list(rows[0])
    processors = [table.c[c].type.bind_processor(conn.dialect) for c in columns]
    values = (
        [p(row[c]) if p is not None else row[c] for c, p in zip(columns, processors, strict=True)]
        for row in rows
    )
    names = ", ".join(f'"{c}"' for c in columns)
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        if is_postgresql(session):
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

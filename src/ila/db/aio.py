"""The asynchronous PostgreSQL access of the API's hot read paths (ADR 0021).

Most of the application works through SQLAlchemy's synchronous engine, in worker threads. The
most frequent API call, reading a worker's account, instead runs on the event loop with
psycopg's asyncio connections: a handful of statements in two pipelined round trips, without
a worker thread, an ORM session or SQLAlchemy's execution machinery around each statement.
The statements themselves are still written once, with SQLAlchemy Core, and compiled here to
the text psycopg sends (:func:`compile_pg`), so both paths run the same SQL.

:class:`AsyncDatabase` owns the pool of one process. The web application opens it in its
lifespan (PostgreSQL with psycopg only) and closes it at shutdown; where it is not open (SQLite,
or an application run without lifespan) the routes take their synchronous path."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from typing import Any

import orjson
from psycopg import AsyncConnection
from psycopg import _queries as psycopg_queries
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import (
    ColumnElement,
    Date,
    DateTime,
    Engine,
    Numeric,
    Select,
    Text,
    case,
    cast,
    func,
    literal_column,
    select,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql import ClauseElement
from sqlalchemy.types import TypeDecorator, TypeEngine

from ila.db.base import ExactDecimal, UTCDateTime

log = logging.getLogger(__name__)

POOL_MIN = 4
POOL_MAX = 16
"""Connections per process. A read holds its connection for two round trips (well under a
millisecond of server time), so a few connections serve many concurrent requests."""

_DIALECT = postgresql.dialect(paramstyle="pyformat")  # type: ignore[no-untyped-call]

# psycopg remembers how it converted a query's placeholders only for queries of at most 4 kB;
# a bundle (below) is longer and would be converted again on every call (~0.2 ms). Ours are a
# few fixed statements: let them be remembered too (a missing knob only costs that time).
if getattr(psycopg_queries, "MAX_CACHED_STATEMENT_LENGTH", 0) < 32_768:
    psycopg_queries.MAX_CACHED_STATEMENT_LENGTH = 32_768


@dataclass(frozen=True)
class Compiled:
    """A Core statement as psycopg takes it: ``%(name)s`` placeholders, and the values of the
    statement's own literals (``Status.FOLLOWED.value`` …) to merge under the caller's."""

    sql: str
    defaults: Mapping[str, Any]

    def parameters(self, given: Mapping[str, Any]) -> dict[str, Any]:
        return {**self.defaults, **given}


def compile_pg(statement: ClauseElement) -> Compiled:
    """Compile once (call it from a cached builder): the text and the literals' values."""
    compiled = statement.compile(dialect=_DIALECT)
    # named parameters (``bindparam("nn")``) are the caller's; literals keep their value
    defaults = {
        name: bind.effective_value
        for bind, name in compiled.bind_names.items()  # type: ignore[attr-defined]
        if not bind.required
    }
    return Compiled(str(compiled), defaults)


def _decoder(kind: TypeEngine[Any]) -> Callable[[Any], Any] | None:
    """How a value of ``kind`` comes back from JSON to what the driver would have returned."""
    impl = kind.impl if isinstance(kind, TypeDecorator) else kind
    if isinstance(kind, UTCDateTime) or isinstance(impl, DateTime):
        return _timestamp
    if isinstance(impl, Date):
        return _date
    if isinstance(kind, ExactDecimal) or isinstance(impl, Numeric):
        return _decimal
    return None


def _date(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


def _timestamp(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value).astimezone(UTC)


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


@dataclass(frozen=True)
class Bundle:
    """Several Core statements run as one: one round trip, one snapshot (a single statement
    needs no transaction around it), one row back. Each statement's rows come as a JSON array
    of arrays (PostgreSQL builds it), decoded to the values the driver gives for the columns
    (dates, UTC timestamps, exact decimals: sent as text, never as JSON numbers). The order
    of each statement's rows is not kept: sort them where it matters."""

    compiled: Compiled
    decoders: tuple[tuple[tuple[int, Callable[[Any], Any]], ...], ...]  # (column, decode)

    def parameters(self, given: Mapping[str, Any]) -> dict[str, Any]:
        return self.compiled.parameters(given)

    def rows(self, record: Sequence[Any]) -> list[list[tuple[Any, ...]]]:
        results = []
        for document, decoders in zip(record, self.decoders, strict=True):
            rows = orjson.loads(document)
            if decoders:
                for row in rows:
                    for column, decode in decoders:
                        row[column] = decode(row[column])
            results.append([tuple(row) for row in rows])
        return results


def bundle_pg(
    *statements: Select[*tuple[Any, ...]],
    gate: ColumnElement[bool] | None = None,
    gated: int = 0,
) -> Bundle:
    """The statements as one :class:`Bundle` (build it once). Parameters of the same name are
    shared; the statements' own literals get distinct names. With ``gate``, the statements
    from position ``gated`` on run only where ``gate`` holds (else they give no rows): the
    ones before decide whether the rest is worth reading."""
    parts: list[Any] = []
    empty: ColumnElement[Any] = literal_column("'[]'")
    # the gate is evaluated once, in a CTE that every gated statement reads
    holds = (
        select(select(gate.label("holds")).cte("gate").c.holds).scalar_subquery()
        if gate is not None
        else None
    )
    all_decoders = []
    for n, statement in enumerate(statements):
        # no ORDER BY: json_agg would not promise to keep it, and a sort is one more plan
        # node to set up on every execution (the callers sort what needs an order)
        rows = statement.order_by(None).subquery()
        decoders = tuple(
            (i, decode)
            for i, column in enumerate(statement.selected_columns)
            if (decode := _decoder(column.type)) is not None
        )
        exact = {i for i, decode in decoders if decode is _decimal}
        columns = [cast(c, Text) if i in exact else c for i, c in enumerate(rows.c)]
        # text, not json: psycopg hands it over as it is, for orjson to parse
        as_json = cast(func.coalesce(func.json_agg(func.json_build_array(*columns)), empty), Text)
        part: Any = select(as_json).select_from(rows).scalar_subquery()
        if holds is not None and n >= gated:
            part = case((holds, part), else_=empty)
        parts.append(part)
        all_decoders.append(decoders)
    return Bundle(compile_pg(select(*parts)), tuple(all_decoders))


@cache
def _conninfo(url: str) -> str:
    from sqlalchemy.engine import make_url  # noqa: PLC0415

    parsed = make_url(url).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


def supported(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg"


async def _configure(connection: AsyncConnection[Any]) -> None:
    # one statement per read (a bundle when it needs several): autocommit, no BEGIN/COMMIT
    # round trips; the connection refuses writes (default_transaction_read_only, below)
    await connection.set_autocommit(True)


class AsyncDatabase:
    """The asyncio connection pool of one process, or nothing (see the module's docstring)."""

    def __init__(self, engine: Engine | None) -> None:
        self._url = engine.url.render_as_string(hide_password=False) if engine else ""
        self._wanted = engine is not None and supported(engine)
        self._pool: AsyncConnectionPool[AsyncConnection[Any]] | None = None
        self._writer: AsyncConnection[Any] | None = None

    @property
    def available(self) -> bool:
        return self._pool is not None

    async def open(self) -> None:
        if not self._wanted or self._pool is not None:
            return
        pool: AsyncConnectionPool[AsyncConnection[Any]] = AsyncConnectionPool(
            _conninfo(self._url),
            min_size=POOL_MIN,
            max_size=POOL_MAX,
            configure=_configure,
            kwargs={"options": "-c default_transaction_read_only=on"},
            open=False,
            name="ila-api-reads",
        )
        await pool.open(wait=False)  # connects in the background: a database still starting
        self._pool = pool  # delays the first requests instead of failing the application

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        writer, self._writer = self._writer, None
        if writer is not None:
            await writer.close()
        if pool is not None:
            await pool.close()

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncConnection[Any]]:
        """A read-only connection in autocommit mode: each statement its own snapshot."""
        if self._pool is None:
            raise RuntimeError("the asynchronous database is not open")
        async with self._pool.connection() as connection:
            yield connection

    async def writer(self) -> AsyncConnection[Any]:
        """The one writing connection of this process (the audit appender's), in autocommit
        mode (one statement, one transaction), reconnected when it was lost."""
        if self._writer is None or self._writer.closed or self._writer.broken:
            self._writer = await AsyncConnection.connect(_conninfo(self._url), autocommit=True)
        return self._writer

"""The asynchronous read path of PostgreSQL (``ila.db.aio``, ADR 0021): a bundle returns, for
each of its statements, exactly the rows and Python values SQLAlchemy's engine returns for
that statement alone (dates, UTC timestamps, exact decimals, nulls, booleans, text); the gate
empties the gated statements; the pool's connections refuse writes; a closed database is not
available."""

from __future__ import annotations

from collections.abc import Coroutine
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from psycopg.errors import ReadOnlySqlTransaction
from sqlalchemy import Boolean, Date, Engine, Integer, String, literal, select, union_all
from sqlalchemy.sql import Select

from ila.db.aio import AsyncDatabase, bundle_pg
from ila.db.base import ExactDecimal, UTCDateTime
from tests.aio import run_in_own_loop


def _typed() -> Select[Any]:
    rows = [
        (1, date(2024, 2, 29), Decimal("12.3400"), datetime(2024, 3, 1, 7, 8, 9, 123456, UTC)),
        (2, None, Decimal("-0.0001"), None),
        (3, date(2100, 12, 31), Decimal("99999999.9999"), datetime(2026, 1, 1, tzinfo=UTC)),
    ]
    selects = [
        select(
            literal(n, Integer).label("n"),
            literal(day, Date).label("day"),
            literal(amount, ExactDecimal()).label("amount"),
            literal(moment, UTCDateTime()).label("moment"),
            literal(n % 2 == 1, Boolean).label("odd"),
            literal(f'é\t"{n}"\\', String).label("text"),
        )
        for n, day, amount, moment in rows
    ]
    return select(union_all(*selects).subquery())


def _run(engine: Engine, coroutine: Coroutine[Any, Any, Any]) -> Any:
    return run_in_own_loop(coroutine)


@pytest.fixture
def pg(postgresql_engine: Engine) -> Engine:
    return postgresql_engine


def test_a_bundle_returns_what_the_engine_returns(pg: Engine) -> None:
    statement = _typed()
    empty = select(literal(1, Integer).label("n")).where(literal(False, Boolean))
    bundle = bundle_pg(statement, empty, statement)
    with pg.connect() as connection:
        expected = [tuple(row) for row in connection.execute(statement)]

    async def read() -> list[list[tuple[Any, ...]]]:
        aio = AsyncDatabase(pg)
        await aio.open()
        try:
            async with aio.reading() as connection:
                cursor = await connection.execute(bundle.compiled.sql, bundle.parameters({}))
                record = await cursor.fetchone()
        finally:
            await aio.close()
        assert record is not None
        return bundle.rows(record)

    first, nothing, again = _run(pg, read())
    assert sorted(first) == sorted(expected)
    assert sorted(again) == sorted(expected)
    assert nothing == []
    amounts = {row[0]: row[2] for row in first}
    assert str(amounts[1]) == "12.3400"  # the scale is kept, never a float's rounding


def test_the_gate_empties_the_gated_statements(pg: Engine) -> None:
    from sqlalchemy import bindparam

    statement = _typed()
    bundle = bundle_pg(statement, statement, gate=bindparam("open", type_=Boolean), gated=1)

    async def read(gate_open: bool) -> list[list[tuple[Any, ...]]]:
        aio = AsyncDatabase(pg)
        await aio.open()
        try:
            async with aio.reading() as connection:
                cursor = await connection.execute(
                    bundle.compiled.sql, bundle.parameters({"open": gate_open})
                )
                record = await cursor.fetchone()
        finally:
            await aio.close()
        assert record is not None
        return bundle.rows(record)

    ungated, gated = _run(pg, read(False))
    assert len(ungated) == 3
    assert gated == []
    ungated, gated = _run(pg, read(True))
    assert len(ungated) == len(gated) == 3


def test_reading_connections_refuse_writes(pg: Engine) -> None:
    async def write() -> None:
        aio = AsyncDatabase(pg)
        await aio.open()
        try:
            async with aio.reading() as connection:
                await connection.execute("CREATE TABLE aio_must_not_exist (n int)")
        finally:
            await aio.close()

    with pytest.raises(ReadOnlySqlTransaction):
        _run(pg, write())


def test_not_available_unless_open(pg: Engine, sqlite_engine: Engine) -> None:
    async def states(engine: Engine) -> tuple[bool, bool, bool]:
        aio = AsyncDatabase(engine)
        before = aio.available
        await aio.open()
        opened = aio.available
        await aio.close()
        return before, opened, aio.available

    assert _run(pg, states(pg)) == (False, True, False)
    assert _run(sqlite_engine, states(sqlite_engine)) == (False, False, False)  # never on SQLite

"""The audit's group commit on PostgreSQL (``ila.audit.aio``, ADR 0023): concurrent announced
requests are written in one append, each request returns only once its entry is committed,
and the chain stays intact. On a database of its own: the appends commit."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ila.audit.aio import GroupAppender, postgresql_writer
from ila.audit.chain import verify_chain
from ila.audit.models import AuditEvent
from ila.bootstrap import Container
from ila.db.aio import AsyncDatabase
from ila.db.base import utcnow
from ila.db.migrate import upgrade


def _entry(n: int) -> dict[str, Any]:
    return {
        "occurred_at": utcnow(),
        "actor": "client-test",
        "organisation": "0800000001",
        "on_behalf_of": "0800000001",
        "action": "read",
        "resource": "account",
        "subject_national_number": "85010100110",
        "request_id": f"group-{n}",
        "legal_context": None,
        "details": {"year": 2025, "n": n},
    }


def test_concurrent_reads_are_committed_in_one_group(app_container: Container) -> None:
    postgresql_engine = app_container.engine
    if postgresql_engine.dialect.name != "postgresql":
        pytest.skip("the asynchronous reads and their group commit are PostgreSQL's")
    upgrade(postgresql_engine)
    sizes: list[int] = []
    committed: list[int] = []

    def count() -> int:
        with postgresql_engine.connect() as connection:
            return int(
                connection.scalar(
                    select(func.count())
                    .select_from(AuditEvent)
                    .where(AuditEvent.request_id.like("group-%"))
                )
                or 0
            )

    async def scenario() -> None:
        aio = AsyncDatabase(postgresql_engine)
        write = postgresql_writer(aio.writer)

        async def counted(entries: Sequence[Mapping[str, Any]]) -> None:
            sizes.append(len(entries))
            await write(entries)

        appender = GroupAppender(counted, linger=30.0)  # only the announced requests decide
        reading = asyncio.Event()

        async def request(n: int) -> None:
            with appender.expect() as audit:
                await reading.wait()  # the account read
                await audit.append([_entry(n)])
            committed.append(await asyncio.to_thread(count))

        try:
            tasks = [asyncio.create_task(request(n)) for n in range(8)]
            await asyncio.sleep(0.05)
            reading.set()
            await asyncio.wait_for(asyncio.gather(*tasks), 20)
        finally:
            await aio.close()

    # a loop of its own, in a thread of its own: another test may have left one running here
    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, scenario()).result()
    assert sizes == [8]
    assert min(committed) == 8  # no request went on before its entry was committed
    with Session(postgresql_engine) as session:
        assert verify_chain(session).intact

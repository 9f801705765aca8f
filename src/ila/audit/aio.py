"""Group commit of the audit entries of asynchronous API reads (ADR 0021).

A read of personal data is answered only once its audit entries are committed. Requests served
on the event loop hand their entries to the process's :class:`GroupAppender` and wait: while
one append is being committed, the entries of the requests that arrive meanwhile (and for
:data:`LINGER` more) gather, and the next append chains them all in one statement (that of
:func:`ila.audit.chain.append_deferred`). The chain's head is locked once per group instead of
once per request, and the WAL is flushed once per group.

If an append fails, every request of its group fails with it: no answer leaves without its
audit entry."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from psycopg import AsyncConnection

from ila.audit.chain import APPEND_POSTGRESQL, pipeline_parameters

_GROUP_MAX = 500  # entries per append, at most
LINGER = 0.002  # seconds an append waits for more entries


class GroupAppender:
    """Appends audit entries in groups, one writer at a time, on ``connect()``'s connection."""

    def __init__(self, connect: Callable[[], Awaitable[AsyncConnection[Any]]]) -> None:
        self._connect = connect
        self._pending: list[tuple[Sequence[Mapping[str, Any]], asyncio.Future[None]]] = []
        self._running: asyncio.Task[None] | None = None

    async def append(self, entries: Sequence[Mapping[str, Any]]) -> None:
        """Return once ``entries`` are committed at the end of the chain (raise if not)."""
        if not entries:
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((entries, done))
        if self._running is None or self._running.done():
            self._running = asyncio.create_task(self._drain())
        await done

    async def _drain(self) -> None:
        while self._pending:
            # let the group fill a little: under load, a few more entries per append halve
            # the database's work per entry, for 2 ms more per answer
            await asyncio.sleep(LINGER)
            group: list[tuple[Sequence[Mapping[str, Any]], asyncio.Future[None]]] = []
            size = 0
            while self._pending and (not group or size + len(self._pending[0][0]) <= _GROUP_MAX):
                item = self._pending.pop(0)
                group.append(item)
                size += len(item[0])
            try:
                await self._write([entry for entries, _ in group for entry in entries])
            except BaseException as exc:  # every waiting request learns of it
                for _, done in group:
                    if not done.done():
                        done.set_exception(exc)
                if not isinstance(exc, Exception):
                    raise
                continue
            for _, done in group:
                if not done.done():
                    done.set_result(None)

    async def _write(self, entries: Sequence[Mapping[str, Any]]) -> None:
        # one statement on an autocommit connection: its own transaction, committed (WAL
        # flushed) before the server answers; prepared once per connection
        connection = await self._connect()
        await connection.execute(APPEND_POSTGRESQL, pipeline_parameters(entries), prepare=True)

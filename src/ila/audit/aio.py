"""Group commit of the audit entries of asynchronous API reads (ADR 0021, ADR 0023).

A read of personal data is answered only once its audit entries are committed. Requests served
on the event loop hand their entries to the process's :class:`GroupAppender` and wait; one
append (the statement of :func:`ila.audit.chain.append_deferred`) chains the entries of many
requests at once. The chain's head is locked once per group instead of once per request, the
statement's own set-up and the WAL flush are paid once per group.

When to send a group: a request announces itself when it starts (:meth:`GroupAppender.expect`),
before its own database read, and hands its entries over when it has them. A group is sent as
soon as every announced request has handed its entries over or given up (nobody else is on the
way: waiting longer would only hold up the requests already waiting), and otherwise after
:data:`LINGER` at most. A lone request is therefore written at once; under load, groups grow
to the requests in flight, and the database's work per entry falls.

If an append fails, every request of its group fails with it: no answer leaves without its
audit entry."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import suppress
from typing import Any

from psycopg import AsyncConnection

from ila.audit.chain import APPEND_POSTGRESQL, pipeline_parameters

Entries = Sequence[Mapping[str, Any]]
Write = Callable[[Entries], Awaitable[None]]

_GROUP_MAX = 500  # entries per append, at most
LINGER = 0.015
"""Seconds a group waits, at most, for announced requests still on their way (ADR 0023)."""


def postgresql_writer(connect: Callable[[], Awaitable[AsyncConnection[Any]]]) -> Write:
    """Appends on ``connect()``'s connection: one statement on an autocommit connection, its
    own transaction, committed (WAL flushed) before the server answers; prepared once per
    connection."""

    async def write(entries: Entries) -> None:
        connection = await connect()
        await connection.execute(APPEND_POSTGRESQL, pipeline_parameters(entries), prepare=True)

    return write


class Expected:
    """An announced request (:meth:`GroupAppender.expect`): it appends once, or not at all;
    leaving its ``with`` block withdraws it if it did not."""

    __slots__ = ("_appender", "_open")

    def __init__(self, appender: GroupAppender) -> None:
        self._appender = appender
        self._open = True

    def __enter__(self) -> Expected:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    async def append(self, entries: Entries) -> None:
        """Return once ``entries`` are committed at the end of the chain (raise if not)."""
        self.close()
        await self._appender.append(entries)

    def close(self) -> None:
        """No longer on the way (its entries handed over, or none coming)."""
        if self._open:
            self._open = False
            self._appender._arrived()


class GroupAppender:
    """Appends audit entries in groups, one write at a time, with ``write``."""

    def __init__(self, write: Write, *, linger: float = LINGER) -> None:
        self._write = write
        self._linger = linger
        self._pending: list[tuple[Entries, asyncio.Future[None]]] = []
        self._running: asyncio.Task[None] | None = None
        self._expected = 0  # announced requests that have not handed their entries over
        self._all_in: asyncio.Future[None] | None = None  # what a lingering group awaits

    def expect(self) -> Expected:
        """Announce a request (``with appender.expect() as audit:``) that will append its
        entries with ``audit.append`` before leaving the block; a request that leaves without
        appending (refused, not found) simply stops being waited for."""
        self._expected += 1
        return Expected(self)

    def _arrived(self) -> None:
        self._expected -= 1
        if self._expected == 0 and self._all_in is not None and not self._all_in.done():
            self._all_in.set_result(None)

    async def append(self, entries: Entries) -> None:
        """Return once ``entries`` are committed at the end of the chain (raise if not). An
        append that was not announced waits only for the announced requests, if any."""
        if not entries:
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((entries, done))
        if self._running is None or self._running.done():
            self._running = asyncio.create_task(self._drain())
        await done

    async def _drain(self) -> None:
        while self._pending:
            if self._expected > 0:  # announced requests on their way: let them join
                self._all_in = asyncio.get_running_loop().create_future()
                with suppress(TimeoutError):
                    async with asyncio.timeout(self._linger):
                        await self._all_in
                self._all_in = None
            group: list[tuple[Entries, asyncio.Future[None]]] = []
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

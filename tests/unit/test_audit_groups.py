"""When the audit's group commit (``ila.audit.aio.GroupAppender``, ADR 0023) sends a group:
at once when every announced request has handed its entries over or left, after the linger
at most otherwise; a failed write fails every request of its group. The write is a recording
function here (the scheduling is pure logic); tests/functional/test_audit_groups_pg.py runs
the same with PostgreSQL's writer."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Mapping, Sequence
from typing import Any

import pytest

from ila.audit.aio import GroupAppender
from tests.aio import run_in_own_loop

LONG = 60.0  # a linger no test may wait for: reaching it fails the test's own timeout
PATIENCE = 10.0  # seconds a test waits for what must happen without the linger


class Recorder:
    def __init__(self, fail: BaseException | None = None) -> None:
        self.groups: list[list[Any]] = []
        self.fail = fail
        self.hold: asyncio.Event | None = None  # a write in flight until it is set

    async def write(self, entries: Sequence[Mapping[str, Any]]) -> None:
        self.groups.append([entry["n"] for entry in entries])
        await asyncio.sleep(0)  # a real write yields to the loop
        if self.hold is not None:
            await self.hold.wait()
        if self.fail is not None:
            raise self.fail


def entry(n: int) -> list[dict[str, int]]:
    return [{"n": n}]


def run(coroutine: Coroutine[Any, Any, Any]) -> Any:
    return run_in_own_loop(coroutine, PATIENCE)


def test_a_lone_request_is_written_at_once() -> None:
    recorder = Recorder()
    appender = GroupAppender(recorder.write, linger=LONG)

    async def one() -> None:
        with appender.expect() as audit:
            await audit.append(entry(1))

    run(one())
    assert recorder.groups == [[1]]


def test_a_group_waits_for_the_announced_requests() -> None:
    recorder = Recorder()
    appender = GroupAppender(recorder.write, linger=LONG)

    async def scenario() -> None:
        release = asyncio.Event()

        async def request(n: int, wait: asyncio.Event | None) -> None:
            with appender.expect() as audit:
                if wait is not None:
                    await wait.wait()  # still reading its account
                await audit.append(entry(n))

        tasks = [asyncio.create_task(request(n, release if n == 3 else None)) for n in (1, 2, 3)]
        for _ in range(5):
            await asyncio.sleep(0)
        assert recorder.groups == []  # 1 and 2 wait for 3, announced and still reading
        release.set()
        await asyncio.gather(*tasks)

    run(scenario())
    assert recorder.groups == [[1, 2, 3]]


def test_a_request_that_leaves_without_entries_is_not_waited_for() -> None:
    recorder = Recorder()
    appender = GroupAppender(recorder.write, linger=LONG)

    async def scenario() -> None:
        refused = asyncio.Event()

        async def reads() -> None:
            with appender.expect() as audit:
                await audit.append(entry(1))

        async def is_refused() -> None:
            with appender.expect():
                await refused.wait()
                raise LookupError("not found")  # leaves the block without appending

        first = asyncio.create_task(reads())
        second = asyncio.create_task(is_refused())
        for _ in range(5):
            await asyncio.sleep(0)
        assert recorder.groups == []
        refused.set()
        with pytest.raises(LookupError):
            await second
        await first

    run(scenario())
    assert recorder.groups == [[1]]


def test_the_linger_bounds_the_wait() -> None:
    recorder = Recorder()
    appender = GroupAppender(recorder.write, linger=0.05)

    async def scenario() -> None:
        slow = asyncio.Event()

        async def request(n: int, wait: asyncio.Event | None) -> None:
            with appender.expect() as audit:
                if wait is not None:
                    await wait.wait()
                await audit.append(entry(n))

        fast = asyncio.create_task(request(1, None))
        late = asyncio.create_task(request(2, slow))
        await fast  # written after the linger, without the slow request
        assert recorder.groups == [[1]]
        slow.set()
        await late

    run(scenario())
    assert recorder.groups == [[1], [2]]


def test_entries_arriving_during_a_write_go_in_the_next_group() -> None:
    recorder = Recorder()
    appender = GroupAppender(recorder.write, linger=LONG)

    async def scenario() -> None:
        recorder.hold = asyncio.Event()

        async def request(n: int) -> None:
            with appender.expect() as audit:
                await audit.append(entry(n))

        first = asyncio.create_task(request(1))
        while not recorder.groups:  # 1 handed over and sent at once: nobody else announced
            await asyncio.sleep(0)
        others = [asyncio.create_task(request(n)) for n in (2, 3)]
        for _ in range(5):
            await asyncio.sleep(0)
        assert recorder.groups == [[1]]  # 2 and 3 wait while 1's write is in flight
        recorder.hold.set()
        await asyncio.gather(first, *others)

    run(scenario())
    assert recorder.groups == [[1], [2, 3]]


def test_a_failed_write_fails_its_whole_group_and_not_the_next() -> None:
    recorder = Recorder(fail=RuntimeError("database gone"))
    appender = GroupAppender(recorder.write, linger=LONG)

    async def request(n: int) -> None:
        with appender.expect() as audit:
            await audit.append(entry(n))

    async def scenario() -> list[Any]:
        failed = await asyncio.gather(request(1), request(2), return_exceptions=True)
        recorder.fail = None
        await request(3)
        return failed

    failed = run(scenario())
    assert [type(error) for error in failed] == [RuntimeError, RuntimeError]
    assert recorder.groups == [[1, 2], [3]]


def test_an_unannounced_append_waits_for_nobody() -> None:
    recorder = Recorder()
    appender = GroupAppender(recorder.write, linger=LONG)
    run(appender.append(entry(7)))
    run(appender.append([]))  # nothing to record: no write
    assert recorder.groups == [[7]]

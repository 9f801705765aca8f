"""Serving the web application from one or several processes (``ila serve --processes N``,
ADR 0022).

Several processes share one listening socket. Left to the kernel, the process that wakes first
takes a whole burst of new connections: a client that opens its pool of keep-alive connections
at once (payroll software, a social secretariat's gateway, a load test) was seen split 10/54
between two processes, and it then waits on the busier one while the other idles. Here every
process accepts a new connection only while it holds no more than :data:`SLACK` connections
more than the least busy of its siblings, so a burst is dealt out in turn, a few connections
at a time (32/32 or 31/33 for 64). The slack lets a process take a few connections of a burst
in one go rather than hand the turn over after each: turns cost a pass of each process's event
loop, and under load, one by one, 64 connections took up to 300 ms to be accepted.

The processes publish their counts of open connections in one shared memory page; a sibling
whose entry has not been refreshed for :data:`STALE_NS` (stopped, hung, or not yet started) is
left out of the comparison. A process whose turn it is takes the connections waiting while it
stays within the slack, without waiting for each one's transport to be set up, and a process
that is not waits at most :data:`MAX_DEFER_NS` for a sibling to take one (:class:`Turn`). That
bound is per stall, not per connection: once a sibling has let a connection wait that long
without taking any, the waiting process takes the rest of the burst at once until a sibling
accepts again. The balance can never stop the server accepting, and a sibling slowed by busy
worker threads costs a burst 100 ms, not 100 ms per connection.

The parent process only forks the workers, restarts one that dies, and passes on SIGINT and
SIGTERM; each worker is a normal uvicorn server (lifespan, graceful shutdown).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import mmap
import os
import select
import signal
import socket
import struct
import sys
import time
from collections.abc import Callable
from types import FrameType

import uvicorn

log = logging.getLogger(__name__)

# open connections, last refresh (CLOCK_MONOTONIC ns), connections accepted since it started
_ENTRY = struct.Struct("qqq")
PUBLISH_EVERY_S = 0.05
STALE_NS = 1_000_000_000
SLACK = 2  # a process may hold this many more connections than the least busy
DEFER_STEP_S = 0.0005
MAX_DEFER_NS = 100_000_000  # a busy sibling may take a while to reach its accept
BURST_GAP_NS = 1_000_000_000  # no connection waited here for that long: a new burst
RESTART_PAUSE_S = 1.0
STARTUP_GRACE_S = 10.0  # a worker that ends sooner cannot start: stop, don't loop


YOUNG_COLLECTION_THRESHOLD = 20_000


def settle_heap() -> None:
    """Once the app is built, before serving: the start-up objects (modules, rules,
    templates) leave the cyclic collector's scans (``gc.freeze``), and the youngest generation
    is scanned after 20,000 net allocations instead of 700. A request allocates thousands of
    short-lived objects that reference counting frees; scanned every 700, they were scanned
    several times per request (about 5 % of an account read's CPU), for almost no cycles."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, older, oldest)


class Balance:
    """The processes' counts of open connections in shared memory, one entry per process."""

    def __init__(self, memory: mmap.mmap, processes: int, slot: int = 0) -> None:
        if not 0 <= slot < processes:
            raise ValueError(f"slot {slot} outside 0..{processes - 1}")
        self.memory, self.processes, self.slot = memory, processes, slot

    @classmethod
    def create(cls, processes: int) -> Balance:
        """A shared anonymous page, inherited by the processes forked afterwards."""
        if processes < 1:
            raise ValueError("at least one process")
        return cls(mmap.mmap(-1, _ENTRY.size * processes), processes)

    def of(self, slot: int) -> Balance:
        """The same page, seen from process ``slot``."""
        return Balance(self.memory, self.processes, slot)

    def publish(self, connections: int, *, accepted: bool = False) -> None:
        """This process's count of open connections (``accepted``: one more was taken)."""
        offset = self.slot * _ENTRY.size
        accepts = _ENTRY.unpack_from(self.memory, offset)[2] + accepted
        _ENTRY.pack_into(self.memory, offset, connections, time.monotonic_ns(), accepts)

    def clear(self) -> None:
        """Forget this entry (its process stopped): siblings no longer wait for it."""
        _ENTRY.pack_into(self.memory, self.slot * _ENTRY.size, 0, 0, 0)

    def sibling_accepts(self) -> int:
        """How many connections the other processes have taken: it moves while they accept."""
        return sum(
            _ENTRY.unpack_from(self.memory, slot * _ENTRY.size)[2]
            for slot in range(self.processes)
            if slot != self.slot
        )

    def counts(self) -> list[int]:
        """Every process's last published count of open connections (0 when cleared)."""
        return [
            _ENTRY.unpack_from(self.memory, slot * _ENTRY.size)[0] for slot in range(self.processes)
        ]

    def may_accept(self, connections: int) -> bool:
        """Whether this process, holding ``connections``, is within :data:`SLACK` of the least
        busy live sibling."""
        now = time.monotonic_ns()
        for slot in range(self.processes):
            if slot == self.slot:
                continue
            theirs, seen, _ = _ENTRY.unpack_from(self.memory, slot * _ENTRY.size)
            if now - seen < STALE_NS and theirs + SLACK < connections:
                return False
        return True


class Turn:
    """Whether a process should leave a waiting connection to a sibling a while longer.

    It defers while a less busy sibling may take the connection, up to :data:`MAX_DEFER_NS`
    counted from the last time a sibling accepted one (or from the start of the wait). So a
    sibling that keeps accepting gets every turn it is owed, and one that has stopped taking
    connections (its event loop held up by worker threads, say) delays a burst once: after
    that the rest is taken here at once, until the sibling accepts again. A burst ends when
    no connection has waited here for :data:`BURST_GAP_NS`; the next starts afresh."""

    def __init__(self, balance: Balance) -> None:
        self.balance = balance
        self._since = 0  # when the current wait began, or a sibling last accepted (ns)
        self._sibling_accepts = -1
        self._last = -BURST_GAP_NS  # when this process last had a connection waiting (ns)

    def defer(self, connections: int, now: int) -> bool:
        """True: wait (a sibling's turn); False: take the connection now."""
        new_burst = now - self._last >= BURST_GAP_NS
        self._last = now
        if self.balance.may_accept(connections):
            self._since = now  # our turn: the next wait starts afresh
            return False
        accepts = self.balance.sibling_accepts()
        if new_burst or accepts != self._sibling_accepts:
            self._since, self._sibling_accepts = now, accepts  # the sibling is taking its turns
        return now - self._since < MAX_DEFER_NS


class BalancedServer(uvicorn.Server):
    """A uvicorn server that accepts from a shared socket only in its turn (:class:`Balance`)."""

    def __init__(self, config: uvicorn.Config, listener: socket.socket, balance: Balance) -> None:
        super().__init__(config)
        self.listener, self.balance = listener, balance
        self.turn = Turn(balance)
        self._connecting = 0  # accepted, their transport being set up
        self._starting: set[asyncio.Task[None]] = set()
        self._tasks: list[asyncio.Task[None]] = []

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=[])  # lifespan and state; the accepting is ours
        if self.should_exit:
            return
        self.listener.setblocking(False)
        self._tasks = [
            asyncio.create_task(self._accept_in_turn()),
            asyncio.create_task(self._keep_publishing()),
        ]

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.balance.clear()
        await super().shutdown(sockets)

    def _open(self) -> int:
        """Open connections, those being set up included."""
        return len(self.server_state.connections) + self._connecting

    def _protocol(self) -> asyncio.Protocol:
        protocol = self.config.http_protocol_class(  # type: ignore[call-arg]
            config=self.config,
            server_state=self.server_state,
            app_state=self.lifespan.state,
        )
        lost = protocol.connection_lost

        def connection_lost(exc: Exception | None) -> None:
            lost(exc)
            # at once: a client that reconnects its whole pool finds the counts current
            self.balance.publish(self._open())

        protocol.connection_lost = connection_lost  # type: ignore[method-assign]
        return protocol

    async def _keep_publishing(self) -> None:
        while True:  # the heartbeat that keeps the entry fresh
            self.balance.publish(self._open())
            await asyncio.sleep(PUBLISH_EVERY_S)

    async def _accept_in_turn(self) -> None:
        loop = asyncio.get_running_loop()
        listener, turn = self.listener, self.turn
        waiting = select.poll()
        waiting.register(listener, select.POLLIN)
        while True:
            await _readable(loop, listener)
            while waiting.poll(0):  # connections wait
                if turn.defer(self._open(), time.monotonic_ns()):
                    await asyncio.sleep(DEFER_STEP_S)  # a sibling's turn
                    continue
                try:
                    connection, _ = listener.accept()
                except (BlockingIOError, InterruptedError):
                    break  # a sibling took it
                except OSError:  # out of descriptors, say: let connections close, then go on
                    await asyncio.sleep(0.1)
                    break
                connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self._connecting += 1
                self.balance.publish(self._open(), accepted=True)
                # without waiting for it: the next connection of a burst is taken at once
                task = asyncio.create_task(self._take(loop, connection))
                self._starting.add(task)  # kept referenced until done
                task.add_done_callback(self._starting.discard)

    async def _take(self, loop: asyncio.AbstractEventLoop, connection: socket.socket) -> None:
        try:
            await loop.connect_accepted_socket(self._protocol, connection)
        except OSError:
            connection.close()
        finally:
            self._connecting -= 1
        self.balance.publish(self._open())


async def _readable(loop: asyncio.AbstractEventLoop, sock: socket.socket) -> None:
    ready: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(sock.fileno(), wake)
    try:
        await ready
    finally:
        loop.remove_reader(sock.fileno())


def listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def serve_processes(
    app_factory: Callable[[int], object],
    listener: socket.socket,
    processes: int,
    *,
    on_stop: Callable[[int], None] | None = None,
    log_level: str = "warning",
) -> int:
    """Fork ``processes`` workers serving ``app_factory(slot)`` on ``listener`` (``on_stop(slot)``
    runs in the worker when its server has stopped); restart a worker that dies; stop them all
    on SIGINT/SIGTERM. Returns the exit code: 0, or 1 when a worker could not start."""
    return _Supervisor(app_factory, listener, processes, on_stop, log_level).run()


class _Supervisor:
    def __init__(
        self,
        app_factory: Callable[[int], object],
        listener: socket.socket,
        processes: int,
        on_stop: Callable[[int], None] | None,
        log_level: str,
    ) -> None:
        self.app_factory, self.listener, self.on_stop = app_factory, listener, on_stop
        self.log_level = log_level
        self.balance = Balance.create(processes)
        self.children: dict[int, tuple[int, float]] = {}  # pid -> (slot, started)
        self.stopping = False
        self.code = 0

    def run(self) -> int:
        previous = {s: signal.signal(s, self.stop) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            for slot in range(self.balance.processes):
                self.start(slot)
            while self.children:
                try:
                    pid, status = os.wait()
                except ChildProcessError:  # pragma: no cover - every child is ours
                    break
                self.ended(pid, os.waitstatus_to_exitcode(status))
            return self.code
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)

    def start(self, slot: int) -> None:
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the worker (measured in its own process)
            os._exit(self.work(slot))
        self.children[pid] = (slot, time.monotonic())

    def work(self, slot: int) -> int:  # pragma: no cover - runs in the forked worker
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        try:
            config = uvicorn.Config(
                lambda: self.app_factory(slot), factory=True, log_level=self.log_level
            )
            BalancedServer(config, self.listener, self.balance.of(slot)).run()
            if self.on_stop is not None:
                self.on_stop(slot)
        except BaseException:
            log.exception("server process %d failed", slot)
            return 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
        return 0

    def ended(self, pid: int, exit_code: int) -> None:
        if pid not in self.children:  # pragma: no cover
            return
        slot, started = self.children.pop(pid)
        self.balance.of(slot).clear()
        if self.stopping:
            return
        if time.monotonic() - started < STARTUP_GRACE_S:  # could not start: a restart won't
            log.error("server process %d ended with %d while starting; stopping", slot, exit_code)
            self.code = 1
            self.stop(signal.SIGTERM, None)
            return
        log.error("server process %d (pid %d) ended with %d; restarting", slot, pid, exit_code)
        time.sleep(RESTART_PAUSE_S)
        self.start(slot)

    def stop(self, _signum: int, _frame: FrameType | None) -> None:
        self.stopping = True
        for pid in list(self.children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

"""`ila serve` over real HTTP: a separate process, a real socket."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import httpx
import psutil
import pytest

from ila.bootstrap import Container
from tests import builders


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(db_url: str, *args: str) -> tuple[subprocess.Popen[str], str]:
    port = _free_port()
    proc = subprocess.Popen(  # noqa: S603 - our own CLI with fixed arguments
        [sys.executable, "-m", "ila.cli", "serve", "--port", str(port), *args],
        env={**os.environ, "ILA_DATABASE_URL": db_url},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60  # a loaded CI machine starts slowly
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{base}/healthz", timeout=1)
        except httpx.TransportError:
            if proc.poll() is not None:
                pytest.fail(f"server exited: {proc.stderr.read() if proc.stderr else ''}")
            time.sleep(0.2)
        else:
            return proc, base
    proc.kill()
    pytest.fail("the server did not start")


@pytest.fixture
def server(db_url: str, app_container: Container) -> Iterator[str]:
    from ila.db.migrate import upgrade

    upgrade(app_container.engine)
    builders.employer(app_container, fte="12")
    proc, base = _start(db_url)
    try:
        yield base
    finally:
        proc.terminate()
        proc.communicate(timeout=10)  # also closes the pipes


def test_serve_answers_health_and_home(server: str) -> None:
    health = httpx.get(f"{server}/healthz", timeout=5).json()
    assert health["status"] == "ok"
    assert health["employers"] == 1
    home = httpx.get(f"{server}/", timeout=5)  # French by default
    assert home.status_code == 200
    assert "Compte individuel de formation" in home.text
    english = httpx.get(f"{server}/", headers={"Accept-Language": "en"}, timeout=5)
    assert "Individual Learning Account" in english.text
    dutch = httpx.get(f"{server}/", headers={"Accept-Language": "nl-BE,nl;q=0.9"}, timeout=5)
    assert "Individuele leerrekening" in dutch.text


def test_serve_runs_the_scheduled_jobs(server: str, app_container: Container) -> None:
    """The scheduler embedded in ``ila serve`` claims and runs every job soon after start."""
    from sqlalchemy import select

    from ila.jobs.models import ScheduledJob
    from ila.jobs.schedule import JOBS

    deadline = time.monotonic() + 30
    done: dict[str, str | None] = {}
    while time.monotonic() < deadline and len(done) < len(JOBS):
        with app_container.uow() as uow:
            done = {
                row.name: row.last_outcome
                for row in uow.session.scalars(select(ScheduledJob))
                if row.runs > 0
            }
        time.sleep(0.3)
    assert done == {job.name: "ok" for job in JOBS}


def _burst(base: str, size: int) -> list[socket.socket]:
    """``size`` connections opened at once (as a client fills its pool), each kept open after
    one answered request."""
    host, port = base.removeprefix("http://").split(":")
    connections = [socket.create_connection((host, int(port)), timeout=10) for _ in range(size)]
    for conn in connections:
        conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: ila\r\n\r\n")
    for conn in connections:
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += conn.recv(65536)
        assert answer.startswith(b"HTTP/1.1 200"), answer[:100]
    return connections


def _open_per_process(proc: subprocess.Popen[str], port: int) -> dict[int, int]:
    workers = psutil.Process(proc.pid).children()
    return {
        w.pid: sum(
            1
            for c in w.net_connections(kind="tcp")
            if c.status == psutil.CONN_ESTABLISHED and c.laddr and c.laddr.port == port
        )
        for w in workers
    }


def _wait_for(condition: object, what: str | Callable[[], str], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what() if callable(what) else what}")


def test_serve_processes_deal_connections_in_turn_and_restart_a_dead_one(
    db_url: str, app_container: Container
) -> None:
    """``ila serve --processes 2``: a burst of keep-alive connections is split evenly, within
    the balance's slack (the kernel alone gave one process most of them), a worker killed
    later is replaced and the port keeps answering, and SIGTERM stops every process with
    exit code 0."""
    from ila.db.migrate import upgrade
    from ila.web import serve

    upgrade(app_container.engine)
    proc, base = _start(db_url, "--processes", "2")
    port = int(base.rsplit(":", 1)[1])
    try:
        _wait_for(lambda: len(psutil.Process(proc.pid).children()) == 2, "two workers")
        forked = time.monotonic()  # no earlier than the workers' start
        # until the second worker has started, the first rightly takes every connection
        splits: list[list[int]] = []

        def burst() -> list[int]:
            connections = _burst(base, 16)
            time.sleep(0.2)
            splits.append(sorted(_open_per_process(proc, port).values()))
            for conn in connections:
                conn.close()
            time.sleep(0.3)  # the closes reach the workers' counts
            return splits[-1] if len(splits[-1]) == 2 else [0, 16]

        _wait_for(
            lambda: min(burst()) > 0, lambda: f"both workers serving (seen {splits})", seconds=60
        )
        # then bursts are dealt out evenly, within the slack: three in a row. Not every burst
        # from here on: a sibling that gets no CPU for MAX_DEFER_NS (other tests loading the
        # machine) rightly leaves the rest of a burst to the other process (ADR 0022); the
        # kernel alone gives one process most of a burst, so a streak of even ones is the
        # balance at work
        streak: list[int] = []

        def even_burst() -> bool:
            fewer, more = burst()
            assert fewer + more == 16, splits
            streak.append(more - fewer <= serve.SLACK + 1)
            return streak[-3:] == [True] * 3

        _wait_for(even_burst, lambda: f"three even bursts in a row (seen {splits})", seconds=60)

        # a worker that dies once started is replaced; one that cannot start stops the server
        time.sleep(max(0.0, forked + serve.STARTUP_GRACE_S + 0.5 - time.monotonic()))
        victim = psutil.Process(proc.pid).children()[0].pid
        os.kill(victim, signal.SIGKILL)

        def replaced() -> bool:
            pids = {w.pid for w in psutil.Process(proc.pid).children()}
            return len(pids) == 2 and victim not in pids

        _wait_for(replaced, f"the replacement of worker {victim}")
        for _ in range(6):
            assert httpx.get(f"{base}/healthz", timeout=5).json()["status"] == "ok"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            _out, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            for worker in psutil.Process(proc.pid).children():
                worker.kill()
            proc.kill()
            raise
    assert proc.returncode == 0, err
    assert "restarting" in err


def test_serve_processes_stop_when_a_worker_cannot_start() -> None:
    """A worker that fails while starting is not restarted for ever: the server stops with
    exit code 1 (restarting would fail the same way)."""
    from ila.web import serve

    def broken(slot: int) -> object:
        raise RuntimeError(f"worker {slot} cannot start")

    listener = serve.listen("127.0.0.1", 0)
    try:
        assert serve.serve_processes(broken, listener, 2) == 1
    finally:
        listener.close()

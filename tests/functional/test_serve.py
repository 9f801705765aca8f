"""`ila serve` over real HTTP: a separate process, a real socket."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from ila.bootstrap import Container
from tests import builders


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(db_url: str, app_container: Container) -> Iterator[str]:
    from ila.db.migrate import upgrade

    upgrade(app_container.engine)
    builders.employer(app_container, fte="12")
    port = _free_port()
    proc = subprocess.Popen(  # noqa: S603 - our own CLI with fixed arguments
        [sys.executable, "-m", "ila.cli", "serve", "--port", str(port)],
        env={**os.environ, "ILA_DATABASE_URL": db_url},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60  # a loaded CI machine starts slowly
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.TransportError:
                if proc.poll() is not None:
                    pytest.fail(f"server exited: {proc.stderr.read() if proc.stderr else ''}")
                time.sleep(0.2)
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

"""``ila batch`` on a fresh database, as a user runs it: submit, status, work, result, and the
watched inbox of a sender (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
import shutil
import threading
from pathlib import Path
from typing import Any, BinaryIO

import pytest
from lxml import etree
from sqlalchemy import text
from typer.testing import CliRunner

from ila.batch.config import BatchSettings
from ila.batch.jobs import run_worker
from ila.batch.xmlfile import RESULT_XSD, schema
from ila.bootstrap import Container
from ila.cli.main import app
from ila.db.uow import make_engine
from tests import builders

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "xml" / "examples"
runner = CliRunner()


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def world(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("ILA_BATCH_SPOOL_DIR", str(tmp_path / "spool"))
    assert _run("db", "upgrade")[0] == 0
    return db_url


@pytest.fixture
def people(world: str, app_container: Container) -> str:
    en = builders.employer(app_container)
    for serial in (1, 2):
        builders.employ(app_container, builders.person(app_container, serial), en)
    return en


def test_submit_work_status_result(people: str, tmp_path: Path) -> None:
    example = str(EXAMPLES / "submission-trainings.xml")
    code, out, err = _run("batch", "submit", example, "--sender", people, "--no-wait", "--json")
    assert code == 0, err
    queued = json.loads(out)
    assert (queued["status"], queued["total"], queued["progress"]) == ("received", None, None)
    ticket = queued["ticket"]
    code, out, _ = _run("batch", "result", ticket)
    assert code == 2
    code, out, _ = _run("batch", "work", "--max-batches", "1")
    assert code == 0
    assert f"{ticket}  done  6/6 records: 6 accepted, 0 unchanged, 0 rejected" in out
    code, out, _ = _run("batch", "status", ticket, "--json")
    assert json.loads(out)["progress"] == 1.0
    target = tmp_path / "result.xml"
    assert _run("batch", "result", ticket, "-o", str(target))[0] == 0
    schema(RESULT_XSD).assertValid(etree.parse(str(target)))
    code, out, _ = _run("batch", "result", ticket)
    assert code == 0
    assert out.startswith("<?xml")
    # the same file again: the earlier batch, nothing processed again
    code, out, _ = _run("batch", "submit", example, "--sender", people, "--wait")
    assert code == 0
    assert ticket in out
    assert "received before" in out
    # a broken file is a failed batch with its reason
    broken = tmp_path / "broken.xml"
    broken.write_bytes(b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>')
    code, out, _ = _run("batch", "submit", str(broken), "--sender", people)
    assert code == 0
    assert "failed" in out
    assert "xml_dtd_forbidden" in out
    code, _, err = _run("batch", "submit", str(tmp_path / "none.xml"), "--sender", people)
    assert (code, "unreadable_file" in err) == (2, True)
    code, _, err = _run("batch", "status", "0" * 32)
    assert (code, "not_found" in err) == (2, True)
    assert _run("batch", "work")[0] == 0  # nothing waiting: stops at once


def test_watched_inbox(people: str, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    folder = inbox / people
    folder.mkdir(parents=True)
    (inbox / "not-a-sender").mkdir()
    shutil.copy(EXAMPLES / "submission-trainings.xml", folder / "monday.xml")
    shutil.copy(EXAMPLES / "submission-trainings.xml", folder / "monday.part")  # still uploading
    # the same reference with other content: refused with the reason beside it
    changed = (EXAMPLES / "submission-trainings.xml").read_text().replace("Demo", "Other")
    code, out, _ = _run("batch", "watch", str(inbox), "--once", "--work")
    assert code == 0, out
    assert "submitted" in out
    (folder / "tuesday.xml").write_text(changed, encoding="utf-8")
    code, out, _ = _run("batch", "watch", str(inbox), "--once", "--work")
    assert "refused tuesday.xml" in out
    assert "batch_reference_reused" in (folder / "refused" / "tuesday.xml.error.txt").read_text()
    results = sorted((folder / "results").glob("*.result.xml"))
    assert len(results) == 1
    assert results[0].name.startswith("monday-")
    doc = etree.parse(str(results[0]))
    schema(RESULT_XSD).assertValid(doc)
    assert doc.getroot()[1].get("accepted") == "6"
    assert not list((folder / "results").glob("*.pending"))
    assert not list((folder / "results").glob("*.part"))
    assert (folder / "monday.part").exists()
    assert len(list((folder / "received").iterdir())) == 1
    code, _, err = _run("batch", "watch", str(tmp_path / "missing"), "--once")
    assert (code, "not_a_directory" in err) == (2, True)


def test_an_inbox_result_appears_whole_or_not_at_all(
    people: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sweep that dies while writing a result document leaves no ``*.result.xml`` for the
    sender to fetch half of; the next sweep writes it whole."""
    from ila.batch import inbox as inbox_module
    from ila.batch.result import write_result

    inbox = tmp_path / "inbox"
    folder = inbox / people
    folder.mkdir(parents=True)
    shutil.copy(EXAMPLES / "submission-trainings.xml", folder / "monday.xml")

    def dies_halfway(session: object, batch: object, out: BinaryIO) -> None:
        out.write(b'<?xml version="1.0" encoding="UTF-8"?>\n<result')
        raise OSError("disk full")

    monkeypatch.setattr(inbox_module, "write_result", dies_halfway)
    assert _run("batch", "watch", str(inbox), "--once", "--work")[0] != 0  # the OSError
    assert not list((folder / "results").glob("*.result.xml"))
    assert len(list((folder / "results").glob("*.pending"))) == 1
    monkeypatch.setattr(inbox_module, "write_result", write_result)
    assert _run("batch", "watch", str(inbox), "--once")[0] == 0
    (result,) = (folder / "results").glob("*.result.xml")
    schema(RESULT_XSD).assertValid(etree.parse(str(result)))
    assert not list((folder / "results").glob("*.pending"))
    assert not list((folder / "results").glob("*.part"))


def test_the_watcher_goes_on_after_a_failed_sweep_and_past_a_stray_marker(
    people: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ila.batch import inbox as inbox_module
    from ila.batch.result import write_result
    from ila.cli import batch as batch_cli

    inbox = tmp_path / "inbox"
    folder = inbox / people
    (folder / "results").mkdir(parents=True)
    (folder / "results" / ("0" * 32 + ".pending")).touch()  # no batch: copied in, say
    shutil.copy(EXAMPLES / "submission-trainings.xml", folder / "monday.xml")
    writes: list[str] = []

    def full_disk_once(session: Any, batch: Any, out: BinaryIO) -> None:
        writes.append(batch.ticket)
        if len(writes) == 1:
            raise OSError(28, "No space left on device")
        write_result(session, batch, out)

    class Stop(Exception):
        pass

    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 2:
            raise Stop

    monkeypatch.setattr(inbox_module, "write_result", full_disk_once)
    monkeypatch.setattr(batch_cli.time, "sleep", sleep)
    result = runner.invoke(app, ["batch", "watch", str(inbox), "--work", "--poll", "0.5"])
    assert isinstance(result.exception, Stop)  # the watcher was still going after two sweeps
    assert "sweep failed: OSError: [Errno 28] No space left on device; next sweep in 0.5 s" in (
        result.stderr
    )
    assert "dropped results/" + "0" * 32 + ".pending: no such batch of this sender" in (
        result.stdout
    )
    assert sleeps == [0.5, 0.5]
    assert len(writes) == 2
    (written,) = (folder / "results").glob("*.result.xml")
    assert f"result {written}" in " ".join(result.stdout.split())
    schema(RESULT_XSD).assertValid(etree.parse(str(written)))
    assert list((folder / "results").glob("*.pending")) == []


def test_queue_on_postgresql(people: str, world: str, tmp_path: Path) -> None:
    """procrastinate (ADR 0017): a batch whose job was lost is queued again by the next
    worker's sweep; ``--max-batches`` stops a worker after that many, the rest stays queued."""
    if not world.startswith("postgresql"):
        pytest.skip("SQLite has no queue: batches run in-process")
    example = (EXAMPLES / "submission-trainings.xml").read_text()
    tickets = []
    for n in (1, 2):
        file = tmp_path / f"f{n}.xml"
        file.write_text(
            example.replace("2026-11-PAYROLL-0001", f"QUEUE-{n}")
            .replace('recordId="', f'recordId="q{n}-')
            .replace('target="', f'target="q{n}-'),
            encoding="utf-8",
        )
        code, out, err = _run("batch", "submit", str(file), "--sender", people, "--json")
        assert code == 0, err
        tickets.append(json.loads(out)["ticket"])
    engine = make_engine(world)
    try:
        with engine.begin() as conn:  # the first batch's job is lost
            assert conn.scalar(text("SELECT count(*) FROM procrastinate_jobs")) == 2
            conn.execute(
                text(
                    "DELETE FROM procrastinate_jobs"
                    " WHERE args->>'batch_id' = (SELECT min(id)::text FROM batches)"
                )
            )
        code, out, _ = _run("batch", "work", "--max-batches", "1")
        assert code == 0
        assert out.count("  done  6/6") == 1
        code, out, _ = _run("batch", "work")
        assert code == 0
        assert out.count("  done  6/6") == 1
        for ticket in tickets:
            assert json.loads(_run("batch", "status", ticket, "--json")[1])["status"] == "done"
        with engine.begin() as conn:
            assert conn.scalar(text("SELECT count(*) FROM procrastinate_jobs")) == 0
    finally:
        engine.dispose()


def test_a_worker_started_where_an_event_loop_runs(
    people: str, world: str, app_container: Container
) -> None:
    """An embedding program's thread already runs an event loop (the browser tests' Playwright
    does): the worker runs its own loop in a thread of its own and processes the queue."""
    if not world.startswith("postgresql"):
        pytest.skip("SQLite has no queue: batches run in-process")
    example = str(EXAMPLES / "submission-trainings.xml")
    code, out, err = _run("batch", "submit", example, "--sender", people, "--json")
    assert code == 0, err
    ticket = json.loads(out)["ticket"]

    async def inside_a_loop() -> list[str]:
        return run_worker(app_container, BatchSettings())

    found: list[list[str]] = []
    # a thread of its own: the test process's main thread may run Playwright's loop already
    embedding = threading.Thread(target=lambda: found.append(asyncio.run(inside_a_loop())))
    embedding.start()
    embedding.join()
    assert found == [[ticket]]
    assert json.loads(_run("batch", "status", ticket, "--json")[1])["status"] == "done"

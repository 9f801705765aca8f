"""Crash safety: a worker process killed with SIGKILL in the middle of a file, then a new
worker: every valid record is applied exactly once and the result document is complete
(SQLite and PostgreSQL, real processes). On PostgreSQL the workers are procrastinate workers
(ADR 0017): the new one retries the dead one's stalled job."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import func, select, text

from ila.batch.config import BatchSettings
from ila.batch.models import Batch, BatchRecord
from ila.batch.result import write_result
from ila.batch.service import BATCH_SCOPES, Sender, submit
from ila.batch.xmlfile import RESULT_XSD, schema
from ila.bootstrap import Container
from ila.db.migrate import upgrade
from ila.trainings.models import Training
from tests import builders

RECORDS = 6000
WORKERS = 20


def generate(en: str, workers: list[str], count: int = RECORDS) -> bytes:
    out = io.StringIO()
    out.write(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<submission xmlns="urn:be:ila:batch:submission:v1"><header>'
        f"<sender>{en}</sender><reference>CRASH-1</reference>"
        f"<created>2026-11-23T10:00:00Z</created><employers><employer>{en}</employer>"
        "</employers></header><records>\n"
    )
    for i in range(count):
        end = "2024-02-01" if i % 10 == 7 else "2024-03-01"  # every tenth is refused
        out.write(
            f'<trainingCreate recordId="c-{i}"><employer>{en}</employer>'
            f"<worker>{workers[i % len(workers)]}</worker><title>Course {i}</title>"
            f"<startDate>2024-03-01</startDate><endDate>{end}</endDate>"
            "<duration>2.5</duration><durationUnit>hours</durationUnit>"
            "<nature>formal_internal</nature><status>followed</status></trainingCreate>\n"
        )
    out.write("</records></submission>\n")
    return out.getvalue().encode()


def worker(
    db_url: str, spool: Path, *options: str, chunk: int = 50, lease: int = 1
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "ILA_DATABASE_URL": db_url,
        "ILA_ENVIRONMENT": "test",
        "ILA_BATCH_SPOOL_DIR": str(spool),
        "ILA_BATCH_CHUNK_SIZE": str(chunk),
        "ILA_BATCH_LEASE_SECONDS": str(lease),
    }
    return subprocess.Popen(  # noqa: S603 - our own command
        [sys.executable, "-m", "ila.cli", "batch", "work", *options],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def snapshot(c: Container, ticket: str) -> tuple[Batch, int, int]:
    with c.uow() as uow:
        s = uow.session
        batch = s.scalars(select(Batch).where(Batch.ticket == ticket)).one()
        trainings = s.scalar(select(func.count()).select_from(Training)) or 0
        results = s.scalar(
            select(func.count()).select_from(BatchRecord).where(BatchRecord.batch_id == batch.id)
        )
        return batch, trainings, results or 0


def test_sigkill_mid_file_then_restart(
    app_container: Container, db_url: str, tmp_path: Path
) -> None:
    upgrade(app_container.engine)
    en = builders.employer(app_container)
    people = [builders.person(app_container, n) for n in range(1, WORKERS + 1)]
    for niss in people:
        builders.employ(app_container, niss, en)
    spool = tmp_path / "spool"
    settings = BatchSettings(spool_dir=spool)
    ticket = submit(
        app_container,
        settings,
        io.BytesIO(generate(en, people)),
        file_name="big.xml",
        sender=Sender(en, f"cli:{en}", BATCH_SCOPES, "cli"),
    ).ticket

    first = worker(db_url, spool)
    deadline = time.monotonic() + 120
    while True:
        batch, _, _ = snapshot(app_container, ticket)
        if batch.done >= 500 or first.poll() is not None or time.monotonic() > deadline:
            break
        time.sleep(0.005)
    first.send_signal(signal.SIGKILL)
    _, stderr = first.communicate()
    assert first.returncode == -signal.SIGKILL, stderr

    batch, trainings, results = snapshot(app_container, ticket)
    assert batch.status == "processing"
    assert 0 < batch.done < RECORDS, "killed too late: make the file bigger"
    # what was committed is whole: each applied record with its result and the checkpoint
    assert results == batch.done
    assert trainings == batch.accepted
    assert batch.accepted + batch.rejected == batch.done

    time.sleep(1.2)  # the lease of the dead worker expires
    second = worker(db_url, spool)
    _, stderr = second.communicate(timeout=300)
    assert second.returncode == 0, stderr

    batch, trainings, results = snapshot(app_container, ticket)
    assert (batch.status, batch.done, batch.total, batch.attempts) == ("done", RECORDS, RECORDS, 2)
    assert (batch.accepted, batch.rejected, batch.unchanged) == (5400, 600, 0)
    assert trainings == 5400
    assert results == RECORDS
    with app_container.uow() as uow:
        s = uow.session
        ids = s.scalars(select(Training.sender_record_id)).all()
        assert len(set(ids)) == len(ids) == 5400
        seqs = s.scalars(
            select(BatchRecord.seq)
            .where(BatchRecord.batch_id == batch.id)
            .order_by(BatchRecord.seq)
        ).all()
        assert list(seqs) == list(range(1, RECORDS + 1))
        out = io.BytesIO()
        write_result(s, batch, out)
        if db_url.startswith("postgresql"):  # the retried job ended well (and was deleted)
            assert s.scalar(text("SELECT count(*) FROM procrastinate_jobs")) == 0
    doc = etree.fromstring(out.getvalue())
    schema(RESULT_XSD).assertValid(doc)
    assert len(doc.findall("{urn:be:ila:batch:result:v1}record")) == RECORDS
    assert not list(spool.iterdir())


def test_a_live_lease_is_not_taken_over(app_container: Container, tmp_path: Path) -> None:
    """A batch whose worker is alive (fresh heartbeat) is left alone by another worker."""
    from ila.batch.service import claim

    upgrade(app_container.engine)
    en = builders.employer(app_container)
    settings = BatchSettings(spool_dir=tmp_path, lease_seconds=120)
    submit(
        app_container,
        settings,
        io.BytesIO(generate(en, [builders.person(app_container, 1)])),
        file_name="f.xml",
        sender=Sender(en, "cli", BATCH_SCOPES, "cli"),
    )
    assert claim(app_container, settings, "one") is not None
    assert claim(app_container, settings, "two") is None


def test_parallel_workers_on_postgresql(
    app_container: Container, db_url: str, tmp_path: Path
) -> None:
    """Two procrastinate worker processes at once on PostgreSQL, several batches: each batch
    is done once (claimed once), every record applied once, and both workers took part."""
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite processes batches in-process, one writer at a time")
    upgrade(app_container.engine)
    en = builders.employer(app_container)
    people = [builders.person(app_container, n) for n in range(1, WORKERS + 1)]
    for niss in people:
        builders.employ(app_container, niss, en)
    spool = tmp_path / "spool"
    settings = BatchSettings(spool_dir=spool)
    sender = Sender(en, f"cli:{en}", BATCH_SCOPES, "cli")
    workers_ = [
        worker(db_url, spool, "--forever", "--poll", "0.5", chunk=500, lease=30) for _ in range(2)
    ]
    try:
        deadline = time.monotonic() + 60
        while registered(app_container) < 2:  # both listening before the first batch
            assert time.monotonic() < deadline, "the workers did not start"
            assert all(proc.poll() is None for proc in workers_)
            time.sleep(0.1)
        tickets = []
        for n in range(1, BATCHES + 1):
            data = generate(en, people, PER_BATCH).replace(b"CRASH-1", f"PAR-{n}".encode())
            data = data.replace(b'recordId="c-', f'recordId="p{n}-'.encode())
            tickets.append(
                submit(app_container, settings, io.BytesIO(data), file_name="f", sender=sender)
            )
        deadline = time.monotonic() + 300
        while not all(snapshot(app_container, t.ticket)[0].finished_at for t in tickets):
            assert time.monotonic() < deadline, "the batches were not processed"
            time.sleep(0.2)
    finally:
        for proc in workers_:
            proc.send_signal(signal.SIGTERM)  # a graceful stop
        for proc in workers_:
            _, stderr = proc.communicate(timeout=60)
            assert proc.returncode == 0, stderr
    names = set()
    accepted = PER_BATCH - PER_BATCH // 10
    for view in tickets:
        batch, _, results = snapshot(app_container, view.ticket)
        assert (batch.status, batch.accepted, results, batch.attempts) == (
            "done",
            accepted,
            PER_BATCH,
            1,
        )
        names.add(batch.worker)
    assert len(names) == 2
    with app_container.uow() as uow:
        s = uow.session
        ids = s.scalars(select(Training.sender_record_id)).all()
        assert len(ids) == len(set(ids)) == BATCHES * accepted
        assert s.scalar(text("SELECT count(*) FROM procrastinate_jobs")) == 0


BATCHES = 4
PER_BATCH = 1500


def registered(c: Container) -> int:
    """procrastinate workers alive (registered, recent heartbeat)."""
    with c.uow() as uow:
        return uow.session.scalar(text("SELECT count(*) FROM procrastinate_workers")) or 0

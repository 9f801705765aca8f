"""Chunks checked while the chunk before is written (PostgreSQL, each unit of work on its own
connection; SQLite applies each chunk in one transaction), on a fresh database per backend:
the same results as one transaction per chunk — duplicates across neighbouring chunks, a
record id recorded through the API, a rectification, refusals — and an error while a chunk
is written leaves the chunks before it committed and nothing of it; the batch then resumes."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from sqlalchemy import func, select

from ila.audit.chain import verify_chain
from ila.batch import service
from ila.batch.config import BatchSettings
from ila.batch.models import Batch, BatchRecord
from ila.batch.result import write_result
from ila.batch.service import BATCH_SCOPES, Sender, find_batch, release, submit, work
from ila.batch.xmlfile import RESULT_XSD, schema
from ila.bootstrap import Container
from ila.db.migrate import upgrade
from ila.exchange.outbox import OutboxEvent
from ila.trainings.domain import Source
from ila.trainings.models import Training
from ila.trainings.service import record_training
from tests import builders

RES = "{urn:be:ila:batch:result:v1}"
CHUNK = 50


def _create(rid: str, en: str, worker: str, end: str = "2024-03-01", title: str = "T") -> str:
    return (
        f'<trainingCreate recordId="{rid}"><employer>{en}</employer><worker>{worker}</worker>'
        f"<title>{title}</title><startDate>2024-03-01</startDate><endDate>{end}</endDate>"
        "<duration>4</duration><durationUnit>hours</durationUnit>"
        "<nature>formal_internal</nature><status>followed</status></trainingCreate>\n"
    )


def _world(c: Container) -> tuple[str, list[str]]:
    upgrade(c.engine)
    en = builders.employer(c)
    people = [builders.person(c, n) for n in range(1, 8)]
    for niss in people:
        builders.employ(c, niss, en)
    return en, people


def _results(c: Container, ticket: str) -> list[dict[str, str]]:
    out = io.BytesIO()
    with c.uow() as uow:
        write_result(uow.session, find_batch(uow.session, ticket), out)
    doc = etree.fromstring(out.getvalue())
    schema(RESULT_XSD).assertValid(doc)
    return [dict(r.attrib) for r in doc.iter(RES + "record")]


def _mixed(en: str, people: list[str]) -> tuple[str, list[tuple[str, str]]]:
    """240 records over 5 chunks of 50, and the status each should get."""
    records: list[tuple[str, str]] = []  # (record id, expected status)
    body = ""
    for i in range(1, 241):
        worker = people[i % len(people)]
        if i == 60:  # chunk 2, and again in chunk 3 (still being written when it is checked)
            body += _create("dup", en, worker)
            records.append(("dup", "accepted"))
        elif i == 110:
            body += _create("dup", en, people[60 % len(people)])
            records.append(("dup", "unchanged"))
        elif i == 111:  # the same id with other content: refused
            body += _create("dup", en, people[60 % len(people)], title="Other")
            records.append(("dup", "rejected"))
        elif i == 160:  # recorded through the API with the same content
            body += _create("api-1", en, people[0])
            records.append(("api-1", "unchanged"))
        elif i == 210:  # a rectification of a record of chunk 1
            body += (
                f'<trainingRectify recordId="fix-5" target="c-5"><employer>{en}</employer>'
                "<title>T2</title><startDate>2024-03-01</startDate><endDate>2024-03-02"
                "</endDate><duration>4</duration><durationUnit>hours</durationUnit>"
                "<nature>formal_internal</nature><status>followed</status>"
                "<reason>typo</reason></trainingRectify>\n"
            )
            records.append(("fix-5", "accepted"))
        elif i % 17 == 0:  # ends before it starts: refused by the rules
            body += _create(f"c-{i}", en, worker, end="2024-02-01")
            records.append((f"c-{i}", "rejected"))
        else:
            body += _create(f"c-{i}", en, worker)
            records.append((f"c-{i}", "accepted"))
    return body, records


def test_checked_ahead_or_not_the_results_are_the_same(
    app_container: Container, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = app_container
    paths: list[str] = []
    for name in ("write_chunk", "commit_chunk"):
        method = getattr(service._Run, name)

        def spy(self: service._Run, *args: Any, _m: Any = method, _n: str = name) -> int:
            paths.append(_n)
            return int(_m(self, *args))

        monkeypatch.setattr(service._Run, name, spy)
    en, people = _world(c)
    api_data = builders.training_data(title="T")
    record_training(
        c.uow(),
        actor="api",
        source=Source.EMPLOYER,
        sender=en,
        sender_record_id="api-1",
        national_number=people[0],
        enterprise_number=en,
        data=api_data,
    )
    body, records = _mixed(en, people)
    settings = BatchSettings(spool_dir=tmp_path / "spool", chunk_size=CHUNK)
    sender = Sender(en, f"cli:{en}", BATCH_SCOPES, "cli")
    ticket = submit(
        c,
        settings,
        io.BytesIO(builders.batch_submission(en, "PIPE-1", body)),
        file_name="f.xml",
        sender=sender,
    ).ticket
    work(c, settings)
    if c.engine.dialect.name == "postgresql":
        # chunks 1-2 checked ahead; 3 holds an id of chunk 2 (being written when 3 is
        # checked), 4 an id recorded through the API, 5 a rectification: one transaction each
        assert paths == ["write_chunk"] * 2 + ["commit_chunk"] * 3
    else:
        assert paths == ["commit_chunk"] * 5
    rows = _results(c, ticket)
    assert [(r["recordId"], r["status"]) for r in rows] == records
    by_id = {(r["recordId"], r["status"]): r for r in rows}
    assert by_id["dup", "unchanged"]["trainingId"] == by_id["dup", "accepted"]["trainingId"]
    assert by_id["fix-5", "accepted"]["version"] == "2"
    accepted_creates = sum(s == "accepted" and not rid.startswith("fix") for rid, s in records)
    with c.uow() as uow:
        s = uow.session
        batch = find_batch(s, ticket)
        assert (batch.status, batch.done, batch.total) == ("done", 240, 240)
        assert (batch.accepted, batch.unchanged, batch.rejected) == (
            sum(st == "accepted" for _, st in records),
            sum(st == "unchanged" for _, st in records),
            sum(st == "rejected" for _, st in records),
        )
        trainings = s.scalar(select(func.count()).select_from(Training))
        assert trainings == accepted_creates + 1  # and the API's
        applied = s.scalar(
            select(func.count())
            .select_from(BatchRecord)
            .where(BatchRecord.sender == en, BatchRecord.digest.is_not(None))
        )
        assert applied == sum(st == "accepted" for _, st in records)
        created = s.scalar(
            select(func.count())
            .select_from(OutboxEvent)
            .where(OutboxEvent.type == "ila.account.training.recorded")
        )
        assert created == accepted_creates + 1
        assert verify_chain(s).intact


def test_an_error_while_a_chunk_is_written_keeps_the_chunks_before(
    app_container: Container, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = app_container
    en, people = _world(c)
    body = "".join(_create(f"e-{i}", en, people[i % len(people)]) for i in range(1, 201))
    settings = BatchSettings(spool_dir=tmp_path / "spool", chunk_size=CHUNK)
    sender = Sender(en, f"cli:{en}", BATCH_SCOPES, "cli")
    ticket = submit(
        c,
        settings,
        io.BytesIO(builders.batch_submission(en, "PIPE-2", body)),
        file_name="f.xml",
        sender=sender,
    ).ticket
    original = service._Run.finish_chunk
    calls: list[int] = []

    def failing(self: service._Run, *args: Any) -> int:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("the database went away")
        return original(self, *args)

    monkeypatch.setattr(service._Run, "finish_chunk", failing)
    with pytest.raises(RuntimeError, match="went away"):
        work(c, settings, worker="w1")

    def counts() -> tuple[Batch, int, int]:
        with c.uow() as uow:
            s = uow.session
            batch = find_batch(s, ticket)
            trainings = s.scalar(select(func.count()).select_from(Training)) or 0
            results = (
                s.scalar(
                    select(func.count())
                    .select_from(BatchRecord)
                    .where(BatchRecord.batch_id == batch.id)
                )
                or 0
            )
            return batch, trainings, results

    batch, trainings, results = counts()
    assert (batch.status, batch.done, batch.accepted) == ("processing", CHUNK, CHUNK)
    assert (trainings, results) == (CHUNK, CHUNK)
    monkeypatch.setattr(service._Run, "finish_chunk", original)
    release(c, batch.id, "w1")
    work(c, settings, worker="w2")
    batch, trainings, results = counts()
    assert (batch.status, batch.done, batch.accepted) == ("done", 200, 200)
    assert (trainings, results) == (200, 200)
    assert [r["recordId"] for r in _results(c, ticket)] == [f"e-{i}" for i in range(1, 201)]

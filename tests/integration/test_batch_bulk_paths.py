"""The fast paths of the batch channel, on SQLite and PostgreSQL: look-ups by long lists of
values, multi-row writes, persons and employments remembered across chunks (and an employment
registered mid-batch still seen), the read-ahead reader (order, errors, stopping), and the
result document written as text (escaping, validity against its XSD)."""

from __future__ import annotations

import gc
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import select

from ila.access.domain import Caller
from ila.batch.apply import Applier
from ila.batch.bulk import among, insert_rows
from ila.batch.models import Batch, BatchRecord
from ila.batch.result import write_result
from ila.batch.service import BATCH_SCOPES
from ila.batch.xmlfile import NAMESPACE, RESULT_XSD, Header, records, schema
from ila.bootstrap import Container
from ila.errors import InvalidBatchFile
from ila.exchange.outbox import OutboxEvent
from ila.identity.models import Person
from ila.trainings.models import Training
from tests import builders

LIMIT = 10 * 1024 * 1024
RES = "{urn:be:ila:batch:result:v1}"


def _batch(container: Container, sender: str, **values: object) -> int:
    now = datetime.now(UTC)
    with container.uow() as uow:
        batch = Batch(
            ticket=f"t{now.timestamp():.6f}".replace(".", "")[:32],
            sender=sender,
            reference="R-1",
            channel="cli",
            actor="cli:test",
            scopes=" ".join(sorted(BATCH_SCOPES)),
            status="processing",
            file_name="f.xml",
            file_bytes=1,
            file_sha256="0" * 64,
            received_at=now,
            attempts=1,
            **({"done": 0, "accepted": 0, "unchanged": 0, "rejected": 0} | values),
        )
        uow.session.add(batch)
        uow.session.flush()
        batch_id = batch.id
        uow.commit()
    return batch_id


def _file(tmp_path: Path, en: str, creates: list[tuple[str, str]], *, tail: bool = True) -> Path:
    body = "".join(
        f'<trainingCreate recordId="{rid}"><employer>{en}</employer><worker>{worker}</worker>'
        "<title>Course</title><startDate>2024-03-01</startDate><endDate>2024-03-01</endDate>"
        "<duration>7.5</duration><durationUnit>hours</durationUnit>"
        "<nature>formal_external</nature><status>followed</status></trainingCreate>\n"
        for rid, worker in creates
    )
    text = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<submission xmlns="{NAMESPACE}">'
        f"<header><sender>{en}</sender><reference>R-1</reference>"
        f"<created>2026-11-23T10:00:00Z</created><employers><employer>{en}</employer>"
        "</employers></header>\n<records>\n" + body
    )
    if tail:
        text += "</records></submission>\n"
    path = tmp_path / "f.xml"
    path.write_text(text, encoding="utf-8")
    return path


def test_among_looks_up_long_lists_in_as_few_statements_as_the_backend_allows(
    container: Container,
) -> None:
    known = [builders.person(container, n) for n in (1, 2, 3)]
    wanted = [*(f"x{n:010d}" for n in range(1500)), *known]
    with container.uow() as uow:
        conditions = list(among(uow.session, Person.national_number, wanted))
        postgresql = uow.session.get_bind().dialect.name == "postgresql"
        assert len(conditions) == (1 if postgresql else 2)
        found = {
            number
            for condition in conditions
            for number in uow.session.scalars(select(Person.national_number).where(condition))
        }
        assert found == set(known)
        assert list(among(uow.session, Person.national_number, [])) == []


def test_insert_rows_keeps_every_row_s_own_values(container: Container) -> None:
    """The bind processing of a column is remembered for a repeated value only, never
    carried over to a row with another value (JSON, UTC timestamps)."""
    shared = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    rows = [
        {
            "event_id": f"e-{n}",
            "type": "test",
            "source": "test",
            "subject": None,
            "occurred_at": shared if n % 2 else shared + timedelta(minutes=n),
            "data": {"n": n},
        }
        for n in range(6)
    ]
    with container.uow() as uow:
        insert_rows(uow.session, OutboxEvent.__table__, rows)  # type: ignore[arg-type]
        stored = uow.session.execute(
            select(OutboxEvent.event_id, OutboxEvent.occurred_at, OutboxEvent.data).where(
                OutboxEvent.type == "test"
            )
        ).all()
    assert sorted((e, at, d) for e, at, d in stored) == [
        (r["event_id"], r["occurred_at"], r["data"]) for r in rows
    ]


def test_persons_are_remembered_and_a_new_employment_is_still_seen(
    container: Container, tmp_path: Path
) -> None:
    en = builders.employer(container)
    a, b = builders.person(container, 1), builders.person(container, 2)
    builders.employ(container, a, en)
    path = _file(tmp_path, en, [("r-1", a), ("r-2", b), ("r-3", b), ("r-4", a)])
    first, second, third, fourth = records(path, LIMIT)
    caller = Caller(0, "batch:t", en, BATCH_SCOPES)
    header = Header(en, "R-1", datetime.now(UTC), frozenset({en}))
    applier = Applier(container, caller, header, _batch(container, en), "cli:test")

    def apply(record: object) -> tuple[str, str | None]:
        with container.uow() as uow:
            (outcome,) = applier.apply(uow.session, [record])  # type: ignore[list-item]
            uow.commit()
        return outcome.status, outcome.code

    assert apply(first) == ("accepted", None)
    assert apply(second) == ("rejected", "not_found")  # b: a person, not employed here
    builders.employ(container, b, en)  # registered while the batch runs
    assert apply(third) == ("accepted", None)
    assert apply(fourth) == ("accepted", None)
    with container.uow() as uow:
        ids = uow.session.scalars(select(Training.sender_record_id)).all()
    assert sorted(ids) == ["r-1", "r-3", "r-4"]


def test_records_come_in_order_then_the_error_and_restore_the_collector(tmp_path: Path) -> None:
    en = builders.fake_enterprise(1)
    worker = builders.fake_niss(1)
    creates = [(f"r-{n}", worker) for n in range(1, 1201)]
    path = _file(tmp_path, en, creates, tail=False)  # truncated: no closing tags
    seen: list[int] = []

    def read_all() -> None:
        seen.extend(record.seq for record in records(path, LIMIT))

    with pytest.raises(InvalidBatchFile) as failed:
        read_all()
    assert failed.value.code == "xml_not_well_formed"
    assert seen == list(range(1, 1201))  # every record read before the error, in order

    path = _file(tmp_path, en, creates)
    assert [r.seq for r in records(path, LIMIT, after=1198)] == [1199, 1200]
    thresholds = gc.get_threshold()
    items = records(path, LIMIT, after=10)
    assert [next(items).seq for _ in range(3)] == [11, 12, 13]
    assert gc.get_threshold()[0] >= 50_000  # fewer collections while a file is read
    items.close()  # type: ignore[attr-defined]
    assert gc.get_threshold() == thresholds


def test_result_document_escapes_what_it_writes(container: Container) -> None:
    en = builders.employer(container)
    batch_id = _batch(
        container,
        en,
        error_code=None,
        finished_at=datetime.now(UTC),
        total=2,
        rejected=1,
        accepted=1,
    )
    with container.uow() as uow:
        uow.session.get_one(Batch, batch_id).status = "done"
        insert_rows(
            uow.session,
            BatchRecord.__table__,  # type: ignore[arg-type]
            [
                {
                    "batch_id": batch_id,
                    "seq": 1,
                    "line": 3,
                    "record_id": 'a"<&>\tb',
                    "kind": "trainingCreate",
                    "status": "accepted",
                    "code": None,
                    "field": None,
                    "message": None,
                    "training_id": 7,
                    "version": 1,
                },
                {
                    "batch_id": batch_id,
                    "seq": 2,
                    "line": 4,
                    "record_id": None,
                    "kind": "unknown",
                    "status": "rejected",
                    "code": "schema_violation",
                    "field": "title",
                    "message": "bad <title> & \x01value\r\n",
                    "training_id": None,
                    "version": None,
                },
            ],
        )
        uow.commit()
    out = BytesIO()
    with container.uow() as uow:
        write_result(uow.session, uow.session.get_one(Batch, batch_id), out)
    doc = etree.fromstring(out.getvalue())
    schema(RESULT_XSD).assertValid(doc)
    first, second = doc.iter(RES + "record")
    assert first.attrib == {
        "seq": "1",
        "recordId": 'a"<&>\tb',
        "line": "3",
        "kind": "trainingCreate",
        "status": "accepted",
        "trainingId": "7",
        "version": "1",
    }
    error = second.find(RES + "error")
    assert error is not None
    assert (error.get("code"), error.get("field"), error.text) == (
        "schema_violation",
        "title",
        "bad <title> & value\r\n",
    )
    summary = doc.find(RES + "summary")
    assert summary is not None
    assert summary.attrib == {"total": "2", "accepted": "1", "unchanged": "0", "rejected": "1"}

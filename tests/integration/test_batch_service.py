"""The batch channel end to end inside the service layer, on SQLite and PostgreSQL: submit,
process through the same use cases as the API, per-record results, idempotency, result
document valid against its XSD."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from lxml import etree
from procrastinate.exceptions import AlreadyEnqueued
from procrastinate.jobs import Job
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import IntegrityError

from ila.access.domain import Scope
from ila.access.service import grant_mandate
from ila.audit.models import AuditEvent
from ila.batch.config import BatchSettings
from ila.batch.jobs import TASK, Requeue, defer, make_app
from ila.batch.result import write_result
from ila.batch.service import (
    BATCH_SCOPES,
    BatchBusy,
    BatchStatus,
    Sender,
    claim,
    find_batch,
    process,
    release,
    run_batch,
    status,
    submit,
    work,
)
from ila.batch.xmlfile import RESULT_XSD, schema
from ila.bootstrap import Container
from ila.db.base import utcnow
from ila.errors import BatchNotFinished, BatchReferenceReused, InvalidEnterpriseNumber
from ila.exchange.outbox import OutboxEvent
from ila.rights.models import RightVersion
from ila.trainings.models import Training, TrainingVersion
from ila.trainings.service import current_version
from tests import builders

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "xml" / "examples"
RES = "{urn:be:ila:batch:result:v1}"


@pytest.fixture
def settings(tmp_path: Path) -> BatchSettings:
    return BatchSettings(spool_dir=tmp_path / "spool", chunk_size=2)


@pytest.fixture
def world(container: Container) -> tuple[str, str, str]:
    en = builders.employer(container)
    a, b = builders.person(container, 1), builders.person(container, 2)
    builders.employ(container, a, en)
    builders.employ(container, b, en)
    return en, a, b


def own(en: str, channel: str = "cli") -> Sender:
    return Sender(en, f"cli:{en}", BATCH_SCOPES, channel)


def send(container: Container, settings: BatchSettings, data: bytes, sender: Sender) -> str:
    return submit(container, settings, io.BytesIO(data), file_name="f.xml", sender=sender).ticket


def result_doc(container: Container, ticket: str) -> etree._Element:
    out = io.BytesIO()
    with container.uow() as uow:
        write_result(uow.session, find_batch(uow.session, ticket), out)
    doc = etree.fromstring(out.getvalue())
    schema(RESULT_XSD).assertValid(doc)
    return doc


def records_of(doc: etree._Element) -> list[dict[str, str]]:
    out = []
    for r in doc.iter(RES + "record"):
        item = dict(r.attrib)
        error = r.find(RES + "error")
        if error is not None:
            item["code"] = error.get("code", "")
            item["field"] = error.get("field", "")
        out.append(item)
    return out


def test_example_file_applies_every_kind(
    container: Container, settings: BatchSettings, world: tuple[str, str, str]
) -> None:
    en, _a, _b = world
    data = (EXAMPLES / "submission-trainings.xml").read_bytes()
    queued = submit(container, settings, io.BytesIO(data), file_name="x.xml", sender=own(en))
    assert queued.status == BatchStatus.RECEIVED
    assert queued.reference == "2026-11-PAYROLL-0001"
    assert work(container, settings) == [queued.ticket]
    done = status(container, queued.ticket)
    assert (done.status, done.total, done.done, done.progress) == ("done", 6, 6, 1.0)
    assert (done.accepted, done.unchanged, done.rejected) == (6, 0, 0)
    assert not list(settings.spool_dir.iterdir())  # the file is gone once done
    rows = records_of(result_doc(container, queued.ticket))
    assert [r["status"] for r in rows] == ["accepted"] * 6
    assert [r["kind"] for r in rows][3:] == ["trainingRectify", "trainingCancel", "rightSet"]
    with container.uow() as uow:
        s = uow.session
        t2 = s.scalar(select(Training).where(Training.sender_record_id == "T-0002"))
        assert t2 is not None
        v = current_version(s, t2.id)
        assert (v.version, v.duration_minutes, v.status) == (2, 480, "followed")
        t3 = s.scalar(select(Training).where(Training.sender_record_id == "T-0003"))
        assert t3 is not None
        assert current_version(s, t3.id).cancelled
        right = s.scalar(
            select(RightVersion).where(
                RightVersion.superseded_at.is_(None), RightVersion.year == 2024
            )
        )
        assert right is not None
        assert str(right.set_days) in {"6.0000", "6"}
        assert right.recorded_by == f"cli:{en}"
        # one audit row per person changed, per chunk (of 2 records here) and action
        audited = s.execute(
            select(AuditEvent.resource, AuditEvent.action).where(
                AuditEvent.request_id == f"batch:{queued.ticket}"
            )
        ).all()
        assert sorted(audited) == sorted(
            [
                ("training", "create"),
                ("training", "create"),
                ("training", "create"),
                ("training", "rectify"),
                ("training", "cancel"),
                ("right", "set"),
            ]
        )
        # the same thin outbox events as the API's, for the regions (bulk creates included)
        events = s.scalars(select(OutboxEvent.type).order_by(OutboxEvent.id)).all()
        assert sorted(events) == sorted(
            ["ila.account.training.recorded"] * 3
            + ["ila.account.training.rectified", "ila.account.training.cancelled"]
            + ["ila.account.right.set"]
        )


def test_rejections_each_with_code_field_and_line(
    container: Container, settings: BatchSettings, world: tuple[str, str, str]
) -> None:
    en, _, _ = world
    data = (EXAMPLES / "submission-with-errors.xml").read_bytes()
    ticket = send(container, settings, data, own(en))
    work(container, settings)
    rows = records_of(result_doc(container, ticket))
    assert [(r["status"], r["code"], r["field"], r["line"]) for r in rows] == [
        ("rejected", "invalid_period", "end_date", "14"),
        ("rejected", "employer_not_in_header", "employer", "26"),
        ("rejected", "not_found", "target", "38"),
    ]
    with container.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Training)) == 0


def test_resubmission_and_record_ids_are_idempotent(
    container: Container, settings: BatchSettings, world: tuple[str, str, str]
) -> None:
    en, _, _ = world
    data = (EXAMPLES / "submission-trainings.xml").read_bytes()
    first = send(container, settings, data, own(en))
    again = submit(container, settings, io.BytesIO(data), file_name="x.xml", sender=own(en))
    assert (again.ticket, again.duplicate) == (first, True)
    with pytest.raises(BatchReferenceReused):
        send(container, settings, data + b"\n<!-- changed -->", own(en))
    work(container, settings)
    # the same records under a new batch reference: nothing is applied twice
    renamed = data.replace(b"2026-11-PAYROLL-0001", b"2026-11-PAYROLL-0009")
    second = send(container, settings, renamed, own(en))
    work(container, settings)
    view = status(container, second)
    assert (view.accepted, view.unchanged, view.rejected) == (0, 6, 0)
    # a record id reused for other content is refused
    changed = renamed.replace(b"2026-11-PAYROLL-0009", b"2026-11-PAYROLL-0010").replace(
        b"First aid at work", b"First aid, level 2"
    )
    third = send(container, settings, changed, own(en))
    work(container, settings)
    rows = records_of(result_doc(container, third))
    assert rows[0]["code"] == "duplicate_record"
    assert [r["status"] for r in rows[1:]] == ["unchanged"] * 5
    with container.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Training)) == 3
        assert uow.session.scalar(select(func.count()).select_from(TrainingVersion)) == 5


def test_authorisation_per_record(
    container: Container, settings: BatchSettings, world: tuple[str, str, str]
) -> None:
    en, a, _ = world
    other = builders.employer(container, 2)
    builders.employ(container, a, other)
    bureau = builders.fake_enterprise(7)
    trainer = builders.fake_enterprise(8)
    grant_mandate(
        container.uow(),
        employer=en,
        provider=bureau,
        kind="social_secretariat",
        valid_from=builders.date(2020, 1, 1),
        valid_to=None,
        actor="test",
    )
    grant_mandate(
        container.uow(),
        employer=en,
        provider=trainer,
        kind="training_provider",
        valid_from=builders.date(2020, 1, 1),
        valid_to=None,
        actor="test",
    )

    def create(rid: str, employer: str, status: str = "followed") -> str:
        return (
            f'<trainingCreate recordId="{rid}"><employer>{employer}</employer>'
            f"<worker>{a}</worker><title>Safety</title><startDate>2024-03-01</startDate>"
            "<endDate>2024-03-01</endDate><duration>4</duration><durationUnit>hours</durationUnit>"
            f"<nature>formal_internal</nature><status>{status}</status></trainingCreate>"
        )

    def file(sender: str, ref: str, body: str) -> bytes:
        return (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<submission xmlns="urn:be:ila:batch:submission:v1">'
            f"<header><sender>{sender}</sender><reference>{ref}</reference>"
            "<created>2026-11-23T10:00:00Z</created><employers>"
            f"<employer>{en}</employer><employer>{other}</employer></employers></header>"
            f"<records>{body}</records></submission>"
        ).encode()

    ticket = send(
        container, settings, file(bureau, "B1", create("1", en) + create("2", other)), own(bureau)
    )
    trainer_ticket = send(
        container,
        settings,
        file(trainer, "T1", create("3", en, "not_followed") + create("4", en)),
        own(trainer),
    )
    work(container, settings)
    rows = records_of(result_doc(container, ticket))
    assert [(r["status"], r.get("code")) for r in rows] == [
        ("accepted", None),
        ("rejected", "not_found"),  # no mandate from the other employer
    ]
    rows = records_of(result_doc(container, trainer_ticket))
    assert [(r["status"], r.get("code")) for r in rows] == [
        ("rejected", "status_not_allowed"),
        ("accepted", None),
    ]
    with container.uow() as uow:
        t = uow.session.scalar(select(Training).where(Training.sender_record_id == "4"))
        assert t is not None
        assert t.source == "provider"
    # without the scope of rights, a rightSet is refused
    no_rights = Sender(en, "cli", frozenset({Scope.EMPLOYER_TRAININGS_WRITE}), "cli")
    body = (
        f'<rightSet recordId="r1"><employer>{en}</employer><worker>{a}</worker>'
        "<year>2024</year><days>3</days><reason>policy</reason></rightSet>"
    )
    right_ticket = send(container, settings, file(en, "R1", body), no_rights)
    work(container, settings)
    assert records_of(result_doc(container, right_ticket))[0]["code"] == "not_found"


def test_failed_files_and_unfinished_results(
    container: Container, settings: BatchSettings, world: tuple[str, str, str]
) -> None:
    en, _, _ = world
    with pytest.raises(InvalidEnterpriseNumber):
        send(container, settings, b"<x/>", own("123"))
    not_xml = send(container, settings, b"this is not XML", own(en))
    assert status(container, not_xml).status == "failed"
    wrong_sender = (EXAMPLES / "submission-trainings.xml").read_bytes()
    mismatch = send(container, settings, wrong_sender, own(builders.fake_enterprise(5)))
    view = status(container, mismatch)
    assert view.error is not None
    assert view.error["code"] == "sender_mismatch"
    doc = result_doc(container, mismatch)
    assert doc.find(RES + "fileError").get("code") == "sender_mismatch"
    # truncated after the header: received, then failed in validation with nothing applied
    full = (EXAMPLES / "submission-trainings.xml").read_bytes()
    truncated = full[: full.index(b"<trainingRectify")]
    cut = send(container, settings, truncated, own(en))
    with container.uow() as uow, pytest.raises(BatchNotFinished):
        write_result(uow.session, find_batch(uow.session, cut), io.BytesIO())
    work(container, settings)
    view = status(container, cut)
    assert (view.status, view.accepted, view.error and view.error["code"]) == (
        "failed",
        0,
        "xml_not_well_formed",
    )
    with container.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Training)) == 0
    small = BatchSettings(spool_dir=settings.spool_dir, max_file_bytes=1024)
    big = send(container, small, full, own(en))
    assert status(container, big).error == {
        "code": "file_too_large",
        "message": "the file is larger than the limit of 1024 bytes",
    }


def test_same_rules_as_the_other_channels(
    container: Container, settings: BatchSettings, world: tuple[str, str, str]
) -> None:

    from ila.trainings.domain import Source, TrainingData
    from ila.trainings.service import record_training

    en, a, _ = world
    stranger = builders.person(container, 9)  # employed nowhere
    api_data = builders.training_data()
    # recorded through the API under record ids the file uses again
    for rid, title in (("api-1", "Safety"), ("api-2", "Other title")):
        record_training(
            container.uow(),
            actor="api",
            source=Source.EMPLOYER,
            sender=en,
            sender_record_id=rid,
            national_number=a,
            enterprise_number=en,
            data=api_data
            if title == "Safety"
            else TrainingData(**{**_fields(api_data), "title": title}),
        )

    def create(rid: str, worker: str) -> str:
        return (
            f'<trainingCreate recordId="{rid}"><employer>{en}</employer>'
            f"<worker>{worker}</worker><title>Safety</title><startDate>2024-03-01</startDate>"
            "<endDate>2024-03-01</endDate><duration>4</duration><durationUnit>hours</durationUnit>"
            "<nature>formal_internal</nature><status>followed</status></trainingCreate>"
        )

    body = (
        create("api-1", a)  # same content as through the API: unchanged
        + create("api-2", a)  # other content: duplicate
        + create("new-1", stranger)  # not employed by this employer
        + create("new-1", a).replace("<title>Safety", "<title>Safety bis")
        + create("new-2", a)
        + create("new-2", a)  # the same record twice in one file: applied once
        + f'<oddity recordId="{"x" * 150}"/>'
        + f'<rightSet recordId="r-1"><employer>{en}</employer><worker>{stranger}</worker>'
        "<year>2024</year><days>3</days><reason>policy</reason></rightSet>"
        + f'<trainingRectify recordId="fix-1" target="new-2"><employer>{en}</employer>'
        "<title>Safety</title><startDate>2024-03-01</startDate><endDate>2024-03-01</endDate>"
        "<duration>5</duration><durationUnit>hours</durationUnit><nature>formal_internal</nature>"
        "<status>followed</status><reason>longer</reason></trainingRectify>"
    )
    data = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<submission xmlns="urn:be:ila:batch:submission:v1">'
        f"<header><sender>{en}</sender><reference>RULES</reference>"
        f"<created>2026-11-23T10:00:00Z</created><employers><employer>{en}</employer>"
        f"</employers></header><records>{body}</records></submission>"
    ).encode()
    ticket = send(container, settings, data, own(en))
    work(container, settings)
    rows = records_of(result_doc(container, ticket))
    assert [(r["status"], r.get("code")) for r in rows] == [
        ("unchanged", None),
        ("rejected", "duplicate_record"),
        ("rejected", "not_found"),
        ("accepted", None),
        ("accepted", None),
        ("unchanged", None),
        ("rejected", "unknown_record"),
        ("rejected", "not_found"),
        ("accepted", None),
    ]
    assert rows[2]["field"] == "worker"
    assert rows[7]["field"] == "worker"
    assert rows[8]["version"] == "2"


def _fields(data: object) -> dict[str, object]:
    from dataclasses import fields

    return {f.name: getattr(data, f.name) for f in fields(data)}  # type: ignore[arg-type]


# --- the queue (ADR 0017) --------------------------------------------------------------------


def queued_jobs(container: Container) -> list[tuple[str, str, dict[str, object], str]]:
    """procrastinate's jobs (PostgreSQL): (task, status, args, queueing lock)."""
    with container.uow() as uow:
        rows = uow.session.execute(
            text(
                "SELECT task_name, status, args, queueing_lock FROM procrastinate_jobs ORDER BY id"
            )
        ).all()
    return [(r[0], str(r[1]), r[2], r[3]) for r in rows]


def test_submit_queues_one_job_in_its_transaction(
    container: Container, settings: BatchSettings, world: tuple[str, str, str]
) -> None:
    """On PostgreSQL a batch and its procrastinate job are written in one transaction; a file
    refused at once, or sent again, queues nothing; on SQLite there is no queue at all."""
    en, _, _ = world
    data = (EXAMPLES / "submission-trainings.xml").read_bytes()
    if container.settings.is_sqlite:
        send(container, settings, data, own(en))
        with container.uow() as uow:
            tables = inspect(uow.session.connection()).get_table_names()
        assert not [t for t in tables if t.startswith("procrastinate")]
        return
    ticket = send(container, settings, data, own(en))
    assert send(container, settings, data, own(en)) == ticket  # the earlier batch
    send(container, settings, b"not xml", own(en))  # failed at once
    with container.uow() as uow:
        batch_id = find_batch(uow.session, ticket).id
    assert queued_jobs(container) == [
        ("ila.batch.process", "todo", {"batch_id": batch_id}, f"ila.batch:{batch_id}")
    ]
    with container.uow() as uow:  # deferred inside a transaction rolled back: no job
        defer(uow.session, batch_id + 1000)
        uow.rollback()
    assert len(queued_jobs(container)) == 1
    with container.uow() as uow, pytest.raises(AlreadyEnqueued):  # the queueing lock
        defer(uow.session, batch_id)


def test_the_job_claims_its_batch_once(
    container: Container, settings: BatchSettings, world: tuple[str, str, str]
) -> None:
    """``run_batch`` (the job): a batch held by a live worker is busy (retried when its lease
    runs out); a finished batch is left as it is."""
    en, _, _ = world
    ticket = send(
        container, settings, (EXAMPLES / "submission-trainings.xml").read_bytes(), own(en)
    )
    with container.uow() as uow:
        batch_id = find_batch(uow.session, ticket).id
    assert claim(container, settings, "alive", batch_id) == batch_id
    with pytest.raises(BatchBusy) as busy:
        run_batch(container, settings, batch_id, "other")
    assert 0.5 <= busy.value.wait <= settings.lease_seconds + 0.5
    assert process(container, settings, batch_id, "alive") == BatchStatus.DONE
    assert run_batch(container, settings, batch_id, "other") == BatchStatus.DONE
    with container.uow() as uow:
        batch = find_batch(uow.session, ticket)
        assert (batch.worker, batch.attempts, batch.accepted) == ("alive", 1, 6)


def test_a_failed_job_gives_its_batch_back(
    container: Container, settings: BatchSettings, world: tuple[str, str, str]
) -> None:
    """A job failing on an unexpected error ends its lease at once (``release``), so the job
    retried takes the batch without waiting; another worker's lease is not touched."""
    en, _, _ = world
    ticket = send(
        container, settings, (EXAMPLES / "submission-trainings.xml").read_bytes(), own(en)
    )
    with container.uow() as uow:
        batch_id = find_batch(uow.session, ticket).id
    assert claim(container, settings, "first", batch_id) == batch_id
    release(container, batch_id, "someone else")
    assert claim(container, settings, "second", batch_id) is None
    release(container, batch_id, "first")
    assert claim(container, settings, "second", batch_id) == batch_id


def test_retry_decisions() -> None:
    """The job's retry strategy: a busy batch waits for the lease, a stopping worker gives the
    job back now, database errors are retried five times with a growing wait, others fail."""
    job = Job(id=1, queue="ila.batch", lock=None, queueing_lock=None, task_name=TASK, attempts=0)
    retry = make_app().tasks[TASK].retry_strategy
    assert retry is not None

    def wait(exc: BaseException, attempts: int = 0) -> float | None:
        decision = retry.get_retry_decision(exception=exc, job=job.evolve(attempts=attempts))
        if decision is None:
            return None
        assert decision.retry_at is not None
        return round((decision.retry_at - utcnow()).total_seconds())

    assert wait(BatchBusy(1, 30)) == 30
    assert wait(Requeue(1)) == 0
    conflict = IntegrityError("INSERT", {}, Exception("duplicate key"))
    assert [wait(conflict, n) for n in range(6)] == [2, 4, 8, 16, 32, None]
    assert wait(ValueError("a bug")) is None

"""The lean paths of new trainings in the batch channel, on SQLite and PostgreSQL: rows written
as preformatted ``COPY`` text (PostgreSQL) or bound tuples (SQLite) hold exactly what the
one-record use case stores, whatever characters the file's texts and record ids contain
(tab, backslash, line breaks, markup characters); outbox events as ``record_training`` emits
them; record ids looked up as one text; the same content sent again is unchanged."""

from __future__ import annotations

import io
import re
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import select

from ila.audit.chain import verify_chain
from ila.audit.models import AuditEvent
from ila.batch import result
from ila.batch.apply import Outcome, event_ids, write_results
from ila.batch.bulk import copy_field, copy_text
from ila.batch.config import BatchSettings
from ila.batch.models import Batch, BatchRecord
from ila.batch.result import write_result
from ila.batch.service import BATCH_SCOPES, Sender, find_batch, submit, work
from ila.batch.xmlfile import RESULT_XSD, schema
from ila.bootstrap import Container
from ila.exchange.outbox import OutboxEvent
from ila.trainings.domain import DurationUnit, Nature, Source, Status, TrainingData
from ila.trainings.models import Training, TrainingVersion
from ila.trainings.service import current_version, record_training, version_data
from tests import builders
from tests.unit.test_batch_xml_lean import Stingy

RES = "{urn:be:ila:batch:result:v1}"
# what the file says (XML escapes and character references) and what it means
TITLE_XML = "Tab&#9;back\\slash &amp; &lt;markup&gt;&#10;line&#13;end"
TITLE = "Tab\tback\\slash & <markup>\nline\rend"
RID_XML = "odd&#9;id\\N"
RID = "odd\tid\\N"


def _create(rid: str, en: str, worker: str, title: str, **extra: str) -> str:
    optional = "".join(f"<{k}>{v}</{k}>" for k, v in extra.items())
    return (
        f'<trainingCreate recordId="{rid}"><employer>{en}</employer><worker>{worker}</worker>'
        f"<title>{title}</title><provider>Prov&#9;ider\\</provider>"
        "<startDate>2024-03-01</startDate><endDate>2024-03-02</endDate>"
        "<duration>1.25</duration><durationUnit>days</durationUnit>"
        f"<nature>formal_external</nature><status>followed</status>{optional}</trainingCreate>"
    )


def _run(container: Container, tmp_path: Path, en: str, reference: str, body: str) -> str:
    settings = BatchSettings(spool_dir=tmp_path / "spool", chunk_size=3)
    sender = Sender(en, f"cli:{en}", BATCH_SCOPES, "cli")
    ticket = submit(
        container,
        settings,
        io.BytesIO(builders.batch_submission(en, reference, body)),
        file_name="f.xml",
        sender=sender,
    ).ticket
    work(container, settings)
    return ticket


def _results(container: Container, ticket: str) -> list[dict[str, str]]:
    out = io.BytesIO()
    with container.uow() as uow:
        write_result(uow.session, find_batch(uow.session, ticket), out)
    doc = etree.fromstring(out.getvalue())
    schema(RESULT_XSD).assertValid(doc)
    return [dict(r.attrib) for r in doc.iter(RES + "record")]


def test_stored_rows_hold_exactly_what_the_file_says(container: Container, tmp_path: Path) -> None:
    en = builders.employer(container)
    a, b = builders.person(container, 1), builders.person(container, 2)
    builders.employ(container, a, en)
    builders.employ(container, b, en)
    body = (
        _create(RID_XML, en, a, TITLE_XML)
        + _create("plain-1", en, b, "Same course")
        + _create(
            "plain-2",
            en,
            a,
            "Same course",
            countsTowardRight="false",
            notCountingReason="vov",
            certificate="C&#9;1",
            certificateValidUntil="2025-01-01",
            financing="fund\\x",
        )
        + _create("refused", en, b, "Later").replace("2024-03-02", "2024-02-01")
    )
    ticket = _run(container, tmp_path, en, "LEAN-1", body)
    rows = _results(container, ticket)
    assert [(r["recordId"], r["status"]) for r in rows] == [
        (RID, "accepted"),
        ("plain-1", "accepted"),
        ("plain-2", "accepted"),
        ("refused", "rejected"),
    ]
    with container.uow() as uow:
        s = uow.session
        odd = s.scalars(select(Training).where(Training.sender_record_id == RID)).one()
        assert (odd.sender, odd.source, odd.employer_id is not None) == (en, "employer", True)
        stored = version_data(current_version(s, odd.id))
        assert stored == TrainingData(
            title=TITLE,
            provider="Prov\tider\\",
            start_date=date(2024, 3, 1),
            end_date=date(2024, 3, 2),
            duration_value=Decimal("1.25"),
            duration_unit=DurationUnit.DAYS,
            nature=Nature.FORMAL_EXTERNAL,
            status=Status.FOLLOWED,
        )
        second = s.scalars(select(Training).where(Training.sender_record_id == "plain-2")).one()
        other = version_data(current_version(s, second.id))
        assert (other.counts_toward_right, other.not_counting_reason) == (False, "vov")
        assert (other.certificate, other.certificate_valid_until, other.financing) == (
            "C\t1",
            date(2025, 1, 1),
            "fund\\x",
        )
        version = current_version(s, odd.id)
        assert (version.version, version.operation, version.cancelled, version.reason) == (
            1,
            "create",
            False,
            None,
        )
        assert version.recorded_by == f"cli:{en}"
        assert version.superseded_at is None
        # the same minutes as the one-record use case would store
        assert version.duration_minutes == current_version(s, second.id).duration_minutes
        # the result of the accepted record is also its applied record id
        result = s.scalars(select(BatchRecord).where(BatchRecord.record_id == RID)).one()
        assert (result.training_id, result.version, result.kind) == (odd.id, 1, "trainingCreate")
        assert (result.sender, len(str(result.digest))) == (en, 32)
        events = s.scalars(select(OutboxEvent).order_by(OutboxEvent.id)).all()
        assert len(events) == 3
        for event in events:
            assert re.fullmatch(r"evt_[0-9a-f]{32}", event.event_id)
            assert uuid.UUID(event.event_id[4:]).version == 4
            assert event.type == "ila.account.training.recorded"
        by_training = {e.data["training_id"]: e for e in events}
        assert by_training[odd.id].data == {"training_id": odd.id, "version": 1}
        assert by_training[odd.id].subject == a
        # audit: one entry per person changed in a chunk (the first chunk of 3 changes a, b
        # and a again; the second none), appended at the end of its transaction, chain intact
        audited = s.execute(
            select(AuditEvent.subject_national_number, AuditEvent.action)
            .where(AuditEvent.request_id == f"batch:{ticket}")
            .order_by(AuditEvent.seq)
        ).all()
        assert [tuple(r) for r in audited] == [(a, "create"), (b, "create")]
        assert verify_chain(s).intact
    # the same records again, in another batch: unchanged; other content: refused
    again = _run(container, tmp_path, en, "LEAN-2", body.replace("Later", "Later!"))
    assert [(r["recordId"], r["status"]) for r in _results(container, again)] == [
        (RID, "unchanged"),
        ("plain-1", "unchanged"),
        ("plain-2", "unchanged"),
        ("refused", "rejected"),
    ]
    changed = _run(container, tmp_path, en, "LEAN-3", _create(RID_XML, en, a, "Other"))
    (row,) = _results(container, changed)
    assert (row["recordId"], row["status"]) == (RID, "rejected")


def test_the_bulk_path_stores_what_record_training_stores(
    container: Container, tmp_path: Path
) -> None:
    en = builders.employer(container)
    a = builders.person(container, 1)
    builders.employ(container, a, en)
    ticket = _run(container, tmp_path, en, "LEAN-4", _create("bulk", en, a, TITLE_XML))
    assert _results(container, ticket)[0]["status"] == "accepted"
    with container.uow() as uow:
        bulk = uow.session.scalars(
            select(Training).where(Training.sender_record_id == "bulk")
        ).one()
        data = version_data(current_version(uow.session, bulk.id))
    one = record_training(
        container.uow(),
        actor="api",
        source=Source.EMPLOYER,
        sender=en,
        sender_record_id="one",
        national_number=a,
        enterprise_number=en,
        data=data,
    )
    columns = [c.name for c in TrainingVersion.__table__.columns]
    skipped = {"id", "training_id", "recorded_at", "recorded_by"}
    with container.uow() as uow:
        first = current_version(uow.session, bulk.id)
        second = current_version(uow.session, one.training_id)
        assert {c: getattr(first, c) for c in columns if c not in skipped} == {
            c: getattr(second, c) for c in columns if c not in skipped
        }


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "\\N"),
        (True, "t"),
        (False, "f"),
        ("a\\b\tc\nd\re", "a\\\\b\\tc\\nd\\re"),
        ("plain", "plain"),
        (date(2024, 3, 1), "2024-03-01"),
        (Decimal("7.50"), "7.50"),
        (12, "12"),
    ],
)
def test_copy_fields(value: object, text: str) -> None:
    assert copy_field(value) == text
    if isinstance(value, str):
        assert copy_text(value) == text


def test_event_ids_are_random_uuid4() -> None:
    ids = list(event_ids(1000))
    assert len(set(ids)) == 1000
    for event_id in ids:
        parsed = uuid.UUID(event_id.removeprefix("evt_"))
        assert (parsed.version, parsed.variant) == (4, uuid.RFC_4122)
        assert event_id == f"evt_{parsed.hex}"


def test_result_slices_follow_seq_across_gaps_and_errors(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    en = builders.employer(container)
    now = datetime.now(UTC)
    seqs = [1, 2, 3, 4, 9, 10, 11, 30]  # no batch has gaps; the reader copes with them
    with container.uow() as uow:
        batch = Batch(
            ticket="slices",
            sender=en,
            reference="R-S",
            channel="cli",
            actor="cli:test",
            scopes="x",
            status="done",
            file_name="f.xml",
            file_bytes=1,
            file_sha256="0" * 64,
            received_at=now,
            finished_at=now,
            attempts=1,
            total=len(seqs),
            done=30,
            accepted=len(seqs),
            unchanged=0,
            rejected=0,
        )
        uow.session.add(batch)
        uow.session.flush()
        outcomes = [
            Outcome(seq, seq + 2, f"r-{seq}", "trainingCreate", "accepted", seq, 1) for seq in seqs
        ]
        write_results(uow.session, batch.id, en, outcomes)
        uow.commit()
    monkeypatch.setattr(result, "SLICE", 3)
    assert [int(r["seq"]) for r in _results(container, "slices")] == seqs
    whole, stingy = io.BytesIO(), Stingy(5)  # a raw stream taking part of each write
    with container.uow() as uow:
        write_result(uow.session, find_batch(uow.session, "slices"), whole)
        write_result(uow.session, find_batch(uow.session, "slices"), stingy)
    assert bytes(stingy.got) == whole.getvalue()

    def broken(*_: object) -> object:
        raise RuntimeError("read failed")
        yield  # a generator

    monkeypatch.setattr(result, "_slices", broken)
    with container.uow() as uow, pytest.raises(RuntimeError, match="read failed"):
        write_result(uow.session, find_batch(uow.session, "slices"), io.BytesIO())

"""The hash-chained audit trail on SQLite and PostgreSQL: appends stay linear and numbered,
and editing, inserting or deleting one row directly in the database (SQL) is detected and the
first bad entry named."""

from __future__ import annotations

import base64
import hashlib
import itertools
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, func, select, text

from ila.access.domain import Acting, Caller
from ila.audit.chain import GENESIS, ChainReport, entry_hash, verify_chain
from ila.audit.checkpoints import create_checkpoint, key_id, verify_trail
from ila.audit.models import AuditChainHead, AuditEvent
from ila.audit.service import consultations_of, record_event, record_personal_data_access
from ila.bootstrap import Container
from tests.builders import fake_enterprise, fake_niss

KEY = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"test checkpoint key").digest())


def _fill(container: Container, n: int) -> list[int]:
    """n entries through the application: API accesses and platform events."""
    seqs: list[int] = []
    with container.uow() as uow:
        caller = Caller(1, "client-a", fake_enterprise(1), frozenset())
        acting = Acting(1, fake_enterprise(1), None, frozenset())
        record_personal_data_access(
            uow.session,
            caller=caller,
            acting=acting,
            action="workers.list",
            subjects={"national_numbers": [fake_niss(1), fake_niss(2)], "year": 2024},
            request_id="req-1",
        )
        seqs.extend(
            record_event(
                uow.session,
                actor="test",
                action="test",
                resource="thing",
                request_id=f"req-e{i}",
                details={"i": i, "nested": {"b": [1, 2], "a": "é"}},
            )
            for i in range(n - 2)
        )
        uow.commit()
    return seqs


def _verify(container: Container) -> ChainReport:
    with container.uow() as uow:
        return verify_trail(uow.session, [KEY.public_key()])


def _first(report: ChainReport) -> tuple[int, str]:
    problem = report.first_problem
    assert problem is not None, "tampering not detected"
    return problem.seq, problem.kind


def test_appends_are_numbered_linked_and_verify(container: Container) -> None:
    seqs = _fill(container, 6)
    assert seqs == [3, 4, 5, 6]
    with container.uow() as uow:
        rows = list(uow.session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))
        head = uow.session.get(AuditChainHead, 1)
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5, 6]
    assert rows[0].prev_hash == GENESIS
    for before, after in itertools.pairwise(rows):
        assert after.prev_hash == before.entry_hash
    assert head is not None
    assert (head.seq, head.entry_hash) == (6, rows[-1].entry_hash)
    report = _verify(container)
    assert report.intact, report.problems
    assert (report.entries, report.last_seq) == (6, 6)
    # the person still sees who consulted their data
    with container.uow() as uow:
        page = consultations_of(uow.session, fake_niss(2))
    assert [c.request_id for c in page.items] == ["req-1"]


def test_an_empty_chain_verifies(container: Container) -> None:
    report = _verify(container)
    assert report.intact
    assert report.entries == 0


@pytest.mark.parametrize(
    ("column", "value"),
    [("actor", "'someone-else'"), ("subject_national_number", "NULL"), ("seq", "seq")],
)
def test_an_edited_row_is_named(
    container: Container, connection: Connection, column: str, value: str
) -> None:
    _fill(container, 6)
    connection.execute(text(f"UPDATE audit_events SET {column} = {value} WHERE seq = 2"))  # noqa: S608
    report = _verify(container)
    if column == "seq":  # a no-op edit changes nothing
        assert report.intact
        return
    assert _first(report) == (2, "altered")
    assert report.first_problem is not None
    assert report.first_problem.entry_id is not None
    assert "seq 2" in report.first_problem.describe()


def test_an_edited_timestamp_or_detail_is_named(
    container: Container, connection: Connection
) -> None:
    _fill(container, 6)
    connection.execute(
        text("UPDATE audit_events SET occurred_at = :t WHERE seq = 5"),
        {"t": datetime(2020, 1, 1, tzinfo=UTC)},
    )
    assert _first(_verify(container)) == (5, "altered")


def test_a_deleted_row_is_named(container: Container, connection: Connection) -> None:
    _fill(container, 6)
    connection.execute(text("DELETE FROM audit_events WHERE seq = 4"))
    report = _verify(container)
    assert _first(report) == (4, "deleted")
    assert "entries 4 are missing" in report.problems[0].message


def test_deleting_the_first_or_last_rows_is_named(
    container: Container, connection: Connection
) -> None:
    _fill(container, 6)
    connection.execute(text("DELETE FROM audit_events WHERE seq >= 5"))
    assert _first(_verify(container)) == (5, "deleted")
    connection.execute(text("DELETE FROM audit_events WHERE seq = 1"))
    assert _first(_verify(container)) == (1, "deleted")


def _forge(connection: Connection, seq: int, prev: str, *, good_hash: bool) -> None:
    fields = {
        "seq": seq,
        "occurred_at": datetime(2026, 11, 23, 12, tzinfo=UTC),
        "actor": "intruder",
        "organisation": "0999000123",
        "on_behalf_of": None,
        "action": "read",
        "resource": "account",
        "subject_national_number": None,
        "request_id": "forged",
        "legal_context": None,
        "details": {},
    }
    digest = entry_hash(prev, fields) if good_hash else "f" * 64
    connection.execute(
        text(
            "INSERT INTO audit_events (seq, occurred_at, actor, organisation, action, resource, "
            "request_id, details, prev_hash, entry_hash) VALUES (:seq, :at, 'intruder', "
            "'0999000123', 'read', 'account', 'forged', '{}', :prev, :hash)"
        ),
        {
            "seq": seq,
            "at": "2026-11-23 12:00:00"
            if connection.dialect.name == "sqlite"
            else fields["occurred_at"],
            "prev": prev,
            "hash": digest,
        },
    )


@pytest.mark.parametrize("good_hash", [True, False])
def test_an_inserted_row_is_named(
    container: Container, connection: Connection, good_hash: bool
) -> None:
    _fill(container, 6)
    last = connection.execute(text("SELECT entry_hash FROM audit_events WHERE seq = 6")).scalar()
    assert isinstance(last, str)
    # a row correctly hashed and linked at the end of the chain: only the head (and later
    # checkpoints) can tell it was not appended by the application
    _forge(connection, 7, last, good_hash=good_hash)
    report = _verify(container)
    assert _first(report) == (7, "inserted")
    assert report.entries == 7


def test_an_inserted_row_with_a_made_up_number_is_named(
    container: Container, connection: Connection
) -> None:
    _fill(container, 4)
    _forge(connection, 10, "0" * 64, good_hash=False)
    assert _first(_verify(container)) == (5, "deleted")  # the gap 5–9 comes first
    connection.execute(text("UPDATE audit_chain_head SET seq = 10"))
    assert _first(_verify(container)) == (5, "deleted")


def test_a_renumbered_insertion_is_named(container: Container, connection: Connection) -> None:
    """Shift rows 3… up by one to insert a row at 3 that links to 2: the numbering and the
    links still give it away at 3."""
    _fill(container, 5)
    for seq in (5, 4, 3):
        connection.execute(text(f"UPDATE audit_events SET seq = {seq + 1} WHERE seq = {seq}"))  # noqa: S608
    two = connection.execute(text("SELECT entry_hash FROM audit_events WHERE seq = 2")).scalar()
    assert isinstance(two, str)
    _forge(connection, 3, two, good_hash=True)
    assert _first(_verify(container)) == (3, "inserted")


def test_a_gap_where_the_next_row_links_across_is_an_insertion(
    container: Container, connection: Connection
) -> None:
    _fill(container, 4)
    connection.execute(text("UPDATE audit_events SET seq = 9 WHERE seq = 4"))
    report = _verify(container)
    assert _first(report) == (4, "inserted")


def test_the_head_row_must_agree(container: Container, connection: Connection) -> None:
    _fill(container, 3)
    connection.execute(text("UPDATE audit_chain_head SET entry_hash = :h"), {"h": "a" * 64})
    assert _first(_verify(container)) == (3, "head")


def test_checkpoints_catch_a_rewritten_chain(container: Container, connection: Connection) -> None:
    _fill(container, 5)
    with container.uow() as uow:
        first = create_checkpoint(uow.session, KEY, actor="test")
        again = create_checkpoint(uow.session, KEY, actor="test")
        uow.commit()
    assert first.created
    assert (first.seq, first.key_id) == (5, key_id(KEY.public_key()))
    assert not again.created
    assert again.since_last == 0
    assert _verify(container).intact
    # an intruder edits entry 2 and recomputes every hash after it, and the head: the chain
    # alone looks intact, the signed checkpoint does not agree
    connection.execute(text("UPDATE audit_events SET actor = 'rewritten' WHERE seq = 2"))
    rows = connection.execute(
        select(AuditEvent.__table__).order_by(AuditEvent.seq)  # type: ignore[arg-type]
    ).mappings()
    prev = GENESIS
    for row in list(rows):
        digest = entry_hash(prev, dict(row))
        connection.execute(
            text("UPDATE audit_events SET prev_hash = :p, entry_hash = :h WHERE seq = :s"),
            {"p": prev, "h": digest, "s": row["seq"]},
        )
        prev = digest
    connection.execute(text("UPDATE audit_chain_head SET entry_hash = :h"), {"h": prev})
    with container.uow() as uow:
        assert verify_chain(uow.session).intact
    report = _verify(container)
    assert _first(report) == (5, "altered")
    assert "checkpoint" in report.problems[0].message


def test_a_forged_or_foreign_checkpoint_is_reported(
    container: Container, connection: Connection
) -> None:
    _fill(container, 4)
    other = Ed25519PrivateKey.generate()
    with container.uow() as uow:
        create_checkpoint(uow.session, KEY, actor="test", min_entries=4)
        uow.commit()
    connection.execute(text("UPDATE audit_checkpoints SET entry_hash = :h"), {"h": "b" * 64})
    assert _first(_verify(container)) == (4, "checkpoint")
    _fill(container, 3)
    with container.uow() as uow:
        create_checkpoint(uow.session, other, actor="test")
        uow.commit()
    report = _verify(container)
    kinds = sorted((p.seq, p.kind) for p in report.problems)
    assert kinds == [(4, "checkpoint"), (7, "checkpoint")]
    assert "unknown key" in report.problems[-1].message
    connection.execute(
        text("UPDATE audit_checkpoints SET signature = :s WHERE seq = 7"),
        {"s": base64.urlsafe_b64encode(b"x" * 10).decode()},
    )
    with container.uow() as uow:
        report = verify_trail(uow.session, [KEY.public_key(), other.public_key()])
    assert "does not verify" in next(p for p in report.problems if p.seq == 7).message


def test_a_checkpoint_beyond_the_end_reports_the_truncation(
    container: Container, connection: Connection
) -> None:
    _fill(container, 4)
    with container.uow() as uow:
        create_checkpoint(uow.session, KEY, actor="test")
        uow.commit()
    connection.execute(text("DELETE FROM audit_events WHERE seq = 4"))
    connection.execute(text("UPDATE audit_chain_head SET seq = 3"))
    connection.execute(
        text(
            "UPDATE audit_chain_head SET entry_hash = "
            "(SELECT entry_hash FROM audit_events WHERE seq = 3)"
        )
    )
    with container.uow() as uow:
        assert verify_chain(uow.session).intact  # the chain alone cannot tell
    report = _verify(container)
    assert _first(report) == (4, "deleted")
    assert "checkpoint" in report.problems[0].message


def test_checkpoint_needs_entries(container: Container) -> None:
    with container.uow() as uow:
        assert not create_checkpoint(uow.session, KEY, actor="test").created
    _fill(container, 3)
    with container.uow() as uow:
        assert not create_checkpoint(uow.session, KEY, actor="t", min_entries=5).created
        assert create_checkpoint(uow.session, KEY, actor="t", min_entries=3).created
        assert uow.session.scalar(select(func.count()).select_from(AuditEvent)) == 3


def test_appends_continue_after_the_head_row_is_lost(
    container: Container, connection: Connection
) -> None:
    connection.execute(text("DELETE FROM audit_chain_head"))
    _fill(container, 3)  # from an empty table: the chain starts at 1
    connection.execute(text("DELETE FROM audit_chain_head"))
    _fill(container, 3)  # continues after the last stored entry
    report = _verify(container)
    assert report.intact, report.problems
    assert report.last_seq == 6
    with container.uow() as uow:
        assert (
            record_event(
                uow.session, actor="t", action="a", resource="r", request_id="x", details={}
            )
            == 7
        )

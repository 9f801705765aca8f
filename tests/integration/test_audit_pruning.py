"""The audit trail's retention on SQLite and PostgreSQL: its oldest part is destroyed only up to
a signed checkpoint older than the period (``consultation_log``, P10Y), with a proof entry;
the chain then verifies from that checkpoint; a truncation done any other way is reported."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, delete, select, text, update

from ila.audit.chain import ChainReport, append_entries, chain_base
from ila.audit.checkpoints import create_checkpoint, verify_trail
from ila.audit.models import AuditChainHead, AuditEvent
from ila.audit.retention import default_registry, run_retention
from ila.bootstrap import Container
from tests.builders import fake_niss

KEY = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"test pruning key").digest())
AT = datetime(2026, 6, 15, 12, tzinfo=UTC)  # cutoff: 15 June 2016, Brussels time
RULE = "audit.consultation_log"


def _entries(container: Container, *moments: datetime) -> None:
    with container.uow() as uow:
        append_entries(
            uow.session,
            [
                {
                    "occurred_at": moment,
                    "actor": "client-a",
                    "organisation": "0999200166",
                    "on_behalf_of": None,
                    "action": "exchange_read",
                    "resource": "account",
                    "subject_national_number": fake_niss(1),
                    "request_id": f"req-{i}",
                    "legal_context": "ila-guidance-consultation",
                    "details": {"i": i},
                }
                for i, moment in enumerate(moments)
            ],
        )
        uow.commit()


def _checkpoint(container: Container) -> int:
    with container.uow() as uow:
        result = create_checkpoint(uow.session, KEY, actor="test")
        uow.commit()
    return result.seq


def _verify(container: Container) -> ChainReport:
    with container.uow() as uow:
        return verify_trail(uow.session, [KEY.public_key()])


def _chain(container: Container) -> None:
    """Entries 1–5 of 2014 (checkpoint at 5), 6–8 of 2015, 9–10 of 2026 (checkpoint at 10)."""
    _entries(container, *[datetime(2014, 3, d, tzinfo=UTC) for d in range(1, 6)])
    assert _checkpoint(container) == 5
    _entries(container, *[datetime(2015, 3, d, tzinfo=UTC) for d in range(1, 4)])
    _entries(container, datetime(2026, 1, 2, tzinfo=UTC), datetime(2026, 1, 3, tzinfo=UTC))
    assert _checkpoint(container) == 10


def _seqs(container: Container) -> list[int]:
    with container.uow() as uow:
        return list(uow.session.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq)))


def test_the_trail_is_cut_at_the_newest_checkpoint_older_than_the_period(
    container: Container,
) -> None:
    _chain(container)
    registry = default_registry()
    dry = run_retention(container, registry, at=AT, dry_run=True, only=[RULE])
    assert [(o.rule, o.count) for o in dry.outcomes] == [(RULE, 5)]
    assert _seqs(container) == list(range(1, 11))
    report = run_retention(container, registry, at=AT, only=[RULE], actor="test:retention")
    (outcome,) = report.outcomes
    # 6–8 are due too, but no checkpoint closes them: they wait for the next cut
    assert (outcome.count, outcome.digest, outcome.proof_seq) == (5, dry.outcomes[0].digest, 11)
    assert _seqs(container) == list(range(6, 12))
    with container.uow() as uow:
        base = chain_base(uow.session)
        proof = uow.session.scalars(select(AuditEvent).where(AuditEvent.seq == 11)).one()
        five = uow.session.scalar(select(AuditChainHead.base_hash))
    assert base == (5, five)
    assert (proof.action, proof.resource, proof.details["base_seq"]) == ("destroy", "retention", 5)
    assert proof.details["count"] == 5
    verified = _verify(container)
    assert verified.intact, [p.describe() for p in verified.problems]
    assert verified.entries == 6
    # nothing more is due until a newer checkpoint closes only old entries
    again = run_retention(container, registry, at=AT, only=[RULE])
    assert again.outcomes[0].count == 0


def test_a_truncation_outside_the_job_is_reported(
    container: Container, connection: Connection
) -> None:
    _chain(container)
    # someone deletes entries 1–5 and moves the base onto the signed checkpoint, without
    # the proof entry the retention job writes
    with container.uow() as uow:
        five = uow.session.scalar(select(AuditEvent.entry_hash).where(AuditEvent.seq == 5))
        uow.session.execute(delete(AuditEvent).where(AuditEvent.seq <= 5))
        uow.session.execute(update(AuditChainHead).values(base_seq=5, base_hash=five))
        uow.commit()
    report = _verify(container)
    problem = report.first_problem
    assert problem is not None
    assert (problem.seq, problem.kind) == (5, "deleted")
    assert "no proof entry names it" in problem.message


def test_a_base_without_a_signed_checkpoint_is_reported(
    container: Container, connection: Connection
) -> None:
    _chain(container)
    run_retention(container, default_registry(), at=AT, only=[RULE])
    # further entries 6–8 deleted and the base moved to 8, which no checkpoint signs
    with container.uow() as uow:
        eight = uow.session.scalar(select(AuditEvent.entry_hash).where(AuditEvent.seq == 8))
        uow.session.execute(delete(AuditEvent).where(AuditEvent.seq <= 8))
        uow.session.execute(update(AuditChainHead).values(base_seq=8, base_hash=eight))
        uow.commit()
    report = _verify(container)
    assert any(
        p.kind == "deleted" and "no authentic checkpoint signs it" in p.message
        for p in report.problems
    ), [p.describe() for p in report.problems]


def test_after_the_cut_a_deleted_or_edited_entry_is_still_named(
    container: Container, connection: Connection
) -> None:
    _chain(container)
    run_retention(container, default_registry(), at=AT, only=[RULE])
    connection.execute(text("DELETE FROM audit_events WHERE seq = 6"))
    first = _verify(container).first_problem
    assert first is not None
    assert (first.seq, first.kind) == (6, "deleted")


def test_nothing_is_cut_without_a_checkpoint_or_before_the_period(container: Container) -> None:
    _entries(container, *[datetime(2014, 3, d, tzinfo=UTC) for d in range(1, 4)])
    registry = default_registry()
    none: Any = run_retention(container, registry, at=AT, only=[RULE])
    assert none.outcomes[0].count == 0  # no checkpoint: the chain cannot be cut
    _checkpoint(container)
    early = run_retention(container, registry, at=datetime(2024, 3, 2, tzinfo=UTC), only=[RULE])
    assert early.outcomes[0].count == 0  # ten years have not passed
    assert _seqs(container) == [1, 2, 3]

"""Destroying the oldest part of the audit trail when its retention period has passed.

The trail is a hash chain: deleting rows from its middle would break it, and deleting its
beginning would be indistinguishable from an intruder's truncation. So the trail is only ever
cut **at a signed checkpoint**: :func:`prune_chain` destroys the entries up to the newest
checkpoint whose entries are all older than the period, records that checkpoint's position and
hash as the chain's **base** (``audit_chain_head.base_seq``/``base_hash``), and appends a proof
entry (rule, window, count, digest, base) in the same transaction. ``verify_chain`` then starts
the walk from the base, and accepts it only when an authentic checkpoint signs it **and** a
proof entry of the chain names it — a truncation outside this job is reported. Entries younger
than the period are never destroyed, so a checkpoint is kept a little longer than the period
(until the next checkpoint's entries are all due)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from ila.audit.chain import chain_base, chain_head, lock_head
from ila.audit.models import AuditChainHead, AuditCheckpoint, AuditEvent
from ila.audit.retention import RetentionRule, RuleOutcome, digest_of, write_proof

TABLE = AuditEvent.__tablename__


def _cut(session: Session, base_seq: int, cutoff: datetime) -> tuple[int, str] | None:
    """The newest checkpoint above the base whose entries (and every one before it) are all
    older than ``cutoff``, and whose entry is still the one it signed."""
    first_kept = session.scalar(
        select(func.min(AuditEvent.seq)).where(
            AuditEvent.seq > base_seq, AuditEvent.occurred_at >= cutoff
        )
    )
    limit = first_kept if first_kept is not None else chain_head(session)[0] + 1
    checkpoint = session.execute(
        select(AuditCheckpoint.seq, AuditCheckpoint.entry_hash)
        .where(AuditCheckpoint.seq > base_seq, AuditCheckpoint.seq < limit)
        .order_by(AuditCheckpoint.seq.desc())
        .limit(1)
    ).first()
    if checkpoint is None:
        return None
    stored = session.scalar(select(AuditEvent.entry_hash).where(AuditEvent.seq == checkpoint.seq))
    if stored != checkpoint.entry_hash:  # tampered with: verify reports it, nothing is cut
        return None
    return checkpoint.seq, checkpoint.entry_hash


def prune_chain(
    session: Session, rule: RetentionRule, at: datetime, dry_run: bool, actor: str
) -> RuleOutcome:
    """The rule's ``prune``: cut the chain at the newest checkpoint older than the period, in
    the session's transaction (the caller commits), with its proof entry."""
    cutoff = rule.cutoff(at)
    if not dry_run:
        lock_head(session)  # no append between choosing the cut and moving the base
    base_seq, _ = chain_base(session)
    cut = _cut(session, base_seq, cutoff)
    if cut is None:
        return RuleOutcome(rule.name, cutoff, 0, digest_of(TABLE, []))
    seq, entry_hash = cut
    rows: list[tuple[Any, ...]] = [
        tuple(r)
        for r in session.execute(
            select(AuditEvent.id, AuditEvent.occurred_at, AuditEvent.seq, AuditEvent.entry_hash)
            .where(AuditEvent.seq > base_seq, AuditEvent.seq <= seq)
            .order_by(AuditEvent.id)
        )
    ]
    digest = digest_of(TABLE, rows)
    if dry_run:
        return RuleOutcome(rule.name, cutoff, len(rows), digest)
    session.execute(delete(AuditEvent).where(AuditEvent.seq > base_seq, AuditEvent.seq <= seq))
    session.execute(
        update(AuditChainHead)
        .where(AuditChainHead.id == 1)
        .values(base_seq=seq, base_hash=entry_hash)
    )
    proof = write_proof(
        session,
        rule,
        at=at,
        count=len(rows),
        digest=digest,
        actor=actor,
        extra={"base_seq": seq, "base_hash": entry_hash},
    )
    return RuleOutcome(rule.name, cutoff, len(rows), digest, True, proof)

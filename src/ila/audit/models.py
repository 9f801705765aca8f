"""The ``audit_events`` table: one append-only row per person whose data an API request read
or changed, hash-chained (``seq``, ``prev_hash``, ``entry_hash``); the one-row
``audit_chain_head`` that serialises appends; signed ``audit_checkpoints``. Nothing in the
application updates or deletes audit rows (see ``ila.audit.chain`` and docs/audit.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ila.db.base import Base, JSONDocument, UTCDateTime


class AuditEvent(Base):
    """Who (client id, its organisation), on behalf of whom (employer), what (action on a
    resource, the person concerned), when, under which request id. ``details`` holds small
    references only (year, training id, mandate id, counts), never personal data."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_subject", "subject_national_number", "id"),
        Index("ix_audit_events_request_id", "request_id"),
        UniqueConstraint("seq"),
        CheckConstraint("seq >= 1", name="seq_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    actor: Mapped[str] = mapped_column(String(64), nullable=False)  # the API client id
    organisation: Mapped[str] = mapped_column(String(10), nullable=False)  # the caller's
    on_behalf_of: Mapped[str | None] = mapped_column(String(10), nullable=True)  # employer
    action: Mapped[str] = mapped_column(String(32), nullable=False)
    resource: Mapped[str] = mapped_column(String(32), nullable=False)
    subject_national_number: Mapped[str | None] = mapped_column(String(11), nullable=True)
    request_id: Mapped[str] = mapped_column(String(128), nullable=False)
    legal_context: Mapped[str | None] = mapped_column(String(200), nullable=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSONDocument, nullable=False)
    # the hash chain: 1, 2, 3… without gaps; entry_hash = SHA-256(prev_hash, canonical fields)
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    prev_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    entry_hash: Mapped[str] = mapped_column(String(64), nullable=False)


class AuditChainHead(Base):
    """The single row (``id`` = 1) holding the last ``seq`` and ``entry_hash`` of the chain.
    Every append locks it (``SELECT … FOR UPDATE`` on PostgreSQL, the database write lock on
    SQLite) inside the writing transaction, so concurrent writers queue and the chain stays
    linear; it also tells ``ila audit verify`` where the chain must end."""

    __tablename__ = "audit_chain_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    entry_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    # where the chain starts once retention destroyed its oldest part: the last destroyed
    # entry's seq and hash (0 and the genesis hash before any); it must be a signed
    # checkpoint's position, named by the proof entry of that destruction (ila.audit.pruning)
    base_seq: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    base_hash: Mapped[str] = mapped_column(
        String(64), nullable=False, default="0" * 64, server_default="0" * 64
    )


class AuditCheckpoint(Base):
    """An Ed25519 signature over (seq, entry_hash, created_at, key_id): whoever holds the
    public key can prove that the chain up to ``seq`` existed unchanged when it was signed."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    entry_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    key_id: Mapped[str] = mapped_column(String(32), nullable=False)
    signature: Mapped[str] = mapped_column(String(200), nullable=False)

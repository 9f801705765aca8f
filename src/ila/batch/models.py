"""Tables of the XML batch channel: the batches (their lifecycle, counts and checkpoint, which
is also the job queue) and the result of every record, whose accepted ones are also the record
ids a sender applied."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from ila.db.base import Base, UTCDateTime


class Batch(Base):
    """One submitted file. ``done`` is the checkpoint: the records up to this sequence number
    are applied and their results stored, in the same transactions."""

    __tablename__ = "batches"
    __table_args__ = (
        UniqueConstraint("sender", "reference"),
        Index("ix_batches_status", "status", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket: Mapped[str] = mapped_column(String(32), nullable=False, unique=True)
    sender: Mapped[str] = mapped_column(String(10), nullable=False)
    reference: Mapped[str | None] = mapped_column(String(100), nullable=True)
    channel: Mapped[str] = mapped_column(String(10), nullable=False)  # api | cli | inbox
    actor: Mapped[str] = mapped_column(String(200), nullable=False)
    scopes: Mapped[str] = mapped_column(String(1000), nullable=False)  # the sender's, at receipt
    status: Mapped[str] = mapped_column(String(12), nullable=False)
    file_name: Mapped[str] = mapped_column(String(255), nullable=False)
    file_path: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    file_bytes: Mapped[int] = mapped_column(BigInteger, nullable=False)
    file_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    total: Mapped[int | None] = mapped_column(Integer, nullable=True)
    done: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    accepted: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    rejected: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    error_code: Mapped[str | None] = mapped_column(String(60), nullable=True)
    error_message: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    error_line: Mapped[int | None] = mapped_column(Integer, nullable=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    worker: Mapped[str | None] = mapped_column(String(100), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class BatchRecord(Base):
    """The result of one record of a batch, stored with the record's effect. An accepted
    record is also the record id its sender applied (``sender`` and ``digest``, a fingerprint
    of the record as sent; null otherwise): the same id is never applied twice (sent again
    with the same content: unchanged; with other content: refused). One row per record, not
    a second table of applied ids (ADR 0024)."""

    __tablename__ = "batch_records"
    __table_args__ = (
        UniqueConstraint("batch_id", "seq"),
        Index(
            "uq_batch_records_applied",
            "sender",
            "record_id",
            unique=True,
            sqlite_where=text("digest IS NOT NULL"),
            postgresql_where=text("digest IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"), nullable=False)
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    line: Mapped[int] = mapped_column(Integer, nullable=False)
    record_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False)
    code: Mapped[str | None] = mapped_column(String(60), nullable=True)
    field: Mapped[str | None] = mapped_column(String(60), nullable=True)
    message: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    training_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    sender: Mapped[str | None] = mapped_column(String(10), nullable=True)  # applied records
    digest: Mapped[str | None] = mapped_column(String(32), nullable=True)  # applied records

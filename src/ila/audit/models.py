"""The ``audit_events`` table: one append-only row per person whose data an API request read
or changed. Nothing in the application updates or deletes these rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String
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

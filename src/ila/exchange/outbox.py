"""The transactional outbox: a change and the notification about it commit together.

A use case that changes a person's account calls :func:`emit` with its own session, before its
unit of work commits::

    from ila.exchange.outbox import emit
    emit(uow.session, "be.ila.account.training.recorded", national_number, {"training": 42})

The event is a row of ``outbox_events`` in the same transaction: if the change rolls back, so
does the event; if it commits, the event is there for the webhook worker
(``ila webhooks deliver``, :mod:`ila.exchange.webhooks`), which fans it out to the institutions
concerned and delivers it, however long the receivers are down. Events are **thin**
(CloudEvents 1.0 attributes + a few references): receivers pull the details through the
authorised exchange API, which checks their authorisation and directory entry again."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from ila.audit.chain import normalise_details
from ila.db.base import Base, JSONDocument, UTCDateTime, utcnow
from ila.errors import ValidationError

SOURCE = "/ila"
"""The CloudEvents ``source`` of every event the platform emits."""

MAX_DATA_KEYS = 20


class OutboxEvent(Base):
    """One notification waiting for (or already given to) the webhook worker."""

    __tablename__ = "outbox_events"
    __table_args__ = (Index("ix_outbox_events_pending", "dispatched_at", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    type: Mapped[str] = mapped_column(String(100), nullable=False)
    source: Mapped[str] = mapped_column(String(200), nullable=False)
    subject: Mapped[str | None] = mapped_column(String(11), nullable=True)  # national number
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    data: Mapped[dict[str, Any]] = mapped_column(JSONDocument, nullable=False)
    # when the worker turned it into deliveries (one per subscription concerned)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    def cloudevent(self) -> dict[str, Any]:
        """The event as the webhook body: CloudEvents 1.0, JSON structured mode."""
        body: dict[str, Any] = {
            "specversion": "1.0",
            "id": self.event_id,
            "source": self.source,
            "type": self.type,
            "time": self.occurred_at.isoformat().replace("+00:00", "Z"),
            "datacontenttype": "application/json",
            "data": self.data,
        }
        if self.subject is not None:
            body["subject"] = self.subject
        return body


def new_event_id() -> str:
    """A new event id (the ``webhook-id`` receivers see, the same on every retry)."""
    return f"evt_{uuid.uuid4().hex}"


def emit(
    session: Session,
    type: str,
    subject: str | None,
    data: Mapping[str, object] | None = None,
    *,
    at: datetime | None = None,
) -> str:
    """Add a thin event to the outbox in the session's transaction; returns its id (the
    ``webhook-id`` receivers see, the same on every retry). ``subject`` is the person's
    national number (who to notify is decided from it); ``data`` holds references only
    (ids, years), never the changed values."""
    if not type or len(type) > 100 or " " in type:
        raise ValidationError("an event type is a dotted name", field="type", code="invalid_value")
    payload = normalise_details(data or {})
    if len(payload) > MAX_DATA_KEYS:
        raise ValidationError(
            "a thin event carries a few references only", field="data", code="too_long"
        )
    event_id = new_event_id()
    session.add(
        OutboxEvent(
            event_id=event_id,
            type=type,
            source=SOURCE,
            subject=subject,
            occurred_at=at or utcnow(),
            data=payload,
        )
    )
    session.flush()
    return event_id

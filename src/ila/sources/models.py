"""The link between an authentic source's declaration line and the employment it created."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ila.db.base import Base, UTCDateTime, utcnow


class SourceEmployment(Base):
    """Which employment row a source's declaration line (``source``, ``line_id``) feeds, and
    the fingerprint of the line as last imported (equal fingerprint: nothing to update)."""

    __tablename__ = "source_employments"
    __table_args__ = (UniqueConstraint("source", "line_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(32), nullable=False)
    line_id: Mapped[str] = mapped_column(String(64), nullable=False)
    employment_id: Mapped[int] = mapped_column(
        ForeignKey("employments.id"), nullable=False, index=True
    )
    fingerprint: Mapped[str] = mapped_column(String(64), nullable=False)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)

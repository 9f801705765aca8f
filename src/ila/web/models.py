"""Tables of the web interface: the roles people hold with an employer, the contests of
records, and the staff of regional services, service providers and the operator."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ila.db.base import Base, UTCDateTime


class WebRole(Base):
    """A person (by national number) may act for an employer in the web interface with a
    role, from ``granted_at`` until revoked. Revoking keeps the row (who, when)."""

    __tablename__ = "web_roles"
    __table_args__ = (
        Index("ix_web_roles_national_number", "national_number"),
        Index("ix_web_roles_employer", "employer_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    employer_id: Mapped[int] = mapped_column(ForeignKey("employers.id"), nullable=False)
    national_number: Mapped[str] = mapped_column(String(11), nullable=False)
    role: Mapped[str] = mapped_column(String(20), nullable=False)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    granted_by: Mapped[str] = mapped_column(String(200), nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_by: Mapped[str | None] = mapped_column(String(200), nullable=True)


class Contest(Base):
    """A person contests a training record of their account, with a reason. The record shows
    "contested" until the side that recorded it (the employer, for its records and its
    providers') resolves the contest, with a resolution text. Nothing is deleted."""

    __tablename__ = "web_contests"
    __table_args__ = (
        Index("ix_web_contests_training", "training_id"),
        Index("ix_web_contests_employer_open", "employer_id", "resolved_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    training_id: Mapped[int] = mapped_column(ForeignKey("trainings.id"), nullable=False)
    employer_id: Mapped[int | None] = mapped_column(ForeignKey("employers.id"), nullable=True)
    national_number: Mapped[str] = mapped_column(String(11), nullable=False)
    reason: Mapped[str] = mapped_column(String(1000), nullable=False)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolved_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    resolution: Mapped[str | None] = mapped_column(String(1000), nullable=True)


class WebStaff(Base):
    """A person (by national number) who uses the web interface for an organisation other
    than an employer: a regional service's counsellor (with the function its authorisation
    names, e.g. ``guidance_counsellor``), a service provider's employee, or the operator.
    Granted by the operator (``ila staff grant``); one active assignment per person (a new
    grant replaces the previous one, which stays, revoked)."""

    __tablename__ = "web_staff"
    __table_args__ = (Index("ix_web_staff_national_number", "national_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    national_number: Mapped[str] = mapped_column(String(11), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)  # counsellor, provider, operator
    organisation: Mapped[str] = mapped_column(String(10), nullable=False)  # enterprise number
    function: Mapped[str | None] = mapped_column(String(60), nullable=True)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    granted_by: Mapped[str] = mapped_column(String(200), nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_by: Mapped[str | None] = mapped_column(String(200), nullable=True)

"""Tables of the exchanges: the versions of the authorisations and the person directory."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from ila.db.base import Base, JSONDocument, UTCDateTime


class AuthorisationVersion(Base):
    """One version of an authorisation as loaded from the repository's file. A changed
    authorisation is a new row; the earlier one is kept with its ``superseded_at``."""

    __tablename__ = "exchange_authorisations"
    __table_args__ = (
        UniqueConstraint("authorisation_id", "version"),
        Index(
            "uq_exchange_authorisations_current",
            "authorisation_id",
            unique=True,
            sqlite_where=text("superseded_at IS NULL"),
            postgresql_where=text("superseded_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    authorisation_id: Mapped[str] = mapped_column(String(64), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    operation: Mapped[str] = mapped_column(String(40), nullable=False)
    legal_reference: Mapped[str] = mapped_column(String(500), nullable=False)
    valid_from: Mapped[date] = mapped_column(Date, nullable=False)
    valid_to: Mapped[date | None] = mapped_column(Date, nullable=True)
    digest: Mapped[str] = mapped_column(String(64), nullable=False)  # SHA-256 of the document
    document: Mapped[dict[str, Any]] = mapped_column(JSONDocument, nullable=False)
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    loaded_by: Mapped[str] = mapped_column(String(200), nullable=False)
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class DirectoryEntry(Base):
    """An institution manages a person's dossier in a capacity over a period (inclusive dates;
    ``valid_to`` empty = open). Unregistering ends the period; nothing is deleted. The person is
    kept as a national number: an institution may register someone the platform does not know
    yet, and registering reveals nothing about who the platform knows."""

    __tablename__ = "exchange_directory"
    __table_args__ = (
        Index("ix_exchange_directory_person", "institution", "national_number", "capacity"),
        Index("ix_exchange_directory_institution", "institution", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution: Mapped[str] = mapped_column(String(10), nullable=False)  # enterprise number
    national_number: Mapped[str] = mapped_column(String(11), nullable=False)
    capacity: Mapped[str] = mapped_column(String(40), nullable=False)
    valid_from: Mapped[date] = mapped_column(Date, nullable=False)
    valid_to: Mapped[date | None] = mapped_column(Date, nullable=True)
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    registered_by: Mapped[str] = mapped_column(String(200), nullable=False)
    unregistered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    unregistered_by: Mapped[str | None] = mapped_column(String(200), nullable=True)

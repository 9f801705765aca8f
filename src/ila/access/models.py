"""Tables of API clients, issued access tokens, used assertion ids and mandates."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ila.db.base import Base, JSONDocument, UTCDateTime, utcnow


class ApiClient(Base):
    """A machine client of the API, registered with its organisation and public key."""

    __tablename__ = "api_clients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    organisation: Mapped[str] = mapped_column(String(10), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSONDocument, nullable=False)
    scopes: Mapped[str] = mapped_column(String(1000), nullable=False)  # space-separated
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    revoke_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)


class AccessToken(Base):
    """An issued access token, kept as its SHA-256 digest only."""

    __tablename__ = "api_access_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    client_pk: Mapped[int] = mapped_column(ForeignKey("api_clients.id"), nullable=False, index=True)
    scopes: Mapped[str] = mapped_column(String(1000), nullable=False)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class AssertionJti(Base):
    """The ``jti`` of every client assertion accepted, until it expires: a replay is refused."""

    __tablename__ = "api_assertion_jtis"
    __table_args__ = (UniqueConstraint("client_pk", "jti"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_pk: Mapped[int] = mapped_column(ForeignKey("api_clients.id"), nullable=False)
    jti: Mapped[str] = mapped_column(String(200), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class Mandate(Base):
    """An employer lets a service provider act for it through the API, for a period.
    Revoking keeps the row (who, when, why); nothing is deleted."""

    __tablename__ = "mandates"
    __table_args__ = (
        Index("ix_mandates_provider_employer", "provider", "employer_id"),
        Index("ix_mandates_employer", "employer_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    employer_id: Mapped[int] = mapped_column(ForeignKey("employers.id"), nullable=False)
    provider: Mapped[str] = mapped_column(String(10), nullable=False)  # enterprise number
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    valid_from: Mapped[date] = mapped_column(Date, nullable=False)
    valid_to: Mapped[date | None] = mapped_column(Date, nullable=True)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    granted_by: Mapped[str] = mapped_column(String(200), nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    revoke_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)

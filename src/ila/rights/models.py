"""Versioned training-right entitlements per person × employer × year (the ledger's input)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from ila.db.base import Base, ExactDecimal, JSONDocument, UTCDateTime
from ila.db.versioning import VersionMixin


class RightVersion(VersionMixin, Base):
    """One version of a yearly entitlement: the computed value always, the employer's own value
    when set (with its reason). The effective entitlement is ``set_days`` if set, else computed."""

    __tablename__ = "right_versions"
    __table_args__ = (
        UniqueConstraint("person_id", "employer_id", "year", "version"),
        Index(
            "uq_right_versions_current",
            "person_id",
            "employer_id",
            "year",
            unique=True,
            sqlite_where=text("superseded_at IS NULL"),
            postgresql_where=text("superseded_at IS NULL"),
        ),
        Index("ix_right_versions_employer_year", "employer_id", "year"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), nullable=False)
    employer_id: Mapped[int] = mapped_column(ForeignKey("employers.id"), nullable=False)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    computed_days: Mapped[Decimal | None] = mapped_column(ExactDecimal(10, 4), nullable=True)
    rule_version: Mapped[str | None] = mapped_column(String(40), nullable=True)
    regime_id: Mapped[str | None] = mapped_column(String(60), nullable=True)
    derivation: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument, nullable=True)
    set_days: Mapped[Decimal | None] = mapped_column(ExactDecimal(10, 4), nullable=True)
    set_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)

    @property
    def effective_days(self) -> Decimal:
        if self.set_days is not None:
            return self.set_days
        return self.computed_days if self.computed_days is not None else Decimal(0)


class RightVerification(Base):
    """The employer confirmed one recorded version of a worker's right (FLA: within 30 days of
    the yearly computation). A newer version of the right is *to verify* again: a verification
    names the version it saw. Append-only."""

    __tablename__ = "right_verifications"
    __table_args__ = (
        UniqueConstraint("right_version_id"),
        Index("ix_right_verifications_employer_year", "employer_id", "year"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    right_version_id: Mapped[int] = mapped_column(ForeignKey("right_versions.id"), nullable=False)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), nullable=False)
    employer_id: Mapped[int] = mapped_column(ForeignKey("employers.id"), nullable=False)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    verified_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    verified_by: Mapped[str] = mapped_column(String(200), nullable=False)


class RightOptOut(Base):
    """The employer opts out of the platform's yearly computation for a year, for the whole
    company (``person_id`` NULL) or for one worker, with a reason; the employer then registers
    the right itself. Withdrawing keeps the row (who, when, why) and computing resumes."""

    __tablename__ = "right_opt_outs"
    __table_args__ = (
        Index("ix_right_opt_outs_employer_year", "employer_id", "year"),
        Index(
            "uq_right_opt_outs_active",
            "employer_id",
            "year",
            "person_id",
            unique=True,
            sqlite_where=text("withdrawn_at IS NULL"),
            postgresql_where=text("withdrawn_at IS NULL"),
            postgresql_nulls_not_distinct=True,
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    employer_id: Mapped[int] = mapped_column(ForeignKey("employers.id"), nullable=False)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"), nullable=True)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    reason: Mapped[str] = mapped_column(String(500), nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    recorded_by: Mapped[str] = mapped_column(String(200), nullable=False)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    withdrawn_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    withdraw_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)

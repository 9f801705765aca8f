"""Versioned training-right entitlements per person × employer × year (the ledger's input)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from ila.db.base import Base, ExactDecimal, JSONDocument
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

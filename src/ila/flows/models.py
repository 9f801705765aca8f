"""The ``fpie_computations`` table: every FPIE allowance computed, with its inputs (the
adviser's request and ONEM's answer as received) and its result, kept ten years
(deliberation 22/086 §22) and then destroyed by the retention job (``ila.flows.retention``).

Career-break possibilities have no table: deliberation 24/012 forbids storing them."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ila.db.base import Base, ExactDecimal, JSONDocument, UTCDateTime


class FpieComputation(Base):
    __tablename__ = "fpie_computations"
    __table_args__ = (
        Index("ix_fpie_computations_person", "national_number", "id"),
        Index("ix_fpie_computations_retain_until", "retain_until"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    retain_until: Mapped[date] = mapped_column(Date, nullable=False)  # destroyed after this day
    national_number: Mapped[str] = mapped_column(String(11), nullable=False)
    organisation: Mapped[str | None] = mapped_column(String(10), nullable=True)
    actor: Mapped[str] = mapped_column(String(128), nullable=False)
    role: Mapped[str] = mapped_column(String(64), nullable=False)
    legal_context: Mapped[str] = mapped_column(String(200), nullable=False)
    request_id: Mapped[str] = mapped_column(String(128), nullable=False)
    rule_version: Mapped[str] = mapped_column(String(32), nullable=False)
    case: Mapped[str] = mapped_column(String(32), nullable=False)
    first_month: Mapped[date] = mapped_column(Date, nullable=False)
    last_month: Mapped[date] = mapped_column(Date, nullable=False)
    total_allowance: Mapped[Decimal] = mapped_column(ExactDecimal(12, 2), nullable=False)
    inputs: Mapped[dict[str, Any]] = mapped_column(JSONDocument, nullable=False)
    result: Mapped[dict[str, Any]] = mapped_column(JSONDocument, nullable=False)

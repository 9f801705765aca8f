"""Tables of employments, work-fraction periods, suspensions and quarterly FTE declarations."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ila.db.base import Base, ExactDecimal, UTCDateTime, utcnow


class Employment(Base):
    __tablename__ = "employments"
    __table_args__ = (
        Index("ix_employments_employer_period", "employer_id", "start_date", "end_date"),
        Index("ix_employments_person", "person_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), nullable=False)
    employer_id: Mapped[int] = mapped_column(ForeignKey("employers.id"), nullable=False)
    start_date: Mapped[date] = mapped_column(Date, nullable=False)
    end_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    joint_committee: Mapped[str] = mapped_column(String(9), nullable=False)
    end_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class WorkFraction(Base):
    """The work fraction (Q/S) in force from ``valid_from`` until the next row."""

    __tablename__ = "work_fractions"
    __table_args__ = (UniqueConstraint("employment_id", "valid_from"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    employment_id: Mapped[int] = mapped_column(ForeignKey("employments.id"), nullable=False)
    valid_from: Mapped[date] = mapped_column(Date, nullable=False)
    fraction: Mapped[Decimal] = mapped_column(ExactDecimal(7, 6), nullable=False)


class Suspension(Base):
    """A suspension of the contract; recorded, and it does not reduce the right."""

    __tablename__ = "suspensions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    employment_id: Mapped[int] = mapped_column(
        ForeignKey("employments.id"), nullable=False, index=True
    )
    start_date: Mapped[date] = mapped_column(Date, nullable=False)
    end_date: Mapped[date] = mapped_column(Date, nullable=False)
    reason: Mapped[str] = mapped_column(String(64), nullable=False)


class QuarterlyFte(Base):
    """FTE an employer declared at the end of a quarter (DmfA) — input of the headcount."""

    __tablename__ = "quarterly_fte"
    __table_args__ = (UniqueConstraint("employer_id", "year", "quarter"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    employer_id: Mapped[int] = mapped_column(ForeignKey("employers.id"), nullable=False)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    quarter: Mapped[int] = mapped_column(Integer, nullable=False)
    fte: Mapped[Decimal] = mapped_column(ExactDecimal(12, 2), nullable=False)
    workers_declared: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)

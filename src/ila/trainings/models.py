"""Tables of training records (identity) and their versions (content, bitemporal)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ila.db.base import Base, ExactDecimal, UTCDateTime, utcnow
from ila.db.versioning import VersionMixin


class Training(Base):
    """The identity of a training record: who it is about, who sent it, under which id."""

    __tablename__ = "trainings"
    __table_args__ = (
        UniqueConstraint("sender", "sender_record_id"),
        Index("ix_trainings_person_employer", "person_id", "employer_id"),
        Index("ix_trainings_employer", "employer_id", "id"),  # an employer's list, by id
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), nullable=False)
    employer_id: Mapped[int | None] = mapped_column(ForeignKey("employers.id"), nullable=True)
    source: Mapped[str] = mapped_column(String(16), nullable=False)
    sender: Mapped[str] = mapped_column(String(40), nullable=False)  # sender's organisation id
    sender_record_id: Mapped[str] = mapped_column(String(100), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    # a training provider's record stays "to verify" for the employer until verified
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    verified_by: Mapped[str | None] = mapped_column(String(200), nullable=True)


class TrainingVersion(VersionMixin, Base):
    __tablename__ = "training_versions"
    __table_args__ = (
        UniqueConstraint("training_id", "version"),
        Index(
            "uq_training_versions_current",
            "training_id",
            unique=True,
            sqlite_where=text("superseded_at IS NULL"),
            postgresql_where=text("superseded_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    training_id: Mapped[int] = mapped_column(ForeignKey("trainings.id"), nullable=False)
    cancelled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    provider: Mapped[str | None] = mapped_column(String(200), nullable=True)
    start_date: Mapped[date] = mapped_column(Date, nullable=False)
    end_date: Mapped[date] = mapped_column(Date, nullable=False)
    duration_value: Mapped[Decimal] = mapped_column(ExactDecimal(10, 2), nullable=False)
    duration_unit: Mapped[str] = mapped_column(String(8), nullable=False)
    duration_minutes: Mapped[int] = mapped_column(Integer, nullable=False)
    nature: Mapped[str] = mapped_column(String(20), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    counts_toward_right: Mapped[bool] = mapped_column(Boolean, nullable=False)
    not_counting_reason: Mapped[str | None] = mapped_column(String(40), nullable=True)
    certificate: Mapped[str | None] = mapped_column(String(200), nullable=True)
    certificate_valid_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    financing: Mapped[str | None] = mapped_column(String(200), nullable=True)

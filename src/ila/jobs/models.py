"""The ``scheduled_jobs`` table: one row per periodic job, its next run and its last outcome.
A scheduler claims a due job with a conditional ``UPDATE`` (lease), so two schedulers never run
the same job at once and a scheduler that died leaves the job to another after the lease."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ila.db.base import Base, UTCDateTime


class ScheduledJob(Base):
    __tablename__ = "scheduled_jobs"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    next_run_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    running_by: Mapped[str | None] = mapped_column(String(120), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_outcome: Mapped[str | None] = mapped_column(String(10), nullable=True)  # ok, failed
    last_summary: Mapped[str | None] = mapped_column(String(500), nullable=True)
    runs: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    failures: Mapped[int] = mapped_column(Integer, nullable=False, default=0)

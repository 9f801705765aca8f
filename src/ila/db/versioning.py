"""Versioned records: every change is a new row; nothing is overwritten or deleted.

Two time axes are kept apart (bitemporal):
- *recorded time* — ``recorded_at`` .. ``superseded_at``: when the platform held this version;
- *valid time* — the period the fact is about (a training's dates, a right's year).
"The account as recorded on date D" selects the versions whose recorded interval contains D.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Integer, String, and_, or_
from sqlalchemy.orm import Mapped, mapped_column

from ila.db.base import UTCDateTime


class Operation(StrEnum):
    CREATE = "create"
    RECTIFY = "rectify"
    CANCEL = "cancel"
    COMPUTE = "compute"
    SET = "set"


class VersionMixin:
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    operation: Mapped[str] = mapped_column(String(16), nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    recorded_by: Mapped[str] = mapped_column(String(200), nullable=False)
    reason: Mapped[str | None] = mapped_column(String(500), nullable=True)


def as_recorded_on(model: Any, moment: datetime | None) -> ColumnElement[bool]:
    """Filter selecting the version of each record the platform held at ``moment``
    (the current one when ``moment`` is None)."""
    if moment is None:
        return model.superseded_at.is_(None)  # type: ignore[no-any-return]
    return and_(
        model.recorded_at <= moment,
        or_(model.superseded_at.is_(None), model.superseded_at > moment),
    )

"""Request and response bodies of the trainings resource (part of the public contract)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal, Self

from pydantic import BaseModel, Field, model_validator

from ila.api.schemas import ItemError, Strict
from ila.trainings.domain import DurationUnit, Nature, NotCountingReason, Status


class TrainingContent(Strict):
    """What a training is: the content of one version of a training record."""

    title: str = Field(max_length=300, examples=["Forklift safety"])
    provider: str | None = Field(default=None, max_length=200, examples=["Safety Academy"])
    start_date: date = Field(examples=["2024-03-04"])
    end_date: date = Field(examples=["2024-03-05"])
    duration: Decimal = Field(description="In hours or days (see duration_unit).", examples=["8"])
    duration_unit: DurationUnit = DurationUnit.HOURS
    nature: Nature
    status: Status
    counts_toward_right: bool = True
    not_counting_reason: NotCountingReason | None = Field(
        default=None, description="Required when counts_toward_right is false."
    )
    certificate: str | None = Field(default=None, max_length=200)
    certificate_valid_until: date | None = None
    financing: str | None = Field(default=None, max_length=200)


class GroupWorker(Strict):
    national_number: str = Field(max_length=20, examples=["90010190123"])
    record_id: str = Field(
        max_length=100,
        description="Your own id of this worker's record: sending it again changes nothing.",
        examples=["course-17/worker-3"],
    )


class TrainingItem(TrainingContent):
    national_number: str = Field(max_length=20, examples=["90010190123"])
    record_id: str = Field(
        max_length=100,
        description="Your own id of the record: sending it again changes nothing.",
        examples=["hr-2024-0042"],
    )


class CreateTrainingsRequest(Strict):
    """Either a group training (``training`` for all ``workers``) or individual ``items``."""

    training: TrainingContent | None = Field(
        default=None, description="Group training: the content shared by all workers."
    )
    workers: list[GroupWorker] | None = Field(default=None, min_length=1, max_length=1000)
    items: list[TrainingItem] | None = Field(default=None, min_length=1, max_length=1000)

    @model_validator(mode="after")
    def _one_form(self) -> Self:
        group = self.training is not None or self.workers is not None
        if group == (self.items is not None) or (
            group and (self.training is None or self.workers is None)
        ):
            raise ValueError("send either training with workers, or items")
        return self


class TrainingItemResult(BaseModel):
    index: int
    record_id: str
    status: Literal["accepted", "unchanged", "rejected"] = Field(
        description="accepted: created; unchanged: this record id was already recorded with "
        "the same content; rejected: see error."
    )
    training_id: int | None = None
    version: int | None = None
    error: ItemError | None = None


class CreateTrainingsResponse(BaseModel):
    accepted: int
    unchanged: int
    rejected: int
    items: list[TrainingItemResult]


class RectifyRequest(TrainingContent):
    reason: str = Field(min_length=1, max_length=500, examples=["wrong end date"])


class CancelRequest(Strict):
    reason: str = Field(min_length=1, max_length=500, examples=["training did not take place"])


class TrainingVersionOut(TrainingContent):
    version: int
    operation: str = Field(examples=["create"], description="create, rectify or cancel")
    cancelled: bool
    duration_minutes: int
    recorded_at: datetime
    recorded_by: str
    superseded_at: datetime | None
    reason: str | None


class TrainingOut(TrainingVersionOut):
    """A training record as it stands now (its current version)."""

    id: int
    national_number: str
    employer: str
    source: Literal["employer", "provider", "region", "person"]
    sender: str = Field(description="Enterprise number of the organisation that sent it.")
    record_id: str
    to_verify: bool = Field(
        description="Sent by a training provider and not yet verified by the employer."
    )
    verified_at: datetime | None
    verified_by: str | None


class TrainingHistory(BaseModel):
    id: int
    versions: list[TrainingVersionOut] = Field(description="Every version, oldest first.")


class TrainingPage(BaseModel):
    items: list[TrainingOut]
    next_cursor: str | None = Field(
        description="Pass as ``cursor`` for the next page; null on the last page."
    )

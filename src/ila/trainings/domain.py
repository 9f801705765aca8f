"""Pure rules of a training record: code lists and validation of one record.

The same :func:`TrainingData.validate` serves every channel (API, XML batch, web form, CLI).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from fractions import Fraction
from typing import TypeVar

from ila.errors import InvalidDuration, InvalidPeriod, UnknownCode, ValidationError

MAX_TRAINING_MINUTES = 2000 * 60  # a single record above 2,000 hours is certainly a typing error


class Nature(StrEnum):
    FORMAL_INTERNAL = "formal_internal"
    FORMAL_EXTERNAL = "formal_external"
    INFORMAL = "informal"


class Status(StrEnum):
    PLANNED = "planned"
    FOLLOWED = "followed"
    NOT_FOLLOWED = "not_followed"


class Source(StrEnum):
    EMPLOYER = "employer"
    PROVIDER = "provider"
    REGION = "region"
    PERSON = "person"


class NotCountingReason(StrEnum):
    """Why a training does not count toward the federal right (rules 1.7)."""

    VOV = "vov"  # Flemish training leave
    PAID_EDUCATIONAL_LEAVE = "paid_educational_leave"  # BEV / CEP
    OUTSIDE_PROFESSIONAL_CONTEXT = "outside_professional_context"


class DurationUnit(StrEnum):
    HOURS = "hours"
    DAYS = "days"


E = TypeVar("E", bound=StrEnum)


def parse_code(enum: type[E], raw: object, field: str) -> E:
    try:
        return enum(str(raw))
    except ValueError:
        allowed = ", ".join(m.value for m in enum)
        raise UnknownCode(f"unknown code {raw!r}; expected one of {allowed}", field=field) from None


def duration_minutes(value: object, unit: DurationUnit, day_minutes: int) -> int:
    """Convert a duration in hours or days (of this employer) to whole minutes, half up."""
    try:
        amount = Fraction(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        raise InvalidDuration(f"{value!r} is not a number", field="duration") from None
    if amount <= 0:
        raise InvalidDuration(f"duration must be greater than 0, got {value}", field="duration")
    minutes = amount * (60 if unit is DurationUnit.HOURS else day_minutes)
    whole = int(minutes + Fraction(1, 2))
    if whole > MAX_TRAINING_MINUTES:
        raise InvalidDuration("duration exceeds 2,000 hours for one record", field="duration")
    return max(whole, 1)


@dataclass(frozen=True, slots=True)
class TrainingData:
    """The content of one version of a training record, validated."""

    title: str
    provider: str | None
    start_date: date
    end_date: date
    duration_value: Decimal
    duration_unit: DurationUnit
    nature: Nature
    status: Status
    counts_toward_right: bool = True
    not_counting_reason: NotCountingReason | None = None
    certificate: str | None = None
    certificate_valid_until: date | None = None
    financing: str | None = None

    def validate(self) -> TrainingData:
        if not self.title.strip():
            raise ValidationError("a title is required", field="title", code="required")
        if len(self.title) > 300:
            raise ValidationError(
                "title longer than 300 characters", field="title", code="too_long"
            )
        if self.end_date < self.start_date:
            raise InvalidPeriod(
                f"end date {self.end_date} is before start date {self.start_date}", field="end_date"
            )
        if self.duration_value <= 0:
            raise InvalidDuration(
                f"duration must be greater than 0, got {self.duration_value}", field="duration"
            )
        if self.counts_toward_right and self.not_counting_reason is not None:
            raise ValidationError(
                "a training that counts toward the right has no not-counting reason",
                field="not_counting_reason",
                code="inconsistent",
            )
        if not self.counts_toward_right and self.not_counting_reason is None:
            raise ValidationError(
                "say why the training does not count (vov, "
                "paid_educational_leave, outside_professional_context)",
                field="not_counting_reason",
                code="required",
            )
        if self.certificate_valid_until is not None and (
            self.certificate is None or self.certificate_valid_until < self.start_date
        ):
            raise InvalidPeriod(
                "certificate validity needs a certificate and must not end "
                "before the training starts",
                field="certificate_valid_until",
            )
        return self

    @property
    def counts_for_used(self) -> bool:
        """Whether this version adds to the days used of the right."""
        return self.counts_toward_right and self.status is Status.FOLLOWED

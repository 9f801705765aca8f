from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from ila.errors import DomainError, InvalidDuration, InvalidPeriod, UnknownCode
from ila.trainings.domain import (
    DurationUnit,
    Nature,
    NotCountingReason,
    Status,
    TrainingData,
    duration_minutes,
    parse_code,
)

BASE = TrainingData(
    title="Safety",
    provider="Demo Academy",
    start_date=date(2024, 3, 1),
    end_date=date(2024, 3, 2),
    duration_value=Decimal(7),
    duration_unit=DurationUnit.HOURS,
    nature=Nature.FORMAL_EXTERNAL,
    status=Status.FOLLOWED,
)


def test_valid_training_passes_and_counts() -> None:
    assert BASE.validate() is BASE
    assert BASE.counts_for_used
    assert not replace(BASE, status=Status.PLANNED).counts_for_used


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"title": "  "}, "required", "title"),
        ({"title": "x" * 301}, "too_long", "title"),
        ({"end_date": date(2024, 2, 1)}, "invalid_period", "end_date"),
        ({"duration_value": Decimal(0)}, "invalid_duration", "duration"),
        ({"duration_value": Decimal(-1)}, "invalid_duration", "duration"),
        ({"not_counting_reason": NotCountingReason.VOV}, "inconsistent", "not_counting_reason"),
        ({"counts_toward_right": False}, "required", "not_counting_reason"),
        (
            {"certificate_valid_until": date(2025, 1, 1)},
            "invalid_period",
            "certificate_valid_until",
        ),
        (
            {"certificate": "C1", "certificate_valid_until": date(2023, 1, 1)},
            "invalid_period",
            "certificate_valid_until",
        ),
    ],
)
def test_invalid_training_data(change: dict[str, object], code: str, field: str) -> None:
    with pytest.raises(DomainError) as info:
        replace(BASE, **change).validate()  # type: ignore[arg-type]
    assert info.value.code == code
    assert info.value.field == field


def test_not_counting_with_reason_is_valid() -> None:
    data = replace(
        BASE,
        counts_toward_right=False,
        not_counting_reason=NotCountingReason.PAID_EDUCATIONAL_LEAVE,
    ).validate()
    assert not data.counts_for_used


def test_duration_conversion() -> None:
    assert duration_minutes("7.5", DurationUnit.HOURS, 456) == 450
    assert duration_minutes(1, DurationUnit.DAYS, 456) == 456
    assert duration_minutes("0.5", DurationUnit.DAYS, 456) == 228
    assert duration_minutes("0.001", DurationUnit.HOURS, 456) == 1  # never rounds to zero
    for bad in ("abc", "0", "-2"):
        with pytest.raises(InvalidDuration):
            duration_minutes(bad, DurationUnit.HOURS, 456)
    with pytest.raises(InvalidDuration):
        duration_minutes("2001", DurationUnit.HOURS, 456)


def test_parse_code() -> None:
    assert parse_code(Nature, "informal", "nature") is Nature.INFORMAL
    with pytest.raises(UnknownCode) as info:
        parse_code(Status, "done", "status")
    assert info.value.field == "status"
    assert "planned" in info.value.message


def test_invalid_period_is_a_domain_error() -> None:
    assert issubclass(InvalidPeriod, DomainError)

"""Test data builders: synthetic, checksum-valid, obviously fake identifiers, created through the
same services the channels use (so test data obeys the same rules as real data)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from ila.bootstrap import Container
from ila.employment.service import RegisterEmployment, declare_quarter, register_employment
from ila.identity.service import register_employer, register_person
from ila.identity.synthetic import synthetic_enterprise_number, synthetic_niss
from ila.trainings.domain import DurationUnit, Nature, Status, TrainingData


def fake_niss(serial: int, birth: str = "900101") -> str:
    """A NISS born on ``birth`` (YYMMDD) with day counter 900+."""
    return synthetic_niss(f"{birth}{900 + serial % 99:03d}")


def fake_enterprise(serial: int) -> str:
    return synthetic_enterprise_number(f"09{serial:06d}")


def employer(
    container: Container,
    serial: int = 1,
    *,
    fte: str | None = "40",
    day_minutes: int = 456,
    quarters: tuple[tuple[int, int], ...] = (
        (2020, 4),
        (2021, 1),
        (2021, 2),
        (2021, 3),
        (2022, 4),
        (2023, 1),
        (2023, 2),
        (2023, 3),
        (2024, 4),
        (2025, 1),
        (2025, 2),
        (2025, 3),
    ),
) -> str:
    en = fake_enterprise(serial)
    register_employer(
        container.uow(),
        enterprise_number=en,
        name=f"Test Employer {serial}",
        full_time_day_minutes=day_minutes,
    )
    if fte is not None:
        for year, quarter in quarters:
            declare_quarter(
                container.uow(), enterprise_number=en, year=year, quarter=quarter, fte=Decimal(fte)
            )
    return en


def person(container: Container, serial: int = 1) -> str:
    niss = fake_niss(serial)
    register_person(
        container.uow(), national_number=niss, given_name="Test", family_name=f"Person {serial}"
    )
    return niss


def employ(
    container: Container,
    niss: str,
    en: str,
    *,
    start: date = date(2024, 1, 1),
    end: date | None = None,
    fraction: str = "1",
    jc: str = "226",
    end_reason: str | None = None,
    changes: tuple[tuple[date, str], ...] = (),
) -> int:
    return register_employment(
        container.uow(),
        RegisterEmployment(
            national_number=niss,
            enterprise_number=en,
            start_date=start,
            joint_committee=jc,
            fractions=[(start, fraction), *changes],
            end_date=end,
            end_reason=end_reason,
        ),
    )


def batch_submission(en: str, reference: str, body: str) -> bytes:
    """An XML batch file of sender ``en`` (the only employer of its header) around ``body``,
    the records' XML."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<submission xmlns="urn:be:ila:batch:submission:v1">'
        f"<header><sender>{en}</sender><reference>{reference}</reference>"
        "<created>2026-11-23T10:00:00Z</created>"
        f"<employers><employer>{en}</employer></employers></header>"
        f"<records>{body}</records></submission>"
    ).encode()


def training_data(**changes: Any) -> TrainingData:
    """A training's content: 4 hours of internal safety training followed on 1 March 2024,
    with ``changes`` (any field of :class:`TrainingData`)."""
    fields: dict[str, Any] = {
        "title": "Safety",
        "provider": None,
        "start_date": date(2024, 3, 1),
        "end_date": date(2024, 3, 1),
        "duration_value": Decimal(4),
        "duration_unit": DurationUnit.HOURS,
        "nature": Nature.FORMAL_INTERNAL,
        "status": Status.FOLLOWED,
    }
    return TrainingData(**{**fields, **changes})

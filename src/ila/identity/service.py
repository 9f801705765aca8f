"""Use cases on persons and employers. Each runs in one unit of work and commits it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ila.db.uow import UnitOfWork
from ila.errors import NotFound, ValidationError
from ila.identity.domain import EnterpriseNumber, NationalNumber
from ila.identity.models import Employer, Person

LANGUAGES = ("fr", "nl", "de", "en")


def find_person(session: Session, national_number: str) -> Person:
    nn = NationalNumber.parse(national_number)
    person = session.scalar(select(Person).where(Person.national_number == nn.value))
    if person is None:
        raise NotFound(f"no person with national number {nn.formatted()}", field="national_number")
    return person


def find_employer(session: Session, enterprise_number: str) -> Employer:
    en = EnterpriseNumber.parse(enterprise_number)
    employer = session.scalar(select(Employer).where(Employer.enterprise_number == en.value))
    if employer is None:
        raise NotFound(
            f"no employer with enterprise number {en.formatted()}", field="enterprise_number"
        )
    return employer


def _required(value: str, field: str, limit: int) -> str:
    value = value.strip()
    if not value:
        raise ValidationError(
            f"{field.replace('_', ' ')} is required", field=field, code="required"
        )
    if len(value) > limit:
        raise ValidationError(
            f"{field.replace('_', ' ')} longer than {limit} characters",
            field=field,
            code="too_long",
        )
    return value


def register_person(
    uow: UnitOfWork,
    *,
    national_number: str,
    given_name: str,
    family_name: str,
    language: str = "fr",
) -> int:
    """Create the person, or return the existing one with this number (idempotent)."""
    nn = NationalNumber.parse(national_number)
    given = _required(given_name, "given_name", 100)
    family = _required(family_name, "family_name", 100)
    if language not in LANGUAGES:
        raise ValidationError(
            f"language must be one of {', '.join(LANGUAGES)}", field="language", code="unknown_code"
        )
    with uow:
        existing = uow.session.scalar(select(Person).where(Person.national_number == nn.value))
        if existing is not None:
            return existing.id
        person = Person(
            national_number=nn.value,
            number_kind=nn.kind.value,
            given_name=given,
            family_name=family,
            language=language,
        )
        uow.session.add(person)
        uow.session.flush()
        uow.commit()
        return person.id


def register_employer(
    uow: UnitOfWork, *, enterprise_number: str, name: str, full_time_day_minutes: int = 456
) -> int:
    """Create the employer, or return the existing one with this number (idempotent)."""
    en = EnterpriseNumber.parse(enterprise_number)
    label = _required(name, "name", 200)
    if not 60 <= full_time_day_minutes <= 720:
        raise ValidationError(
            "a full-time day lasts between 1 and 12 hours",
            field="full_time_day_minutes",
            code="out_of_range",
        )
    with uow:
        existing = uow.session.scalar(
            select(Employer).where(Employer.enterprise_number == en.value)
        )
        if existing is not None:
            return existing.id
        employer = Employer(
            enterprise_number=en.value, name=label, full_time_day_minutes=full_time_day_minutes
        )
        uow.session.add(employer)
        uow.session.flush()
        uow.commit()
        return employer.id

"""Pure rules of the data exchanges: authorisations as data, the checks an exchange must pass,
directory periods, retention durations and the filtering of a learning account down to the
items an authorisation allows. No database, no HTTP."""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from ila.errors import (
    AuthorisationExpired,
    InvalidPeriod,
    PartyNotAuthorised,
    PurposeNotAuthorised,
    RoleNotAuthorised,
    UnknownCode,
    ValidationError,
)
from ila.identity.domain import EnterpriseNumber


class Operation(StrEnum):
    """What an exchange does; each authorisation is for exactly one (purpose limitation)."""

    ACCOUNT_READ = "account.read"  # a regional service reads a person's learning account
    TRAININGS_SEND = "trainings.send"  # a regional service sends trainings to the platform
    FPIE_ALLOWANCE = "fpie.allowance"  # seed 002: ONEM data for Bruxelles Formation
    CAREER_BREAK = "career_break.possibilities"  # seed 003: ONEM data shown to the person


class Side(StrEnum):
    PROVIDING = "providing"
    RECEIVING = "receiving"


CALLER_SIDE: dict[Operation, Side] = {
    Operation.ACCOUNT_READ: Side.RECEIVING,
    Operation.TRAININGS_SEND: Side.PROVIDING,
    Operation.FPIE_ALLOWANCE: Side.RECEIVING,
    Operation.CAREER_BREAK: Side.RECEIVING,
}
"""On which side of the authorisation the calling organisation must be for each operation."""

CAPACITIES: dict[str, str] = {
    "jobseeker_guidance": "The institution guides the person as a jobseeker.",
    "training_guidance": "The institution guides the person in a training path.",
    "trainee": "The person follows a training with the institution.",
    "fpie_candidate": "The person applied for an FPIE (individual vocational training in a "
    "company) with Bruxelles Formation.",
}
"""Capacity codes of the person directory: in which capacity an institution manages a
person's dossier."""

ACCOUNT_ITEMS: dict[str, str] = {
    "person.name": "The person's name.",
    "rights.employers": "The training-right ledger per employer (entitlement, used, balance).",
    "rights.totals": "The consolidated training-right totals.",
    "trainings": "The trainings from every source (without certificates).",
    "trainings.certificates": "The certificates of the trainings and their validity.",
}
"""The data items of a learning account an authorisation may allow. The person's national
number, the year and the as-of date are what the caller sent and are always returned."""

CERTIFICATE_FIELDS = ("certificate", "certificate_valid_until")

_DURATION = re.compile(r"^P(?!$)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?$")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{2,63}$")
_ROLE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


# --- retention ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Retention:
    """An ISO 8601 duration in years, months and days (``P10Y``, ``P6M``, ``P0D``)."""

    years: int
    months: int
    days: int

    @classmethod
    def parse(cls, text: str, *, field: str = "retention") -> Retention:
        match = _DURATION.match(text.strip()) if isinstance(text, str) else None
        if match is None:
            raise ValidationError(
                f"{text!r} is not an ISO 8601 duration in years, months and days (e.g. P10Y)",
                field=field,
                code="invalid_duration",
            )
        years, months, days = (int(g) if g else 0 for g in match.groups())
        return cls(years, months, days)

    @property
    def never_stored(self) -> bool:
        return self.years == self.months == self.days == 0

    def until(self, start: date) -> date:
        """The last day data dated ``start`` may be kept (month ends clip: 31 Jan + P1M →
        28/29 Feb)."""
        month_index = start.month - 1 + self.months + 12 * self.years
        year, month = start.year + month_index // 12, month_index % 12 + 1
        day = min(start.day, _month_length(year, month))
        return date.fromordinal(date(year, month, day).toordinal() + self.days)

    def earliest_kept(self, day: date) -> date:
        """The first day whose data must still be kept on ``day``: data dated before it is due
        (``day`` minus the period, calendar-wise; month ends clip as in :meth:`until`)."""
        month_index = day.month - 1 - self.months - 12 * self.years
        year, month = day.year + month_index // 12, month_index % 12 + 1
        start = date(year, month, min(day.day, _month_length(year, month)))
        return date.fromordinal(start.toordinal() - self.days)

    def __str__(self) -> str:
        if self.never_stored:
            return "P0D"
        parts = [(self.years, "Y"), (self.months, "M"), (self.days, "D")]
        return "P" + "".join(f"{n}{unit}" for n, unit in parts if n)


def _month_length(year: int, month: int) -> int:
    following = date(year + month // 12, month % 12 + 1, 1)
    return (following - date(year, month, 1)).days


# --- authorisations -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Party:
    code: str
    name: str
    enterprise_number: str


@dataclass(frozen=True)
class Authorisation:
    """One version of an authorisation: who may exchange what, for which purpose, how long."""

    id: str
    version: int
    legal_reference: str
    purpose: str
    legal_basis: str
    operation: Operation
    providing: tuple[Party, ...]
    receiving: tuple[Party, ...]
    items: tuple[str, ...]
    roles: tuple[str, ...]
    capacities: tuple[str, ...]
    retention: Mapping[str, Retention]
    valid_from: date
    valid_to: date | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def needs_directory(self) -> bool:
        """Whether the caller's person directory must cover the person (an empty capacity list:
        the person's own data, shown to the person only)."""
        return bool(self.capacities)

    def parties(self, side: Side) -> tuple[Party, ...]:
        return self.providing if side is Side.PROVIDING else self.receiving

    def in_force(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)

    def document(self) -> dict[str, Any]:
        """The content as JSON data: what is stored, compared and shown."""
        return {
            "id": self.id,
            "version": self.version,
            "legal_reference": self.legal_reference,
            "purpose": self.purpose,
            "legal_basis": self.legal_basis,
            "operation": self.operation.value,
            "providing": [_party_doc(p) for p in self.providing],
            "receiving": [_party_doc(p) for p in self.receiving],
            "items": list(self.items),
            "roles": list(self.roles),
            "capacities": list(self.capacities),
            "retention": {k: str(v) for k, v in sorted(self.retention.items())},
            "valid_from": self.valid_from.isoformat(),
            "valid_to": self.valid_to.isoformat() if self.valid_to else None,
        }

    def digest(self) -> str:
        canonical = json.dumps(self.document(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> Authorisation:
        return cls(
            id=str(doc["id"]),
            version=int(doc["version"]),
            legal_reference=str(doc["legal_reference"]),
            purpose=str(doc["purpose"]),
            legal_basis=str(doc["legal_basis"]),
            operation=Operation(doc["operation"]),
            providing=tuple(Party(**p) for p in doc["providing"]),
            receiving=tuple(Party(**p) for p in doc["receiving"]),
            items=tuple(doc["items"]),
            roles=tuple(doc["roles"]),
            capacities=tuple(doc["capacities"]),
            retention={k: Retention.parse(v) for k, v in doc["retention"].items()},
            valid_from=date.fromisoformat(doc["valid_from"]),
            valid_to=date.fromisoformat(doc["valid_to"]) if doc.get("valid_to") else None,
        )


def _party_doc(p: Party) -> dict[str, str]:
    return {"code": p.code, "name": p.name, "enterprise_number": p.enterprise_number}


def _invalid(where: str, message: str) -> ValidationError:
    return ValidationError(f"{where}: {message}", field=where, code="invalid_authorisation")


def _text(table: Mapping[str, Any], key: str, where: str, limit: int) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise _invalid(f"{where}.{key}", f"a text of 1 to {limit} characters is required")
    return value.strip()


def _codes(table: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = table.get(key)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _invalid(f"{where}.{key}", "a list of codes is required")
    return tuple(dict.fromkeys(value))


def _date(table: Mapping[str, Any], key: str, where: str) -> date:
    value = table.get(key)
    if not isinstance(value, date) or isinstance(value, datetime):
        raise _invalid(f"{where}.{key}", "a TOML date (YYYY-MM-DD) is required")
    return value


def _parties(raw: Any) -> dict[str, Party]:
    if not isinstance(raw, dict) or not raw:
        raise _invalid("parties", "a [parties.<code>] table per party is required")
    parties = {}
    for code, table in raw.items():
        where = f"parties.{code}"
        if not isinstance(table, dict):
            raise _invalid(where, "a table is required")
        en = EnterpriseNumber.parse(table.get("enterprise_number"), field=where).value
        parties[code] = Party(code, _text(table, "name", where, 200), en)
    return parties


def _one(aid: str, table: Any, parties: Mapping[str, Party]) -> Authorisation:
    where = f"authorisations.{aid}"
    if not _ID.match(aid):
        raise _invalid(where, "an id of 3 to 64 lowercase letters, digits and dashes")
    if not isinstance(table, dict):
        raise _invalid(where, "a table is required")
    version = table.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _invalid(f"{where}.version", "a positive integer is required")
    try:
        operation = Operation(str(table.get("operation")))
    except ValueError:
        raise _invalid(f"{where}.operation", f"one of {', '.join(Operation)} is required") from None
    sides = {}
    for side in Side:
        codes = _codes(table, side.value, where)
        unknown = [c for c in codes if c not in parties]
        if unknown or not codes:
            raise _invalid(f"{where}.{side.value}", f"unknown or missing parties {unknown}")
        sides[side] = tuple(parties[c] for c in codes)
    items = _codes(table, "items", where)
    if not items:
        raise _invalid(f"{where}.items", "at least one data item is required")
    if operation is Operation.ACCOUNT_READ and (bad := set(items) - set(ACCOUNT_ITEMS)):
        raise _invalid(f"{where}.items", f"not items of a learning account: {sorted(bad)}")
    roles = _codes(table, "roles", where)
    if not roles or not all(_ROLE.match(r) for r in roles):
        raise _invalid(f"{where}.roles", "role codes (lowercase, underscores) are required")
    capacities = _codes(table, "capacities", where)
    if bad_caps := [c for c in capacities if c not in CAPACITIES]:
        raise _invalid(f"{where}.capacities", f"unknown capacity codes {bad_caps}")
    raw_retention = table.get("retention")
    if not isinstance(raw_retention, dict) or not raw_retention:
        raise _invalid(f"{where}.retention", "a retention per data category is required")
    retention = {
        str(k): Retention.parse(str(v), field=f"{where}.retention.{k}")
        for k, v in raw_retention.items()
    }
    valid_from = _date(table, "valid_from", where)
    valid_to = _date(table, "valid_to", where) if "valid_to" in table else None
    if valid_to is not None and valid_to < valid_from:
        raise InvalidPeriod(f"{where}: valid_to is before valid_from", field=f"{where}.valid_to")
    return Authorisation(
        id=aid,
        version=version,
        legal_reference=_text(table, "legal_reference", where, 500),
        purpose=_text(table, "purpose", where, 1000),
        legal_basis=_text(table, "legal_basis", where, 200),
        operation=operation,
        providing=sides[Side.PROVIDING],
        receiving=sides[Side.RECEIVING],
        items=items,
        roles=roles,
        capacities=capacities,
        retention=retention,
        valid_from=valid_from,
        valid_to=valid_to,
    )


def parse_authorisations(text: str) -> list[Authorisation]:
    """The authorisations of a TOML document (see src/ila/exchange/data/authorisations.toml),
    validated; any error names the offending key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError(f"not valid TOML: {exc}", code="invalid_authorisation") from None
    parties = _parties(data.get("parties"))
    raw = data.get("authorisations")
    if not isinstance(raw, dict) or not raw:
        raise _invalid("authorisations", "an [authorisations.<id>] table per authorisation")
    return [_one(aid, table, parties) for aid, table in raw.items()]


# --- the checks of an exchange ----------------------------------------------------------------


def check_exchange(
    auth: Authorisation, *, organisation: str, operation: Operation, role: str | None, day: date
) -> None:
    """The checks that need only the authorisation, in a fixed order: purpose, party,
    validity, role (the directory is checked by the service). Each failure has its own code."""
    if auth.operation is not operation:
        raise PurposeNotAuthorised(
            f"authorisation {auth.id} is for {auth.operation}, not {operation}",
            field="legal_context",
            authorisation=auth.id,
        )
    side = CALLER_SIDE[operation]
    if organisation not in {p.enterprise_number for p in auth.parties(side)}:
        raise PartyNotAuthorised(
            f"the caller is not a {side.value} party of authorisation {auth.id}",
            field="legal_context",
            authorisation=auth.id,
        )
    if not auth.in_force(day):
        raise AuthorisationExpired(
            f"authorisation {auth.id} is not in force on {day}",
            field="legal_context",
            authorisation=auth.id,
            valid_from=auth.valid_from.isoformat(),
            valid_to=auth.valid_to.isoformat() if auth.valid_to else None,
        )
    if role is None or role not in auth.roles:
        raise RoleNotAuthorised(
            f"role {role!r} may not use authorisation {auth.id}",
            field="role",
            authorisation=auth.id,
        )


def check_capacity(value: str) -> str:
    if value not in CAPACITIES:
        raise UnknownCode(
            f"unknown capacity {value!r}; known: {', '.join(CAPACITIES)}", field="capacity"
        )
    return value


def covers(valid_from: date, valid_to: date | None, day: date) -> bool:
    return valid_from <= day and (valid_to is None or day <= valid_to)


def contains(
    outer_from: date, outer_to: date | None, inner_from: date, inner_to: date | None
) -> bool:
    """Whether the period ``outer`` contains the whole period ``inner``."""
    if outer_from > inner_from:
        return False
    if outer_to is None:
        return True
    return inner_to is not None and inner_to <= outer_to


# --- what an authorisation lets the caller see -------------------------------------------------


def filter_account(account: Mapping[str, Any], items: Sequence[str]) -> dict[str, Any]:
    """The account with only the allowed items: the others are *absent* (no key), not blank.

    ``person.national_number``, ``year`` and ``as_of`` echo the request and are kept."""
    allowed = set(items)
    person = {"national_number": account["person"]["national_number"]}
    if "person.name" in allowed:
        person["name"] = account["person"]["name"]
    result: dict[str, Any] = {
        "person": person,
        "year": account["year"],
        "as_of": account["as_of"],
    }
    if "rights.employers" in allowed:
        result["employers"] = account["employers"]
    if "rights.totals" in allowed:
        result["totals"] = account["totals"]
    if "trainings" in allowed:
        keep_certificates = "trainings.certificates" in allowed
        result["trainings"] = [
            {k: v for k, v in training.items() if keep_certificates or k not in CERTIFICATE_FIELDS}
            for training in account["trainings"]
        ]
    return result

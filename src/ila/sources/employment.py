"""Employment declarations (DmfA-like) as an authentic source: the adapter interface, its
value types and a deterministic simulator.

A declaration *line* is one employment of one worker with one employer, with the sender's own
stable ``line_id``; the import keys on it, so that a corrected declaration updates the
employment it created instead of adding another one."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from stdnum.be import nn

from ila.errors import NotFound
from ila.identity.domain import EnterpriseNumber, NationalNumber
from ila.identity.synthetic import synthetic_enterprise_number


class Sector(StrEnum):
    """Which declaration the employment comes from: DmfA (private) or DmfAPPL (public)."""

    PRIVATE = "private"
    PUBLIC = "public"


@dataclass(frozen=True, slots=True)
class DeclaredEmployment:
    """One declaration line: an employment as the employer declared it."""

    line_id: str
    enterprise_number: str
    national_number: str
    given_name: str
    family_name: str
    start_date: date
    joint_committee: str
    fractions: tuple[tuple[date, Decimal], ...]  # (valid from, work fraction)
    end_date: date | None = None
    end_reason: str | None = None
    sector: Sector = Sector.PRIVATE

    def fingerprint(self) -> str:
        """A digest of everything the import stores: equal digests, nothing to update."""
        text = "|".join(
            (
                self.national_number,
                self.enterprise_number,
                self.start_date.isoformat(),
                self.end_date.isoformat() if self.end_date else "",
                self.end_reason or "",
                self.joint_committee,
                ";".join(f"{d.isoformat()}={f.normalize()}" for d, f in self.fractions),
            )
        )
        return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class DeclaredQuarter:
    """The FTE an employer declared at the end of a quarter."""

    year: int
    quarter: int
    fte: Decimal
    workers_declared: bool = True


@dataclass(frozen=True, slots=True)
class EmployerDeclarations:
    enterprise_number: str
    name: str
    sector: Sector
    employments: tuple[DeclaredEmployment, ...]
    quarters: tuple[DeclaredQuarter, ...]


class EmploymentSource(Protocol):
    """What the platform asks the employment declarations."""

    def employers(self) -> Sequence[str]:
        """Enterprise numbers of every employer the source has declarations of."""
        ...

    def declarations_of(self, enterprise_number: str) -> EmployerDeclarations:
        """Every declaration line and quarter of one employer; ``NotFound`` if none."""
        ...

    def employments_of_person(self, national_number: str) -> Sequence[DeclaredEmployment]:
        """Every declared employment of one person, with any employer (empty if none)."""
        ...


@dataclass(frozen=True)
class WithPersonLines:
    """``source`` answering a person's question with ``lines`` too: the employments a demo
    dataset registered in the platform itself (``ila demo load``), which the real source
    would have declared. Employer-wide questions (what an import reads) stay ``source``'s
    alone, so that an import never adds those employments a second time."""

    source: EmploymentSource
    lines: tuple[DeclaredEmployment, ...]

    def employers(self) -> Sequence[str]:
        return self.source.employers()

    def declarations_of(self, enterprise_number: str) -> EmployerDeclarations:
        return self.source.declarations_of(enterprise_number)

    def employments_of_person(self, national_number: str) -> Sequence[DeclaredEmployment]:
        nn = NationalNumber.parse(national_number).value
        found = [*self.source.employments_of_person(nn)]
        found.extend(line for line in self.lines if line.national_number == nn)
        return sorted(found, key=lambda e: (e.start_date, e.line_id))


@dataclass
class SimulatedEmploymentSource:
    """An in-memory employment source. Deterministic: its content is what it was given (or what
    :meth:`generated` derives from a seed); ``calls`` logs every question asked of it."""

    names: dict[str, str] = field(default_factory=dict)  # enterprise number -> name
    sectors: dict[str, Sector] = field(default_factory=dict)  # enterprise number -> sector
    lines: dict[str, DeclaredEmployment] = field(default_factory=dict)  # by line id
    quarters: dict[str, dict[tuple[int, int], DeclaredQuarter]] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)

    # --- the adapter interface -----------------------------------------------------------

    def employers(self) -> Sequence[str]:
        self.calls.append(("employers", ""))
        return sorted(self.names)

    def declarations_of(self, enterprise_number: str) -> EmployerDeclarations:
        en = EnterpriseNumber.parse(enterprise_number).value
        self.calls.append(("declarations_of", en))
        if en not in self.names:
            raise NotFound(
                f"the employment source has no declarations of employer {en}",
                field="enterprise_number",
            )
        return EmployerDeclarations(
            en,
            self.names[en],
            self.sectors[en],
            tuple(
                sorted(
                    (e for e in self.lines.values() if e.enterprise_number == en),
                    key=lambda e: e.line_id,
                )
            ),
            tuple(q for _, q in sorted(self.quarters.get(en, {}).items())),
        )

    def employments_of_person(self, national_number: str) -> Sequence[DeclaredEmployment]:
        nn = NationalNumber.parse(national_number).value
        self.calls.append(("employments_of_person", nn))
        return sorted(
            (e for e in self.lines.values() if e.national_number == nn),
            key=lambda e: (e.start_date, e.line_id),
        )

    # --- feeding the simulator -----------------------------------------------------------

    def add_employer(
        self,
        enterprise_number: str,
        name: str,
        quarters: Iterable[DeclaredQuarter] = (),
        *,
        sector: Sector = Sector.PRIVATE,
    ) -> str:
        en = EnterpriseNumber.parse(enterprise_number).value
        self.names[en] = name
        self.sectors[en] = sector
        self.quarters.setdefault(en, {})
        for q in quarters:
            self.declare_quarter(en, q)
        return en

    def declare_quarter(self, enterprise_number: str, quarter: DeclaredQuarter) -> None:
        en = EnterpriseNumber.parse(enterprise_number).value
        self.quarters.setdefault(en, {})[quarter.year, quarter.quarter] = quarter

    def declare(self, line: DeclaredEmployment) -> DeclaredEmployment:
        """Add or replace (same ``line_id``) a declaration line; its sector is the employer's."""
        en = EnterpriseNumber.parse(line.enterprise_number).value
        if en not in self.names:
            raise NotFound(f"declare employer {en} first", field="enterprise_number")
        line = replace(
            line,
            enterprise_number=en,
            national_number=NationalNumber.parse(line.national_number).value,
            sector=self.sectors[en],
        )
        self.lines[line.line_id] = line
        return line

    def correct(self, line_id: str, **changes: object) -> DeclaredEmployment:
        """A corrected declaration: the same line with some values changed."""
        return self.declare(replace(self.lines[line_id], **changes))  # type: ignore[arg-type]

    def withdraw(self, line_id: str) -> None:
        """The employer cancels a declaration line."""
        del self.lines[line_id]

    # --- a generated dataset -------------------------------------------------------------

    @classmethod
    def generated(cls, seed: int = 2024, *, employers: int = 3) -> SimulatedEmploymentSource:
        """A small synthetic dataset, the same for the same seed: ``employers`` employers
        (enterprise numbers 0888.000.xCC, the last one public-sector) with 4 to 9 workers each
        (NISS with day counter 5xx), declared FTE for every quarter from 2020-Q4 to 2026-Q3."""
        rng = random.Random(seed)  # noqa: S311 - synthetic data, not security
        source = cls()
        serial = 0
        for k in range(1, employers + 1):
            sector = Sector.PUBLIC if k == employers and employers > 1 else Sector.PRIVATE
            en = source.add_employer(
                synthetic_enterprise_number(f"0888000{k}"), f"Simulated Employer {k}", sector=sector
            )
            jc = rng.choice(("200", "124", "226"))
            count = rng.randint(4, 9)
            for _ in range(count):
                serial += 1
                birth = date(rng.randint(1965, 2004), rng.randint(1, 12), rng.randint(1, 28))
                niss = _niss_born(birth, 500 + serial)
                start = date(rng.randint(2015, 2025), rng.randint(1, 12), 1)
                fraction = rng.choice((Decimal(1), Decimal(1), Decimal("0.8"), Decimal("0.5")))
                source.declare(
                    DeclaredEmployment(
                        line_id=f"sim-{k}-{serial}",
                        enterprise_number=en,
                        national_number=niss,
                        given_name=rng.choice(("Alex", "Sam", "Noa", "Lou", "Robin", "Jo")),
                        family_name=f"Simulated {serial}",
                        start_date=start,
                        joint_committee=jc,
                        fractions=((start, fraction),),
                    )
                )
            fte = Decimal(count) - Decimal("0.5")
            for year, quarter in _quarters((2020, 4), (2026, 3)):
                source.declare_quarter(en, DeclaredQuarter(year, quarter, fte))
        return source


def _niss_born(birth: date, counter: int) -> str:
    """A NISS whose check digits say the century of ``birth`` (the first valid pair may say
    the other one)."""
    body = f"{birth:%y%m%d}{counter:03d}"
    for digits in range(100):
        candidate = f"{body}{digits:02d}"
        if nn.is_valid(candidate) and nn.get_birth_date(candidate) == birth:
            return candidate
    raise ValueError(f"no NISS for {birth} and {counter}")  # pragma: no cover


def _quarters(first: tuple[int, int], last: tuple[int, int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    year, quarter = first
    while (year, quarter) <= last:
        out.append((year, quarter))
        year, quarter = (year + 1, 1) if quarter == 4 else (year, quarter + 1)
    return out

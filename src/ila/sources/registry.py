"""Which adapter answers for each authentic source.

No connection to the real services (the Crossroads Bank's DmfA and ONEM web services) exists
in this repository: every channel gets the deterministic simulators. A real adapter implements
the same Protocol (:class:`~ila.sources.employment.EmploymentSource`,
:class:`~ila.sources.onem.UnemploymentSource`, :class:`~ila.sources.onem.CareerBreakSource`)
and is returned here instead."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ila.access.domain import local_date
from ila.bootstrap import Container
from ila.db.base import utcnow
from ila.sources.employment import EmploymentSource, SimulatedEmploymentSource, WithPersonLines
from ila.sources.onem import (
    CareerBreakSource,
    SimulatedCareerBreaks,
    SimulatedUnemployment,
    UnemploymentSource,
)
from ila.sources.service import ImportReport, import_employment

DEFAULT_SEED = 2024


@dataclass(frozen=True)
class Sources:
    employment: EmploymentSource
    unemployment: UnemploymentSource
    career_breaks: CareerBreakSource


def simulated_sources(seed: int = DEFAULT_SEED, *, paid_until: date | None = None) -> Sources:
    """The simulators, the same for the same seed (ONEM amounts exist for the months before
    ``paid_until``, by default the first day of the current month). The employment simulator
    also answers a person's question with the employments of the demo dataset of the same
    seed (registered by ``ila demo load``, not imported): the demo's personas have a career
    the career-break flow can see."""
    from ila.demo.generator import declared_employments  # noqa: PLC0415 - demo data, built once

    return Sources(
        employment=WithPersonLines(
            SimulatedEmploymentSource.generated(seed), declared_employments(seed)
        ),
        unemployment=SimulatedUnemployment(
            seed=seed, paid_until=paid_until or local_date(utcnow()).replace(day=1)
        ),
        career_breaks=SimulatedCareerBreaks(seed=seed),
    )


def seed_demo_sources(container: Container, seed: int = DEFAULT_SEED) -> ImportReport:
    """For the demo loader: import every employer of the simulated employment source (its
    persons, employments and quarterly FTE), idempotently. The ONEM simulators need no seeding:
    they answer for any valid national number."""
    return import_employment(container, simulated_sources(seed).employment)

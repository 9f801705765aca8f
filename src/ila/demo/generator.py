"""Synthetic demo dataset: employers, workers, employments, quarterly FTE and trainings.

Nothing here is real personal data. The identifiers are checksum-valid (python-stdnum accepts them)
and follow fixed, obviously artificial patterns:

- **National numbers** ``YY.MM.01-997.CC`` or ``YY.MM.01-998.CC``: every demo person is born on the
  *first day of a month* between 1960 and 1999 and has the day counter 997 (odd) or 998 (even), the
  last counters of a day; ``CC`` are the check digits python-stdnum accepts. A birth
  year holds 24 demo persons (slot s: month s // 2 + 1, counter 997 + s % 2); the scripted
  personas of :mod:`ila.demo.names` take slot 0 of their own birth year, so their numbers do not
  depend on the seed.
- **Enterprise numbers** ``0999.000.kCC`` for k = 1..4, ``CC`` the check digits stdnum accepts.
- **Names**: fictitious words per language ("Demo", "Voorbeeld", "Beispiel", "Sample"...) and the
  person's index as a suffix ("Voorbeeld 017").
- **Training records**: ``sender_record_id`` is ``DEMO-000001``, ``DEMO-000002``... (unique
  overall).

Check digits are found by :mod:`ila.identity.synthetic`, which asks python-stdnum.

The load is deterministic (``random.Random(seed)``), idempotent (nothing is added once a demo
employer exists) and atomic: everything goes through the services (identity, employment,
trainings), in one transaction, each service call in a savepoint of its own, so their validation
and commit discipline are exercised unchanged and a failure leaves nothing behind.

Employers stay in their size band for any seed: each has ``core`` full-time workers who never
leave, and never employs more workers than its band allows (see ``names.EMPLOYERS``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import cache

from sqlalchemy import select

from ila.bootstrap import Container
from ila.db.uow import SavepointUnitOfWork, UnitOfWork
from ila.demo.names import (
    BAKERY,
    BRUSSELS_TRAINING,
    CONSTRUCTION,
    CONSULTING,
    COURSES,
    EMPLOYERS,
    FAMILY_NAMES,
    FINANCING,
    GIVEN_NAMES,
    ILLNESS,
    LANGUAGE_WEIGHTS,
    OUTSIDE_WORK_COURSES,
    PERSONAS,
    PROVIDERS,
    REGIONS,
    SHOWCASE,
    SOFTWARE,
    Course,
    EmployerSpec,
    Job,
)
from ila.employment.domain import EndReason
from ila.employment.service import RegisterEmployment, declare_quarter, register_employment
from ila.identity.models import Employer
from ila.identity.service import register_employer, register_person
from ila.identity.synthetic import synthetic_enterprise_number, synthetic_niss
from ila.sources.employment import DeclaredEmployment, Sector
from ila.trainings.domain import (
    DurationUnit,
    Nature,
    NotCountingReason,
    Source,
    Status,
    TrainingData,
)
from ila.trainings.service import record_training

FIRST_QUARTER, LAST_QUARTER = (2020, 4), (2026, 3)
TRAINING_YEARS = (date(2022, 1, 1), date(2026, 12, 31))
PLANNED_AFTER = date(2026, 11, 30)  # trainings after this day are planned, earlier ones done
_FIRST_BIRTH_YEAR, _LAST_BIRTH_YEAR = 1960, 1999
_ONE = Decimal(1)


def national_number(birth_year: int, slot: int) -> str:
    """The demo national number of slot 0..23 of a birth year (see the module docstring)."""
    if not _FIRST_BIRTH_YEAR <= birth_year <= _LAST_BIRTH_YEAR or not 0 <= slot < 24:
        raise ValueError(f"no demo national number for {birth_year}/{slot}")
    body = f"{birth_year % 100:02d}{slot // 2 + 1:02d}01{997 + slot % 2}"
    return synthetic_niss(body)


def enterprise_number(k: int) -> str:
    """The demo enterprise number 0999.000.kCC (see the module docstring)."""
    body = f"0999000{k}"
    return synthetic_enterprise_number(body)


DEMO_EMPLOYER_BAKERY = enterprise_number(BAKERY.number)  # < 10 FTE, PC 118.03 (statutory)
DEMO_EMPLOYER_CONSULTING = enterprise_number(CONSULTING.number)  # 10-19 FTE, PC 200
DEMO_EMPLOYER_PC124 = enterprise_number(CONSTRUCTION.number)  # >= 20 FTE, PC 124
DEMO_EMPLOYER_PC200 = enterprise_number(SOFTWARE.number)  # >= 20 FTE, PC 200, ~80 workers
DEMO_ENTERPRISE_NUMBERS = tuple(enterprise_number(s.number) for s in EMPLOYERS)
PERSONA_NATIONAL_NUMBERS = tuple(national_number(p.birth_year, 0) for p in PERSONAS)
DEMO_WORKER_NISS = PERSONA_NATIONAL_NUMBERS[0]  # 80 %, hired 29 March 2024 by DEMO_EMPLOYER_PC200
DEMO_MULTI_EMPLOYER_NISS = PERSONA_NATIONAL_NUMBERS[1]  # half-time at the bakery and consultancy
DEMO_REHIRED_NISS = PERSONA_NATIONAL_NUMBERS[2]  # left DEMO_EMPLOYER_PC200 in 2024, back in 2025


@dataclass(frozen=True)
class DemoReport:
    """What a load added (all zero, ``already_loaded`` true, when the demo was already there)."""

    employers: int
    persons: int
    employments: int
    quarterly_declarations: int
    trainings: int
    already_loaded: bool = False


@dataclass(frozen=True, slots=True)
class PersonPlan:
    national_number: str
    given_name: str
    family_name: str
    language: str


@dataclass(frozen=True, slots=True)
class TrainingPlan:
    person: int
    employer: EmployerSpec | None
    source: Source
    sender: str
    data: TrainingData


@dataclass
class Plan:
    """The whole demo content as pure data; :func:`load_demo` writes it."""

    persons: list[PersonPlan] = field(default_factory=list)
    jobs: list[Job] = field(default_factory=list)
    trainings: list[TrainingPlan] = field(default_factory=list)


def _day(rng: random.Random, first: date, last: date) -> date:
    return first + timedelta(days=rng.randint(0, max((last - first).days, 0)))


def _add_years(day: date, years: int) -> date:
    return day.replace(year=day.year + years, day=min(day.day, 28))


class _Planner:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - synthetic data, not security
        self.plan = Plan()
        self.slots: dict[int, int] = {}

    def person(self, birth_year: int | None = None, language: str | None = None) -> int:
        rng, index = self.rng, len(self.plan.persons)
        year = birth_year or rng.randint(_FIRST_BIRTH_YEAR + 2, _LAST_BIRTH_YEAR - 1)
        while self.slots.get(year, 0) >= 24:  # this birth year is full: take the next one
            year = _FIRST_BIRTH_YEAR + (year + 1 - _FIRST_BIRTH_YEAR) % 40
        slot = self.slots[year] = self.slots.get(year, 0) + 1
        lang = language or rng.choices(list(LANGUAGE_WEIGHTS), list(LANGUAGE_WEIGHTS.values()))[0]
        self.plan.persons.append(
            PersonPlan(
                national_number(year, slot - 1),
                rng.choice(GIVEN_NAMES[lang]),
                f"{rng.choice(FAMILY_NAMES[lang])} {index:03d}",
                lang,
            )
        )
        return index

    def staff(self, spec: EmployerSpec) -> None:
        rng = self.rng
        core_by = min(spec.hired_by, max(spec.founded, date(2020, 9, 30)))
        leavers = set(rng.sample(range(spec.core, spec.initial), spec.departures))
        for n in range(spec.initial):
            if n < spec.core:  # full-time and staying: keeps the employer in its band
                start = _day(rng, spec.founded, core_by)
                self.plan.jobs.append(Job(self.person(), spec, start, ((start, _ONE),)))
            else:
                start = _day(rng, spec.founded, spec.hired_by)
                self.plan.jobs.append(self._job(spec, start, leaving=n in leavers))
        for _ in range(spec.later_hires):
            self.plan.jobs.append(
                self._job(spec, _day(rng, date(2022, 1, 3), date(2026, 9, 30)), leaving=False)
            )

    def _job(self, spec: EmployerSpec, start: date, *, leaving: bool) -> Job:
        rng, i = self.rng, self.person()
        fractions = [
            (
                start,
                rng.choices(
                    [_ONE, Decimal("0.8"), Decimal("0.5"), Decimal("0.6"), Decimal("0.9")],
                    weights=(70, 12, 9, 5, 4),
                )[0],
            )
        ]
        end, reason = None, None
        if leaving:
            end = _day(rng, max(start, date(2024, 1, 31)), date(2026, 10, 31))
            reason = rng.choice(list(EndReason))
        first, last = max(start, date(2022, 1, 1)), end or date(2026, 10, 31)
        if rng.random() < 0.15 and last > first + timedelta(days=60):
            change = _day(rng, first + timedelta(days=30), last)  # any day: often mid-month
            fractions.append(
                (
                    change,
                    rng.choice(
                        [f for f in (_ONE, Decimal("0.8"), Decimal("0.5")) if f != fractions[0][1]]
                    ),
                )
            )
        suspensions: tuple[tuple[date, date, str], ...] = ()
        if rng.random() < 0.08 and last > first + timedelta(days=150):
            s = _day(rng, first, last - timedelta(days=120))
            suspensions = ((s, s + timedelta(days=rng.randint(14, 110)), ILLNESS),)
        return Job(i, spec, start, tuple(fractions), end, reason, suspensions)

    def trainings(self) -> None:
        rng = self.rng
        for job in self.plan.jobs:
            first = max(job.start, TRAINING_YEARS[0])
            last = min(job.end or TRAINING_YEARS[1], TRAINING_YEARS[1])
            if last >= first:
                for _ in range(rng.choices(range(5), weights=(20, 30, 25, 15, 10))[0]):
                    self.plan.trainings.append(self._training(job, first, last))

    def _training(self, job: Job, first: date, last: date) -> TrainingPlan:
        rng = self.rng
        person = self.plan.persons[job.person]
        status = Status.FOLLOWED if rng.random() < 0.88 else Status.NOT_FOLLOWED
        if last > PLANNED_AFTER and rng.random() < 0.1:
            status, first = Status.PLANNED, PLANNED_AFTER + timedelta(days=1)
        else:
            last = min(last, PLANNED_AFTER)
        source = rng.choices(list(Source), weights=(55, 20, 12, 13))[0]
        employer: EmployerSpec | None = job.employer
        sender, provider, reason = enterprise_number(job.employer.number), None, None
        course = rng.choice(COURSES)
        if source is Source.PROVIDER:
            course = rng.choice([c for c in COURSES if c.nature is Nature.FORMAL_EXTERNAL])
            sender, provider = rng.choice(PROVIDERS)
        elif source is Source.REGION:
            course = rng.choice([c for c in COURSES if c.nature is Nature.FORMAL_EXTERNAL])
            sender, provider = (
                BRUSSELS_TRAINING
                if person.language == "fr" and rng.random() < 0.3
                else REGIONS[person.language]
            )
            if rng.random() < 0.5:  # training leave: the person's own, not the employer's
                employer = None
                reason = (
                    NotCountingReason.VOV
                    if sender == "VDAB"
                    else NotCountingReason.PAID_EDUCATIONAL_LEAVE
                )
        elif source is Source.PERSON:
            sender = person.national_number
            employer = None if rng.random() < 0.5 else job.employer
            if rng.random() < 0.4:
                course = Course(rng.choice(OUTSIDE_WORK_COURSES), Nature.INFORMAL)
                reason = NotCountingReason.OUTSIDE_PROFESSIONAL_CONTEXT
        elif course.nature is Nature.FORMAL_EXTERNAL:
            provider = rng.choice(PROVIDERS)[1]
        start = _day(rng, first, last)
        if employer is not None and rng.random() < 0.4:
            unit, value = DurationUnit.DAYS, rng.choice(("0.5", "1", "1", "2", "3"))
        else:
            unit, value = (
                DurationUnit.HOURS,
                rng.choice(("1.5", "2", "3.5", "4", "7.6", "8", "12", "16", "24", "40")),
            )
        span = max(1, -(-int(Decimal(value)) // (1 if unit is DurationUnit.DAYS else 8)))
        end = max(start, min(start + timedelta(days=span - 1), last))
        number = len(self.plan.trainings) + 1
        certified = course.certificate is not None and status is Status.FOLLOWED
        financing = rng.choice(FINANCING) if reason is None and rng.random() < 0.2 else None
        data = TrainingData(
            title=course.title,
            provider=provider,
            start_date=start,
            end_date=end,
            duration_value=Decimal(value),
            duration_unit=unit,
            nature=course.nature,
            status=status,
            counts_toward_right=reason is None,
            not_counting_reason=reason,
            certificate=f"{course.certificate} DEMO-C{number:06d}" if certified else None,
            certificate_valid_until=_add_years(end, course.valid_years)
            if certified and course.valid_years
            else None,
            financing=financing,
        )
        return TrainingPlan(job.person, employer, source, sender, data)


def build_plan(seed: int) -> Plan:
    """The whole demo dataset as pure data (no database); the same seed gives the same plan."""
    planner = _Planner(seed)
    for persona in PERSONAS:
        planner.person(persona.birth_year, persona.language)
        planner.plan.jobs.extend(persona.jobs)
    worker = PERSONAS[0].jobs[0]
    planner.plan.trainings.extend(
        TrainingPlan(
            worker.person,
            worker.employer if s.with_employer else None,
            s.source,
            s.sender or (DEMO_WORKER_NISS if s.source is Source.PERSON else DEMO_EMPLOYER_PC200),
            s.data,
        )
        for s in SHOWCASE
    )
    for spec in EMPLOYERS:
        planner.staff(spec)
    planner.trainings()
    return planner.plan


@cache
def declared_employments(seed: int = 2024) -> tuple[DeclaredEmployment, ...]:
    """The demo dataset's employments as the employment source declares them (private
    sector: every demo employer is a company), for the questions asked of that source about
    one person (the career-break flow). Built once per seed."""
    plan = build_plan(seed)
    return tuple(
        DeclaredEmployment(
            line_id=f"DEMO-E{n:05d}",
            enterprise_number=enterprise_number(job.employer.number),
            national_number=plan.persons[job.person].national_number,
            given_name=plan.persons[job.person].given_name,
            family_name=plan.persons[job.person].family_name,
            start_date=job.start,
            joint_committee=job.employer.joint_committee,
            fractions=job.fractions,
            end_date=job.end,
            end_reason=job.end_reason.value if job.end_reason else None,
            sector=Sector.PRIVATE,
        )
        for n, job in enumerate(plan.jobs, start=1)
    )


def quarters() -> list[tuple[int, int]]:
    """Every declared quarter, 2020 Q4 to 2026 Q3."""
    out, (y, q) = [], FIRST_QUARTER
    while (y, q) <= LAST_QUARTER:
        out.append((y, q))
        y, q = (y + 1, 1) if q == 4 else (y, q + 1)
    return out


def declared_fte(plan: Plan, spec: EmployerSpec, year: int, quarter: int) -> Decimal:
    """FTE on the last day of the quarter: the sum of the work fractions then in force."""
    day = date(year, 3 * quarter, 31 if quarter in (1, 4) else 30)
    return sum(
        (f for j in plan.jobs if j.employer is spec if (f := j.fraction_on(day)) is not None),
        Decimal(0),
    )


def _add_training(uow: UnitOfWork, plan: Plan, training: TrainingPlan, record_id: str) -> None:
    """Record one training through the trainings service (version 1, recorded by "demo")."""
    record_training(
        uow,
        actor="demo",
        source=training.source,
        sender=training.sender,
        sender_record_id=record_id,
        national_number=plan.persons[training.person].national_number,
        enterprise_number=enterprise_number(training.employer.number)
        if training.employer
        else None,
        data=training.data,
    )


def load_demo(container: Container, *, seed: int = 2024) -> DemoReport:
    """Load the demo dataset once, in one transaction; a second call adds nothing and says so."""
    with container.uow() as outer:
        session = outer.session
        if (
            session.scalar(
                select(Employer.id)
                .where(Employer.enterprise_number.in_(DEMO_ENTERPRISE_NUMBERS))
                .limit(1)
            )
            is not None
        ):
            return DemoReport(0, 0, 0, 0, 0, already_loaded=True)
        plan = build_plan(seed)
        uow = SavepointUnitOfWork(session)
        for spec in EMPLOYERS:
            register_employer(
                uow,
                enterprise_number=enterprise_number(spec.number),
                name=spec.name,
                full_time_day_minutes=spec.day_minutes,
            )
        for p in plan.persons:
            register_person(
                uow,
                national_number=p.national_number,
                given_name=p.given_name,
                family_name=p.family_name,
                language=p.language,
            )
        for job in plan.jobs:
            register_employment(
                uow,
                RegisterEmployment(
                    national_number=plan.persons[job.person].national_number,
                    enterprise_number=enterprise_number(job.employer.number),
                    start_date=job.start,
                    joint_committee=job.employer.joint_committee,
                    fractions=job.fractions,
                    end_date=job.end,
                    end_reason=job.end_reason.value if job.end_reason else None,
                    suspensions=job.suspensions,
                ),
            )
        for spec in EMPLOYERS:
            for year, quarter in quarters():
                fte = declared_fte(plan, spec, year, quarter)
                # no worker at the end of a quarter (the consultancy before it was founded):
                # a declaration without workers, which the headcount leaves out of its divisor
                declare_quarter(
                    uow,
                    enterprise_number=enterprise_number(spec.number),
                    year=year,
                    quarter=quarter,
                    fte=fte,
                    workers_declared=fte > 0,
                )
        for n, training in enumerate(plan.trainings, start=1):
            _add_training(uow, plan, training, f"DEMO-{n:06d}")
        outer.commit()
    return DemoReport(
        len(EMPLOYERS),
        len(plan.persons),
        len(plan.jobs),
        len(EMPLOYERS) * len(quarters()),
        len(plan.trainings),
    )

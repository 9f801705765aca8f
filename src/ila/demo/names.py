"""Static content of the demo dataset: employers, scripted personas, fictitious names, providers
and training titles.

Everything here is invented. Names are plainly fictitious words ("Demo", "Voorbeeld", "Beispiel"...)
so that no demo record can be mistaken for a real person.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from ila.employment.domain import EndReason
from ila.trainings.domain import (
    DurationUnit,
    Nature,
    NotCountingReason,
    Source,
    Status,
    TrainingData,
)


@dataclass(frozen=True, slots=True)
class EmployerSpec:
    """One demo employer and the shape of its staff.

    ``core`` workers are full-time and never leave: they keep the employer in its size band for
    any seed (see the module docstring of :mod:`ila.demo.generator`).
    """

    key: str
    number: int  # k in the enterprise number 0999.000.kCC
    name: str
    joint_committee: str
    day_minutes: int  # a training day = a normal full-time working day (rules 1.4)
    founded: date  # first possible hire of the random staff
    hired_by: date  # last possible hire of the initial staff
    initial: int  # random staff hired between founded and hired_by (core included)
    core: int
    later_hires: int  # random hires 2022-2026
    departures: int  # random departures 2024-2026 among the non-core staff


BAKERY = EmployerSpec(
    "bakery",
    1,
    "Demo Bakery SRL",
    "118.03",
    456,
    date(2012, 3, 1),
    date(2020, 9, 30),
    initial=5,
    core=2,
    later_hires=1,
    departures=1,
)
# founded 4 January 2021: 2020 Q4 is declared without workers, and its 2021 Q1-Q3 average (about
# 12.5 FTE) would fall below 10 if that quarter were wrongly counted in the divisor (rules 1.2)
CONSULTING = EmployerSpec(
    "consulting",
    2,
    "Exemple Conseil SRL",
    "200",
    468,
    date(2021, 1, 4),
    date(2021, 3, 31),
    initial=12,
    core=11,
    later_hires=3,
    departures=0,
)
CONSTRUCTION = EmployerSpec(
    "construction",
    3,
    "Voorbeeld Bouw NV",
    "124",
    480,
    date(2008, 2, 1),
    date(2021, 8, 31),
    initial=28,
    core=22,
    later_hires=4,
    departures=3,
)
SOFTWARE = EmployerSpec(
    "software",
    4,
    "Demo Software SA",
    "200",
    456,
    date(2005, 9, 1),
    date(2021, 8, 31),
    initial=70,
    core=45,
    later_hires=10,
    departures=6,
)
EMPLOYERS = (BAKERY, CONSULTING, CONSTRUCTION, SOFTWARE)

# given names and family names per language; the family name gets the person's index appended
GIVEN_NAMES = {
    "fr": ("Exemple", "Essai", "Fictif", "Démo", "Modèle"),
    "nl": ("Proef", "Voorbeeld", "Demo", "Test", "Fictief"),
    "de": ("Muster", "Beispiel", "Probe", "Demo"),
    "en": ("Sample", "Demo", "Test", "Example"),
}
FAMILY_NAMES = {
    "fr": ("Exemple", "Essai", "Spécimen", "Maquette"),
    "nl": ("Voorbeeld", "Proefpersoon", "Testmans", "Staal"),
    "de": ("Beispiel", "Mustermann", "Probemann"),
    "en": ("Sample", "Placeholder", "Example"),
}
LANGUAGE_WEIGHTS = {"fr": 38, "nl": 44, "de": 8, "en": 10}

# training providers: (sender id, display name)
PROVIDERS = (
    ("DEMO-PROV-ACADEMY", "Demo Academy ASBL"),
    ("DEMO-PROV-OPLEIDING", "Voorbeeld Opleidingen VZW"),
    ("DEMO-PROV-AKADEMIE", "Beispiel Akademie VoG"),
    ("DEMO-PROV-SAFETY", "Sample Safety Institute"),
)
# regional services by the worker's language: (sender, provider name)
REGIONS = {
    "nl": ("VDAB", "VDAB"),
    "fr": ("FOREM", "Le Forem"),
    "de": ("ADG", "Arbeitsamt der DG"),
    "en": ("ACTIRIS", "Actiris"),
}
BRUSSELS_TRAINING = ("BF", "Bruxelles Formation")

FINANCING = (
    "Sector training fund (demo)",
    "Training cheques (demo)",
    "Employer training budget",
    "Regional subsidy (demo)",
)


@dataclass(frozen=True, slots=True)
class Course:
    title: str
    nature: Nature
    certificate: str | None = None
    valid_years: int | None = None  # certificate validity; None = no expiry


COURSES = (
    Course("Onboarding: company tools and procedures", Nature.FORMAL_INTERNAL),
    Course("Internal security awareness", Nature.FORMAL_INTERNAL),
    Course("Product release training", Nature.FORMAL_INTERNAL),
    Course("Quality procedures refresher", Nature.FORMAL_INTERNAL),
    Course("Basic safety (demo VCA)", Nature.FORMAL_EXTERNAL, "Demo VCA basic certificate", 10),
    Course("First aid at work", Nature.FORMAL_EXTERNAL, "Demo first-aid certificate", 2),
    Course("Forklift operator", Nature.FORMAL_EXTERNAL, "Demo forklift licence", 5),
    Course("Cloud fundamentals", Nature.FORMAL_EXTERNAL, "Demo cloud certificate", 3),
    Course("Project management fundamentals", Nature.FORMAL_EXTERNAL),
    Course("Spreadsheet skills, advanced", Nature.FORMAL_EXTERNAL),
    Course("Dutch for the workplace", Nature.FORMAL_EXTERNAL, "Demo language certificate"),
    Course("French for the workplace", Nature.FORMAL_EXTERNAL, "Demo language certificate"),
    Course("Mentoring by a senior colleague", Nature.INFORMAL),
    Course("Self-study: industry standards", Nature.INFORMAL),
    Course("On-the-job induction", Nature.INFORMAL),
    Course("Coaching sessions", Nature.INFORMAL),
)
OUTSIDE_WORK_COURSES = ("Photography workshop", "Evening pottery class", "Guitar for beginners")


@dataclass(frozen=True, slots=True)
class Job:
    """One planned employment."""

    person: int  # index of the person in the plan
    employer: EmployerSpec
    start: date
    fractions: tuple[tuple[date, Decimal], ...]  # (valid from, work fraction)
    end: date | None = None
    end_reason: EndReason | None = None
    suspensions: tuple[tuple[date, date, str], ...] = ()

    def fraction_on(self, day: date) -> Decimal | None:
        """The work fraction in force on ``day``; None outside the employment."""
        if day < self.start or (self.end is not None and day > self.end):
            return None
        return [f for since, f in self.fractions if since <= day][-1]


@dataclass(frozen=True, slots=True)
class Persona:
    """A scripted person the documentation can cite; takes slot 0 of its birth year."""

    index: int
    birth_year: int
    language: str
    jobs: tuple[Job, ...]
    note: str


def _job(
    i: int,
    spec: EmployerSpec,
    start: date,
    *changes: tuple[date, str],
    end: date | None = None,
    reason: EndReason | None = None,
    susp: tuple[tuple[date, date, str], ...] = (),
    fraction: str = "1",
) -> Job:
    fractions = ((start, Decimal(fraction)), *((d, Decimal(f)) for d, f in changes))
    return Job(i, spec, start, fractions, end, reason, susp)


ILLNESS = "illness"
# every scripted person has its own birth year; together they cover every end reason
PERSONAS = (
    Persona(
        0,
        1988,
        "fr",
        (_job(0, SOFTWARE, date(2024, 3, 29), fraction="0.8"),),
        "part-timer (80 %) hired 29 March 2024 by the PC 200 employer of at least 20 FTE",
    ),
    Persona(
        1,
        1979,
        "nl",
        (
            _job(1, BAKERY, date(2019, 9, 2), fraction="0.5"),
            _job(1, CONSULTING, date(2022, 2, 1), fraction="0.5"),
        ),
        "works half-time for two employers at once",
    ),
    Persona(
        2,
        1993,
        "en",
        (
            _job(
                2,
                SOFTWARE,
                date(2021, 9, 1),
                end=date(2024, 6, 30),
                reason=EndReason.END_OF_CONTRACT,
            ),
            _job(2, SOFTWARE, date(2025, 1, 6)),
        ),
        "fixed-term contract ended 30 June 2024, re-hired 6 January 2025",
    ),
    Persona(
        3,
        1975,
        "nl",
        (_job(3, SOFTWARE, date(2016, 4, 1), (date(2024, 9, 16), "0.8")),),
        "full-time, 80 % from 16 September 2024 (mid-month change)",
    ),
    Persona(
        4,
        1984,
        "de",
        (_job(4, SOFTWARE, date(2020, 10, 1), (date(2025, 7, 1), "0.8"), fraction="0.5"),),
        "half-time, 80 % from 1 July 2025",
    ),
    Persona(
        5,
        1970,
        "fr",
        (
            _job(
                5,
                CONSTRUCTION,
                date(2015, 6, 1),
                susp=(
                    (date(2024, 2, 12), date(2024, 6, 30), ILLNESS),
                    (date(2025, 11, 3), date(2025, 11, 28), ILLNESS),
                ),
            ),
        ),
        "construction worker with two illness suspensions",
    ),
    Persona(
        6,
        1990,
        "nl",
        (_job(6, SOFTWARE, date(2019, 1, 7), end=date(2024, 5, 31), reason=EndReason.RESIGNATION),),
        "resigned 31 May 2024",
    ),
    Persona(
        7,
        1982,
        "fr",
        (
            _job(
                7,
                CONSTRUCTION,
                date(2020, 3, 2),
                end=date(2025, 2, 14),
                reason=EndReason.DISMISSAL_SERIOUS_CAUSE,
            ),
        ),
        "dismissed for serious cause 14 February 2025",
    ),
    Persona(
        8,
        1986,
        "nl",
        (_job(8, SOFTWARE, date(2017, 5, 2), end=date(2024, 11, 30), reason=EndReason.DISMISSAL),),
        "dismissed 30 November 2024",
    ),
    Persona(
        9,
        1977,
        "fr",
        (
            _job(
                9,
                CONSULTING,
                date(2021, 2, 1),
                end=date(2025, 12, 31),
                reason=EndReason.MUTUAL_AGREEMENT,
                fraction="0.8",
            ),
        ),
        "left by mutual agreement 31 December 2025",
    ),
    Persona(
        10,
        1960,
        "nl",
        (_job(10, SOFTWARE, date(1998, 9, 1), end=date(2025, 6, 30), reason=EndReason.RETIREMENT),),
        "retired 30 June 2025",
    ),
    Persona(
        11,
        1968,
        "de",
        (_job(11, CONSTRUCTION, date(2011, 4, 4), end=date(2024, 8, 13), reason=EndReason.DEATH),),
        "died 13 August 2024",
    ),
    Persona(
        12,
        1995,
        "en",
        (_job(12, SOFTWARE, date(2022, 6, 13), end=date(2026, 3, 31), reason=EndReason.OTHER),),
        "left 31 March 2026 (other reason)",
    ),
)


@dataclass(frozen=True, slots=True)
class Showcase:
    """A scripted training of the demo worker (persona 0). ``sender`` None: the default sender
    of the source (the employer's enterprise number, the person's national number)."""

    source: Source
    sender: str | None
    with_employer: bool
    data: TrainingData


def _t(
    title: str,
    provider: str | None,
    start: date,
    end: date,
    value: str,
    unit: DurationUnit,
    nature: Nature,
    status: Status = Status.FOLLOWED,
    reason: NotCountingReason | None = None,
    certificate: str | None = None,
    valid_until: date | None = None,
    financing: str | None = None,
) -> TrainingData:
    return TrainingData(
        title,
        provider,
        start,
        end,
        Decimal(value),
        unit,
        nature,
        status,
        reason is None,
        reason,
        certificate,
        valid_until,
        financing,
    )


_H, _D = DurationUnit.HOURS, DurationUnit.DAYS
# together these cover every source, nature, status and not-counting reason, whatever the seed
SHOWCASE = (
    Showcase(
        Source.EMPLOYER,
        None,
        True,
        _t(
            "Onboarding: company tools and procedures",
            None,
            date(2024, 4, 2),
            date(2024, 4, 2),
            "0.5",
            _D,
            Nature.FORMAL_INTERNAL,
        ),
    ),
    Showcase(
        Source.PROVIDER,
        "DEMO-PROV-SAFETY",
        True,
        _t(
            "First aid at work",
            "Sample Safety Institute",
            date(2024, 10, 7),
            date(2024, 10, 7),
            "7.6",
            _H,
            Nature.FORMAL_EXTERNAL,
            certificate="Demo first-aid certificate DEMO-C000002",
            valid_until=date(2026, 10, 7),
            financing="Sector training fund (demo)",
        ),
    ),
    Showcase(
        Source.EMPLOYER,
        None,
        True,
        _t(
            "Mentoring by a senior colleague",
            None,
            date(2025, 2, 3),
            date(2025, 3, 28),
            "12",
            _H,
            Nature.INFORMAL,
        ),
    ),
    Showcase(
        Source.PROVIDER,
        "DEMO-PROV-ACADEMY",
        True,
        _t(
            "Cloud fundamentals",
            "Demo Academy ASBL",
            date(2025, 6, 16),
            date(2025, 6, 16),
            "1",
            _D,
            Nature.FORMAL_EXTERNAL,
            Status.NOT_FOLLOWED,
        ),
    ),
    Showcase(
        Source.REGION,
        "VDAB",
        False,
        _t(
            "Dutch for the workplace",
            "VDAB",
            date(2025, 9, 15),
            date(2025, 12, 15),
            "60",
            _H,
            Nature.FORMAL_EXTERNAL,
            reason=NotCountingReason.VOV,
            certificate="Demo language certificate DEMO-C000005",
        ),
    ),
    Showcase(
        Source.PERSON,
        None,
        False,
        _t(
            "Photography workshop",
            None,
            date(2025, 11, 8),
            date(2025, 11, 8),
            "4",
            _H,
            Nature.INFORMAL,
            reason=NotCountingReason.OUTSIDE_PROFESSIONAL_CONTEXT,
        ),
    ),
    Showcase(
        Source.REGION,
        "BF",
        False,
        _t(
            "French for the workplace",
            "Bruxelles Formation",
            date(2026, 2, 2),
            date(2026, 5, 29),
            "40",
            _H,
            Nature.FORMAL_EXTERNAL,
            reason=NotCountingReason.PAID_EDUCATIONAL_LEAVE,
        ),
    ),
    Showcase(
        Source.PERSON,
        None,
        True,
        _t(
            "Self-study: industry standards",
            None,
            date(2026, 3, 2),
            date(2026, 3, 27),
            "10",
            _H,
            Nature.INFORMAL,
        ),
    ),
    Showcase(
        Source.PROVIDER,
        "DEMO-PROV-ACADEMY",
        True,
        _t(
            "Project management fundamentals",
            "Demo Academy ASBL",
            date(2026, 12, 7),
            date(2026, 12, 8),
            "2",
            _D,
            Nature.FORMAL_EXTERNAL,
            Status.PLANNED,
            financing="Employer training budget",
        ),
    ),
)

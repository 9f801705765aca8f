"""The dashboard's integer fold gives exactly the figures of the Fraction ledger fold, on
generated data (SQLite and PostgreSQL).

``reference_dashboard`` below is the dashboard as it was computed before the integer fold
(every worker's ledger folded with ``fold_ledger`` in ``Fraction``s, every amount formatted):
the new ``employer_dashboard`` must return the same document, for several years, as recorded
now and on an earlier date, and page by page in the same order."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from ila.accounts.service import days_view, employer_dashboard
from ila.bootstrap import Container
from ila.db.base import utcnow
from ila.db.versioning import as_recorded_on
from ila.employment.domain import EndReason
from ila.employment.models import Employment
from ila.identity.models import Employer, Person
from ila.identity.service import find_employer
from ila.rights.ledger import YearInput, fold_ledger
from ila.rights.models import RightVersion
from ila.rights.rules import RuleSet
from ila.rights.service import SetRight, compute_year, set_rights
from ila.trainings.domain import (
    DurationUnit,
    Nature,
    NotCountingReason,
    Source,
    Status,
    TrainingData,
)
from ila.trainings.models import Training, TrainingVersion
from ila.trainings.service import cancel_training, record_training
from tests import builders

AMOUNTS = ("entitlement", "carried_in", "used", "balance", "expiring")
ZERO = Fraction(0)


def _counting(as_of: datetime | None) -> Any:
    return and_(
        as_recorded_on(TrainingVersion, as_of),
        TrainingVersion.cancelled.is_(False),
        TrainingVersion.counts_toward_right.is_(True),
        TrainingVersion.status == Status.FOLLOWED.value,
    )


def reference_dashboard(
    s: Session, rules: RuleSet, employer_id: int, year: int, as_of: datetime | None
) -> dict[str, Any]:
    """The former computation, all workers in one page."""
    employer = s.get_one(Employer, employer_id)
    dm = employer.full_time_day_minutes
    first, _ = rules.window_for(year)
    workers: dict[int, tuple[Person, str]] = {}
    for person, jc in s.execute(
        select(Person, Employment.joint_committee)
        .join(Employment, Employment.person_id == Person.id)
        .where(
            Employment.employer_id == employer_id,
            Employment.start_date <= date(year, 12, 31),
            or_(Employment.end_date.is_(None), Employment.end_date >= date(year, 1, 1)),
        )
        .order_by(Employment.start_date, Employment.id)
    ):
        workers[person.id] = (person, jc)
    rights: dict[int, dict[int, Fraction]] = defaultdict(dict)
    for pid, y, computed, set_days in s.execute(
        select(
            RightVersion.person_id,
            RightVersion.year,
            RightVersion.computed_days,
            RightVersion.set_days,
        ).where(
            RightVersion.employer_id == employer_id,
            RightVersion.year.between(first, year),
            as_recorded_on(RightVersion, as_of),
        )
    ):
        effective = set_days if set_days is not None else computed
        rights[pid][y] = Fraction(effective) if effective is not None else ZERO
    used: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    quarters: dict[int, int] = defaultdict(int)
    for pid, end, minutes in s.execute(
        select(Training.person_id, TrainingVersion.end_date, TrainingVersion.duration_minutes)
        .join(Training, Training.id == TrainingVersion.training_id)
        .where(
            Training.employer_id == employer_id,
            TrainingVersion.end_date.between(date(first, 1, 1), date(year, 12, 31)),
            _counting(as_of),
        )
    ):
        used[pid][end.year] += minutes
        if end.year == year:
            quarters[(end.month - 1) // 3 + 1] += minutes
    ends: dict[int, dict[int, tuple[date, str | None]]] = defaultdict(dict)
    for pid, ended, reason in s.execute(
        select(Employment.person_id, Employment.end_date, Employment.end_reason)
        .where(
            Employment.employer_id == employer_id,
            Employment.end_date.between(date(first, 1, 1), date(year, 12, 31)),
        )
        .order_by(Employment.end_date)
    ):
        if ended is not None:
            ends[pid][ended.year] = (ended, reason)
    totals = dict.fromkeys(AMOUNTS, ZERO)
    by_jc: dict[str, dict[str, Any]] = {}
    rows, idle = [], []
    for pid, (person, jc) in sorted(workers.items(), key=lambda i: i[1][0].national_number):
        mine, spent, gone = rights.get(pid, {}), used.get(pid, {}), ends.get(pid, {})
        ledger = fold_ledger(
            rules,
            [
                YearInput(
                    year=y,
                    entitlement=mine.get(y, ZERO),
                    used=Fraction(spent.get(y, 0), dm),
                    employment_end=gone[y][0] if y in gone else None,
                    end_reason=EndReason(gone[y][1] or "") if y in gone and gone[y][1] else None,
                )
                for y in range(first, year + 1)
                if y in mine or y in spent
            ],
        )
        entry = next((e for e in ledger if e.year == year), None)
        amounts = {n: getattr(entry, n) if entry else ZERO for n in AMOUNTS}
        group = by_jc.setdefault(jc, {"workers": 0, **dict.fromkeys(AMOUNTS, ZERO)})
        group["workers"] += 1
        for name, value in amounts.items():
            totals[name] += value
            group[name] += value
        ref = {
            "national_number": person.national_number,
            "name": f"{person.given_name} {person.family_name}",
        }
        if amounts["used"] == 0:
            idle.append(ref)
        rows.append(
            {
                **ref,
                "joint_committee": jc,
                **{name: days_view(value, dm) for name, value in amounts.items()},
                "expires_on": entry.expires_on if entry else None,
                "departure": entry.departure.value if entry and entry.departure else None,
            }
        )
    return {
        "employer": {
            "enterprise_number": employer.enterprise_number,
            "name": employer.name,
            "full_time_day_minutes": dm,
        },
        "year": year,
        "as_of": as_of,
        "workers": len(workers),
        "totals": {name: days_view(value, dm) for name, value in totals.items()},
        "by_worker": rows,
        "by_worker_total": len(rows),
        "by_joint_committee": [
            {
                "joint_committee": jc,
                "workers": group["workers"],
                **{name: days_view(group[name], dm) for name in AMOUNTS},
            }
            for jc, group in sorted(by_jc.items())
        ],
        "used_per_quarter": [
            {"quarter": q, "used": days_view(Fraction(quarters.get(q, 0), dm), dm)}
            for q in (1, 2, 3, 4)
        ],
        "without_training": idle,
        "without_training_total": len(idle),
        "workers_offset": 0,
        "next_workers_offset": None,
    }


def _training(rng: random.Random, end: date) -> TrainingData:
    counts = rng.random() > 0.15
    unit = rng.choice(list(DurationUnit))
    choices = ["0.5", "1", "2.25", "1.3333"] if unit is DurationUnit.DAYS else ["1", "3.5", "7.6"]
    value = Decimal(rng.choice(choices))
    return TrainingData(
        title="Generated course",
        provider=None,
        start_date=end - timedelta(days=rng.randint(0, 3)),
        end_date=end,
        duration_value=value,
        duration_unit=unit,
        nature=Nature.FORMAL_INTERNAL,
        status=Status.FOLLOWED if rng.random() > 0.1 else Status.PLANNED,
        counts_toward_right=counts,
        not_counting_reason=None if counts else NotCountingReason.VOV,
    )


def generate(container: Container, seed: int = 5) -> tuple[str, datetime]:
    """An employer (8-hour days) with 26 workers over 2023-2026: hires, departures with every
    end reason, rehires in another committee, computed rights, rights set by hand with four
    decimals, trainings in days and hours (planned, not counting, one cancelled). Returns the
    enterprise number and a moment between the computation and the later changes."""
    rng = random.Random(seed)
    en = builders.employer(container, 51, day_minutes=480)
    reasons = [r.value for r in EndReason]
    people = [builders.person(container, 50 + n) for n in range(26)]
    for n, niss in enumerate(people):
        start = date(2023, 1, 1) + timedelta(days=rng.randint(0, 900))
        end = None
        if n % 3 == 0:
            end = start + timedelta(days=rng.randint(30, 700))
        jc = rng.choice(["226", "111", "200"])
        builders.employ(
            container,
            niss,
            en,
            start=start,
            end=end,
            fraction=rng.choice(["1", "0.5", "0.8"]),
            jc=jc,
            end_reason=reasons[n % len(reasons)] if end is not None and n % 4 else None,
        )
        if end is not None and end < date(2026, 6, 1) and n % 2:  # rehired in another committee
            builders.employ(container, niss, en, start=end + timedelta(days=20), jc="999")
    for year in (2023, 2024, 2025, 2026):
        compute_year(container, year)
    moment = utcnow()
    set_rights(
        container,
        enterprise_number=en,
        items=[
            SetRight(niss, year, rng.choice(["3.3333", "0.0001", "7.1234", "12"]), "agreement")
            for niss in people[::4]
            for year in (2024, 2025)
        ],
        actor="test",
    )
    recorded = []
    for n, niss in enumerate(people):
        for k in range(rng.randint(0, 4)):
            end = date(2023, 1, 1) + timedelta(days=rng.randint(0, 1400))
            recorded.append(
                record_training(
                    container.uow(),
                    actor="test",
                    source=Source.EMPLOYER,
                    sender=en,
                    sender_record_id=f"gen-{n}-{k}",
                    national_number=niss,
                    enterprise_number=en,
                    data=_training(rng, end),
                )
            )
    cancel_training(container.uow(), recorded[0].training_id, actor="test", reason="duplicate")
    return en, moment


def test_integer_fold_equals_the_fraction_fold_on_generated_data(container: Container) -> None:
    en, moment = generate(container)
    with container.uow() as uow:
        s = uow.session
        employer_id = find_employer(s, en).id
        seen_departures, seen_carry = set(), False
        for year in (2023, 2024, 2025, 2026):
            for as_of in (None, moment):
                new = employer_dashboard(
                    s, container.rules, employer_id, year, as_of=as_of, workers_limit=1000
                )
                old = reference_dashboard(s, container.rules, employer_id, year, as_of)
                assert new == old, (year, as_of)
                seen_departures |= {w["departure"] for w in new["by_worker"]}
                seen_carry |= any(w["carried_in"]["exact"] != "0" for w in new["by_worker"])
            # page by page: the same rows in the same order, both lists
            pages, idle, offset = [], [], 0
            while offset is not None:
                page = employer_dashboard(
                    s, container.rules, employer_id, year, workers_limit=7, workers_offset=offset
                )
                pages += page["by_worker"]
                idle += page["without_training"]
                offset = page["next_workers_offset"]
            full = employer_dashboard(s, container.rules, employer_id, year, workers_limit=1000)
            assert pages == full["by_worker"]
            assert idle == full["without_training"]
    # the data exercise what the fold must get right
    assert {"forfeited", "notice_or_indemnity", "lapses", None} <= seen_departures
    assert seen_carry

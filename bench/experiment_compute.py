"""Local experiment: what would make ``compute_year`` faster, measured change by change.

Not part of the product. It copies ``ila.rights.service.compute_year`` /
``compute_employer_year`` (and the read of ``ila.rights.repository._facts``) with switches for
each candidate change, runs every variant on the same PostgreSQL data (``right_versions``
emptied between runs) and checks that each variant stores exactly the rows of the current
service (same persons, days, regime and derivation, compared as ``jsonb``).

    .venv/bin/python bench/experiment_compute.py --workers 100000 --again
    .venv/bin/python bench/experiment_compute.py --reuse --variants service,all+nogc

A variant is ``service`` (the real ``compute_year``), ``base`` (this copy, no switch) or switches
joined by ``+`` (``all`` = every switch below). ``--again`` also times a second run on unchanged
data, ``--reuse`` keeps the loaded data, ``--database`` (default ``ila_bench_exp``) picks the
database. Diagnostic switches, not proposals: ``nogc`` (cyclic GC disabled during the run),
``noderiv`` (store no derivation: what writing it costs), ``stream`` (compute while streaming
into ``COPY``).

Switches (cumulative in the default list of variants):

- ``copy``: write the new versions with ``COPY right_versions FROM STDIN`` on the session's own
  connection instead of ``session.execute(insert(RightVersion), rows)`` (one INSERT per row in
  psycopg's pipeline), the derivation serialised once by the service;
- ``orjson``: serialise the derivation with ``orjson`` instead of the standard ``json``;
- ``memo``: per employer, memoise ``annual_right`` on what it depends on (joint committee, the
  employed part of the year and the work fractions clamped to it) and reuse the serialised
  derivation: most employments of an employer share their inputs (whole year at 100 %);
- ``lazy``: when a current version exists, compare its days and regime with a days-only
  computation (no derivation) first, and build the derivation only for what changed;
- ``facts``: read the facts with the driver's cursor (no SQLAlchemy row processing), with the
  ``Fraction`` of each distinct stored work fraction built once.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

import orjson
from sqlalchemy import Engine, insert, text, update
from sqlalchemy.orm import Session

import datagen
import rights_compute as rc
from ila.bootstrap import Container, bootstrap
from ila.config import Environment, Settings
from ila.db.base import utcnow
from ila.db.uow import make_engine
from ila.employment.domain import EmploymentFacts, EndReason, FractionPeriod
from ila.errors import DomainError
from ila.rights import engine
from ila.rights import repository as repo
from ila.rights.domain import Headcount, RightResult, fraction_str, to_storage
from ila.rights.engine import annual_right, two_year_period
from ila.rights.models import RightVersion
from ila.rights.rules import RuleSet
from ila.rights.service import (
    Computed,
    ComputeReport,
    _version_row,
    compute_person,
    compute_year,
    headcount_for,
)

COPY_COLUMNS = (
    "person_id",
    "employer_id",
    "year",
    "version",
    "operation",
    "recorded_at",
    "superseded_at",
    "recorded_by",
    "reason",
    "computed_days",
    "rule_version",
    "regime_id",
    "derivation",
    "set_days",
    "set_reason",
)
ALL = frozenset({"copy", "orjson", "memo", "facts", "lazy"})
# "stream" (not in "all"): needs copy+memo+lazy; see compute_employer_year_stream
DIAGNOSTIC = frozenset({"nogc", "noderiv", "stream"})


@dataclass(frozen=True)
class Options:
    copy: bool = False
    orjson: bool = False
    memo: bool = False
    facts: bool = False
    nogc: bool = False  # diagnostic: the cyclic GC frozen/disabled during the run
    lazy: bool = False
    stream: bool = False
    noderiv: bool = False  # diagnostic only: store no derivation (what writing it costs)

    @classmethod
    def parse(cls, spec: str) -> Options:
        names = frozenset(spec.split("+")) - {"base"}
        if "all" in names:
            names = (names - {"all"}) | ALL
        unknown = names - ALL - DIAGNOSTIC
        if unknown:
            raise SystemExit(f"unknown switches {sorted(unknown)}")
        return cls(**dict.fromkeys(names, True))


def dumps(value: Any, opts: Options) -> str:
    if opts.orjson:
        return orjson.dumps(value).decode()
    return json.dumps(value)


# ------------------------------------------------------------------------------ facts


_FRACTIONS: dict[Decimal, Fraction] = {}


def facts_raw(session: Session, employer_id: int, year: int) -> dict[int, list[EmploymentFacts]]:
    """``repository.employments_in_year`` with the driver's cursor (same rows, same order)."""
    first_day, last_day = date(year, 1, 1), date(year, 12, 31)
    cur = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    cur.execute(
        "SELECT e.id, e.person_id, e.start_date, e.end_date, e.joint_committee, e.end_reason,"
        " w.valid_from, w.fraction FROM employments e"
        " JOIN work_fractions w ON w.employment_id = e.id"
        " WHERE e.employer_id = %s AND e.start_date <= %s"
        " AND (e.end_date IS NULL OR e.end_date >= %s) ORDER BY e.id, w.valid_from",
        (employer_id, last_day, first_day),
    )
    by_employment: dict[
        int, tuple[int, date, date | None, str, str | None, list[FractionPeriod]]
    ] = {}
    fractions = _FRACTIONS
    for emp_id, pid, start, end, jc, reason, valid_from, stored in cur:
        entry = by_employment.get(emp_id)
        if entry is None:
            entry = by_employment[emp_id] = (pid, start, end, jc, reason, [])
        fraction = fractions.get(stored)
        if fraction is None:
            fraction = fractions[stored] = Fraction(stored)
        entry[5].append(FractionPeriod(valid_from if valid_from > start else start, fraction))
    result: dict[int, list[EmploymentFacts]] = defaultdict(list)
    for pid, start, end, jc, reason, fps in by_employment.values():
        result[pid].append(
            EmploymentFacts(start, end, jc, tuple(fps), EndReason(reason) if reason else None)
        )
    return result


# ------------------------------------------------------------------------------ memo


class Memo:
    """``annual_right`` memoised for one employer and year (same rules, same headcount).

    The key holds everything the result depends on: the joint committee, the employed part of
    the year (s..e), the work fractions with their start clamped to s, and the number of
    suspensions. Employments whose fractions are not strictly increasing or start after the
    employment are computed without the memo, so they fail exactly as before.
    """

    def __init__(self, rules: RuleSet, year: int, hc: Headcount, opts: Options) -> None:
        self.rules, self.year, self.hc, self.opts = rules, year, hc, opts
        self.first, self.last = date(year, 1, 1), date(year, 12, 31)
        self.cache: dict[tuple[Any, ...], tuple[RightResult, str]] = {}

    def right(self, f: EmploymentFacts) -> tuple[RightResult, str | None]:
        fps = f.fractions
        prev = fps[0].valid_from
        ok = prev <= f.start
        for fp in fps[1:]:
            ok = ok and fp.valid_from > prev
            prev = fp.valid_from
        if not ok:
            return annual_right(self.rules, self.year, f, self.hc), None
        s = f.start if f.start > self.first else self.first
        e = f.end if f.end is not None and f.end < self.last else self.last
        key = (
            f.joint_committee,
            s,
            e,
            len(f.suspensions),
            *((fp.valid_from if fp.valid_from > s else s, fp.fraction) for fp in fps),
        )
        hit = self.cache.get(key)
        if hit is None:
            result = annual_right(self.rules, self.year, f, self.hc)
            hit = self.cache[key] = (result, dumps(result.derivation, self.opts))
        return hit


def compute_person_memo(
    memo: Memo,
    rules: RuleSet,
    year: int,
    facts: Sequence[EmploymentFacts],
) -> tuple[Computed, str | None]:
    """``service.compute_person`` through the memo; also the derivation's JSON when known."""
    if len(facts) == 1:
        result, doc = memo.right(facts[0])
        return Computed(result.days, result.regime.id, result.derivation), doc
    if not facts:
        return compute_person(rules, year, facts, memo.hc), None
    results = [memo.right(f)[0] for f in facts]
    total = sum((r.days for r in results), Fraction(0))
    return Computed(
        total,
        results[-1].regime.id,
        {
            "rule_version": rules.version,
            "year": year,
            "employments": [r.derivation for r in results],
            "total": fraction_str(total),
            "total_days": f"{to_storage(total):.2f}",
        },
    ), None


# ------------------------------------------------------------------------------ lazy


def days_only(
    rules: RuleSet, year: int, facts: Sequence[EmploymentFacts], hc: Headcount
) -> tuple[Decimal, str | None]:
    """The stored days and regime of ``compute_person``, without building any derivation.

    The same arithmetic as ``engine.annual_right`` (its own ``_slices`` and ``_split_periods``);
    anything unusual (errors included) is left to the full computation by returning a value that
    never equals a stored one.
    """
    if not facts:
        return to_storage(Fraction(0)), None
    first, last = date(year, 1, 1), date(year, 12, 31)
    total, regime_id = Fraction(0), None
    try:
        for f in facts:
            regime = rules.regime_for(year, hc.band, f.joint_committee)
            regime_id, a = regime.id, regime.individual_days_per_year
            s = f.start if f.start > first else first
            e = f.end if f.end is not None and f.end < last else last
            if s > e:
                continue
            slices = engine._slices(f.fractions, f.start, s, e)
            if len(slices) == 1:
                months = (e.year - s.year) * 12 + e.month - s.month + 1
                total += a * slices[0][2] * months / 12
            else:
                total += sum((p.days for p in engine._split_periods(a, slices, s, e)), Fraction(0))
    except DomainError:
        return Decimal(-1), "error"
    if two_year_period(year) != hc.period_start:
        return Decimal(-1), "error"
    return to_storage(total), regime_id


# ------------------------------------------------------------------------------ service copy


def compute_employer_year(
    session: Session,
    rules: RuleSet,
    employer_id: int,
    year: int,
    report: ComputeReport,
    actor: str,
    opts: Options,
) -> None:
    if opts.stream:
        compute_employer_year_stream(session, rules, employer_id, year, report, actor, opts)
        return
    hc = headcount_for(session, rules, employer_id, year)
    facts = (
        facts_raw(session, employer_id, year)
        if opts.facts
        else repo.employments_in_year(session, employer_id, year)
    )
    current = repo.current_rights(session, employer_id, year)
    now = utcnow()
    memo = Memo(rules, year, hc, opts) if opts.memo else None
    rows: list[dict[str, Any]] = []
    docs: list[str | None] = []
    superseded: list[int] = []
    for person_id in facts.keys() | current.keys():
        prior = current.get(person_id)
        if (
            opts.lazy
            and prior is not None
            and prior.rule_version == rules.version
            and (prior.computed_days, prior.regime_id)
            == days_only(rules, year, facts.get(person_id, ()), hc)
        ):
            report.unchanged += 1
            continue
        if memo is not None:
            computed, doc = compute_person_memo(memo, rules, year, facts.get(person_id, ()))
        else:
            computed, doc = compute_person(rules, year, facts.get(person_id, ()), hc), None
        if prior is not None:
            if (
                prior.computed_days == to_storage(computed.days)
                and prior.rule_version == rules.version
                and prior.regime_id == computed.regime_id
            ):
                report.unchanged += 1
                continue
            superseded.append(prior.id)
            report.updated += 1
        else:
            report.created += 1
        rows.append(
            _version_row(
                person_id,
                employer_id,
                year,
                prior.version + 1 if prior else 1,
                computed,
                rules,
                prior,
                now,
                actor,
            )
        )
        docs.append(doc)
    for start in range(0, len(superseded), 1000):
        session.execute(
            update(RightVersion)
            .where(RightVersion.id.in_(superseded[start : start + 1000]))
            .values(superseded_at=now)
        )
    if not rows:
        return
    if opts.copy and session.bind is not None and session.bind.dialect.name == "postgresql":
        copy_rows(session, rows, docs, opts)
    else:
        session.execute(insert(RightVersion), rows)


def compute_employer_year_stream(
    session: Session,
    rules: RuleSet,
    employer_id: int,
    year: int,
    report: ComputeReport,
    actor: str,
    opts: Options,
) -> None:
    """Classify with ``days_only`` first (no derivation), supersede, then compute the
    derivations while streaming them into ``COPY``: the server ingests while Python computes."""
    hc = headcount_for(session, rules, employer_id, year)
    facts = facts_raw(session, employer_id, year)
    current = repo.current_rights(session, employer_id, year)
    now = utcnow()
    memo = Memo(rules, year, hc, opts)
    todo: list[int] = []
    superseded: list[int] = []
    for person_id in facts.keys() | current.keys():
        prior = current.get(person_id)
        if prior is None:
            report.created += 1
        elif prior.rule_version == rules.version and (
            prior.computed_days,
            prior.regime_id,
        ) == days_only(rules, year, facts.get(person_id, ()), hc):
            report.unchanged += 1
            continue
        else:
            superseded.append(prior.id)
            report.updated += 1
        todo.append(person_id)
    for start in range(0, len(superseded), 1000):
        session.execute(
            update(RightVersion)
            .where(RightVersion.id.in_(superseded[start : start + 1000]))
            .values(superseded_at=now)
        )
    if not todo:
        return
    reason = f"computed with rules {rules.version}"
    cur = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cur.copy(f"COPY right_versions ({', '.join(COPY_COLUMNS)}) FROM STDIN") as copy:
        for person_id in todo:
            computed, doc = compute_person_memo(memo, rules, year, facts.get(person_id, ()))
            prior = current.get(person_id)
            copy.write_row(
                (
                    person_id,
                    employer_id,
                    year,
                    prior.version + 1 if prior else 1,
                    "compute",
                    now,
                    None,
                    actor,
                    reason,
                    to_storage(computed.days),
                    rules.version,
                    computed.regime_id,
                    doc if doc is not None else dumps(computed.derivation, opts),
                    prior.set_days if prior else None,
                    prior.set_reason if prior else None,
                )
            )


def copy_rows(
    session: Session, rows: list[dict[str, Any]], docs: list[str | None], opts: Options
) -> None:
    """``COPY right_versions`` on the session's connection, inside its transaction."""
    cur = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cur.copy(f"COPY right_versions ({', '.join(COPY_COLUMNS)}) FROM STDIN") as copy:
        for row, doc in zip(rows, docs, strict=True):
            copy.write_row(
                (
                    row["person_id"],
                    row["employer_id"],
                    row["year"],
                    row["version"],
                    row["operation"],
                    row["recorded_at"],
                    None,
                    row["recorded_by"],
                    row["reason"],
                    row["computed_days"],
                    row["rule_version"],
                    row["regime_id"],
                    None
                    if opts.noderiv
                    else doc
                    if doc is not None
                    else dumps(row["derivation"], opts),
                    row["set_days"],
                    row["set_reason"],
                )
            )


def compute_year_variant(
    container: Container, year: int, opts: Options, actor: str = "system:rights-compute"
) -> ComputeReport:
    report = ComputeReport(year)
    started = time.perf_counter()
    with container.uow() as uow:
        ids = repo.employer_ids(uow.session)
    if opts.nogc:
        gc.collect()
        gc.freeze()
        gc.disable()
    try:
        _employers(container, year, opts, actor, report, ids)
    finally:
        if opts.nogc:
            gc.enable()
            gc.unfreeze()
    report.seconds = time.perf_counter() - started
    return report


def _employers(
    container: Container,
    year: int,
    opts: Options,
    actor: str,
    report: ComputeReport,
    ids: list[int],
) -> None:
    for done, employer_id in enumerate(ids, start=1):
        with container.uow() as uow:
            try:
                compute_employer_year(
                    uow.session, container.rules, employer_id, year, report, actor, opts
                )
                uow.commit()
            except DomainError as exc:
                report.errors.append(f"employer {employer_id}: {exc}")
        report.employers = done


# ------------------------------------------------------------------------------ driver


FINGERPRINT = """
SELECT count(*), md5(string_agg(md5(
    concat_ws('|', person_id, employer_id, year, version, operation, computed_days, rule_version,
              regime_id, derivation::text, set_days, set_reason, superseded_at IS NULL)),
    ',' ORDER BY person_id, employer_id, year, version))
FROM right_versions
"""


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def fingerprint(engine: Engine) -> tuple[int, str]:
    with engine.connect() as conn:
        count, digest = conn.execute(text(FINGERPRINT)).one()
    return int(count), str(digest)


def empty_rights(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE right_versions RESTART IDENTITY"))
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(
            text("VACUUM ANALYZE right_versions")
        )


def main() -> None:
    parser = argparse.ArgumentParser(description="compute_year variants, measured")
    parser.add_argument("--workers", type=int, default=100_000)
    parser.add_argument("--year", type=int, default=datagen.YEAR)
    parser.add_argument(
        "--variants",
        default="service,base,copy,copy+orjson,copy+orjson+memo,all",
        help="comma-separated; 'service' is ila.rights.service.compute_year, "
        "'base' its copy here with no switch, 'all' every switch",
    )
    parser.add_argument("--database", default="ila_bench_exp")
    parser.add_argument("--reuse", action="store_true", help="keep the data already loaded")
    parser.add_argument(
        "--again", action="store_true", help="also time a second run on unchanged data per variant"
    )
    args = parser.parse_args()
    url = rc.pg_url(args.database)
    if args.reuse:
        engine = make_engine(url)
    else:
        engine = rc.prepare_postgresql(args.database)
        counts = datagen.load_postgresql(
            url.replace("+psycopg", ""), datagen.Generator(args.workers, year=args.year)
        )
        print(f"data: {counts}", file=sys.stderr)
    container = bootstrap(Settings(environment=Environment.DEVELOPMENT, database_url=url))
    print(
        "| variant | first run | worker-years/s | Python CPU | peak RSS (growth) "
        "| second run (unchanged) | stored rows |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
    reference: tuple[int, str] | None = None
    for name in args.variants.split(","):
        empty_rights(engine)
        opts = None if name == "service" else Options.parse(name)

        def run(opts: Options | None = opts) -> ComputeReport:
            if opts is None:
                return compute_year(container, args.year)
            return compute_year_variant(container, args.year, opts)

        started, cpu = time.perf_counter(), cpu_seconds()
        with rc.PeakRss() as rss:
            report = run()
        wall, cpu = time.perf_counter() - started, cpu_seconds() - cpu
        again = ""
        if args.again:
            started = time.perf_counter()
            second = run()
            again = f"{time.perf_counter() - started:,.1f} s ({second.unchanged:,} unchanged)"
        found = fingerprint(engine)
        reference = reference or found
        same = (
            "same as first variant"
            if found == reference
            else "no derivation (diagnostic)"
            if "noderiv" in name
            else f"DIFFERENT {found}"
        )
        assert not report.errors, report.errors[:3]
        print(
            f"| {name} | {wall:,.1f} s | {report.worker_years / wall:,.0f} | {cpu:,.1f} s "
            f"| {rc.mib(rss.peak)} (+{rc.mib(rss.peak - rss.start)}) | {again} "
            f"| {found[0]:,}, {same} |",
            flush=True,
        )
    container.close()
    engine.dispose()


if __name__ == "__main__":
    main()

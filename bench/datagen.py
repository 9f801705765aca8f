"""Synthetic data at scale for the rights benchmarks, written straight into the tables.

Not the services: PostgreSQL gets ``COPY ... FROM STDIN`` through psycopg 3 (``cursor.copy``),
SQLite gets ``executemany`` in one transaction. The schema must already exist (Alembic
``upgrade``). Everything comes from one ``random.Random(seed)``: the same arguments give the same
rows, byte for byte.

What is generated for a measured ``year`` (default 2025, two-year period 2024-2025, so the
reference quarters of the headcount are 2022 Q4 and 2023 Q1-Q3):

- employers in size bands: about 35 % under 10 FTE, 25 % of 10-19 FTE, the rest at least 20 FTE
  with a few very large ones (0.5 % of the employers hold about 40 % of the workers); each has a
  main joint committee (200: 45 %, 124: 15 %, others: 40 %);
- quarterly FTE declarations 2022 Q4 - 2024 Q4 (``workers_declared`` false for one quarter at
  2 % of the employers, no declaration at all at 1 %: the fallback path of the headcount);
- ``workers`` worker-years (distinct person x employer pairs employed during ``year``): 66 %
  full year, 12 % hired during the year, 12 % leaving during the year with an end reason (5 %
  of them without one), 5 % fixed-term inside the year, 3 % ending after the year, 2 % with two
  employments at the same employer in the year (a fixed-term contract then a rehire); 4 % of
  the persons also work for another employer;
- one work-fraction row per employment, plus a second one during the year for 20 % of them;
- 5 % of the pairs also have an older employment ended before the year (read by nobody: it
  makes the date filter of both the floor and the service do its job);
- persons with fake BIS numbers: the month is ``40 + birth month`` (BIS, gender unknown), the
  birth date lies in 1950-1999 and the last two digits are the mod-97 check
  ``97 - (first 9 digits mod 97)``, so every number passes ``stdnum.be.bis.is_valid``; the names
  ("Bench", "Worker 0000042") say they are synthetic.
"""

from __future__ import annotations

import argparse
import io
import math
import random
import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import psycopg

YEAR = 2025
CREATED_AT = "2025-01-01 00:00:00+00"
CREATED_AT_SQLITE = "2025-01-01 00:00:00.000000"

JC_OTHERS = ("111", "118", "140.03", "149.01", "201", "220", "226", "302", "311", "330")
FRACTIONS = ("1.000000", "0.800000", "0.500000", "0.750000", "0.600000", "0.900000")
FRACTION_WEIGHTS = (60, 15, 12, 6, 4, 3)
END_REASONS = (
    "resignation",
    "dismissal",
    "dismissal_serious_cause",
    "end_of_contract",
    "mutual_agreement",
    "retirement",
    "death",
    "other",
)
END_REASON_WEIGHTS = (40, 20, 3, 20, 8, 6, 1, 2)

TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "employers": ("id", "enterprise_number", "name", "full_time_day_minutes", "created_at"),
    "quarterly_fte": (
        "id",
        "employer_id",
        "year",
        "quarter",
        "fte",
        "workers_declared",
        "recorded_at",
    ),
    "persons": (
        "id",
        "national_number",
        "number_kind",
        "given_name",
        "family_name",
        "birth_date",
        "language",
        "created_at",
    ),
    "employments": (
        "id",
        "person_id",
        "employer_id",
        "start_date",
        "end_date",
        "joint_committee",
        "end_reason",
        "created_at",
    ),
    "work_fractions": ("id", "employment_id", "valid_from", "fraction"),
}


@dataclass
class Counts:
    employers: int = 0
    quarterly_fte: int = 0
    persons: int = 0
    employments: int = 0
    work_fractions: int = 0
    worker_years: int = 0
    bands: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def enterprise_number(i: int) -> str:
    """10 digits starting with 0, the last two the mod-97 check (``stdnum.be.vat``)."""
    head = f"08{i:06d}"
    return f"{head}{97 - int(head) % 97:02d}"


_BIS_EPOCH = date(1950, 1, 1).toordinal()
_BIS_DAYS = date(1999, 12, 31).toordinal() - _BIS_EPOCH + 1


def bis_number(i: int) -> tuple[str, str]:
    """A unique fake BIS number for person ``i`` (0-based) and the birth date it encodes."""
    born = date.fromordinal(_BIS_EPOCH + i % _BIS_DAYS)
    serial = i // _BIS_DAYS + 1  # 1..997: up to 18 million distinct numbers
    head = f"{born.year % 100:02d}{born.month + 40:02d}{born.day:02d}{serial:03d}"
    return f"{head}{97 - int(head) % 97:02d}", born.isoformat()


def employer_sizes(rng: random.Random, workers: int, employers: int) -> list[tuple[str, int]]:
    """(band, number of worker-years) per employer; the sizes add up to ``workers``."""
    n_small = round(employers * 0.35)
    n_mid = round(employers * 0.25)
    n_huge = max(1, employers // 200)
    n_large = max(1, employers - n_small - n_mid - n_huge)
    small = [rng.randint(1, 9) for _ in range(n_small)]
    mid = [rng.randint(10, 22) for _ in range(n_mid)]
    rest = workers - sum(small) - sum(mid)
    if rest < 20 * (n_large + n_huge):
        raise ValueError(f"{workers} workers are too few for {employers} employers")
    huge_share = round(rest * 0.4) if n_huge else 0
    raw = [math.exp(rng.uniform(math.log(20), math.log(3000))) for _ in range(n_large)]
    scale = (rest - huge_share - 20 * n_large) / sum(raw)
    large = [20 + int(r * scale) for r in raw]
    huge_total = rest - sum(large)
    weights = [rng.uniform(0.7, 1.3) for _ in range(n_huge)]
    huge = [int(huge_total * w / sum(weights)) for w in weights]
    huge[-1] += huge_total - sum(huge)
    sizes = (
        [("lt10", s) for s in small]
        + [("10to19", s) for s in mid]
        + [("ge20", s) for s in large]
        + [("ge20", s) for s in huge]
    )
    rng.shuffle(sizes)
    return sizes


def _day(rng: random.Random, first: date, last: date) -> date:
    return date.fromordinal(rng.randint(first.toordinal(), last.toordinal()))


class Generator:
    """Yields the rows of each table as tuples of Python values (dates as ISO strings)."""

    def __init__(
        self, workers: int, *, employers: int | None = None, seed: int = 20250101, year: int = YEAR
    ) -> None:
        self.workers = workers
        self.employers = employers or max(20, min(2000, workers // 500))
        self.year = year
        self.rng = random.Random(seed)
        self.sizes = employer_sizes(self.rng, workers, self.employers)
        self.counts = Counts(employers=len(self.sizes), worker_years=workers)
        self._rng = self.rng
        self._employment_id = self._fraction_id = 0
        for band, _ in self.sizes:
            self.counts.bands[band] = self.counts.bands.get(band, 0) + 1

    def employer_rows(self) -> Iterator[tuple[Any, ...]]:
        for i, (band, size) in enumerate(self.sizes, start=1):
            yield (
                i,
                enterprise_number(i),
                f"Bench employer {i:05d} ({band}, {size} workers)",
                456,
                CREATED_AT,
            )

    def quarterly_rows(self) -> Iterator[tuple[Any, ...]]:
        rng = random.Random(self.rng.random())
        quarters = [
            (self.year - 3, 4),
            *((self.year - 2, q) for q in (1, 2, 3, 4)),
            *((self.year - 1, q) for q in (1, 2, 3, 4)),
        ]
        row_id = 0
        for employer_id, (band, size) in enumerate(self.sizes, start=1):
            if rng.random() < 0.01:
                continue  # nothing declared: the headcount falls back to the employments
            low, high = {"lt10": (1.0, 9.5), "10to19": (10.0, 19.5)}.get(band, (20.0, 10.0**9))
            base = min(max(size * rng.uniform(0.75, 0.95), low), high)
            undeclared = quarters[rng.randint(0, 3)] if rng.random() < 0.02 else None
            for y, q in quarters:
                fte = min(max(base * rng.uniform(0.97, 1.03), low), high)
                row_id += 1
                yield (row_id, employer_id, y, q, f"{fte:.2f}", (y, q) != undeclared, CREATED_AT)
        self.counts.quarterly_fte = row_id

    def person_and_employment_rows(self) -> Iterator[tuple[str, tuple[Any, ...]]]:
        """("persons" | "employments" | "work_fractions", row), persons before their use."""
        rng = self._rng = random.Random(self.rng.random())
        person_id = self._employment_id = self._fraction_id = 0
        for employer_id, (_, size) in enumerate(self.sizes, start=1):
            r = rng.random()
            main_jc = "200" if r < 0.45 else "124" if r < 0.60 else rng.choice(JC_OTHERS)
            first_person_here = person_id + 1
            reused: set[int] = set()
            for _ in range(size):
                pid = 0
                if first_person_here > 1 and rng.random() < 0.04:
                    pid = rng.randint(1, first_person_here - 1)  # works elsewhere too
                    if pid in reused:
                        pid = 0
                    reused.add(pid)
                if not pid:
                    person_id += 1
                    pid = person_id
                    number, born = bis_number(pid - 1)
                    yield (
                        "persons",
                        (
                            pid,
                            number,
                            "bis",
                            "Bench",
                            f"Worker {pid:07d}",
                            born,
                            "fr" if pid % 3 else "nl",
                            CREATED_AT,
                        ),
                    )
                jc = main_jc if rng.random() < 0.8 else rng.choice(("200", "124", *JC_OTHERS))
                yield from self._worker_year(pid, employer_id, jc)
        self.counts.persons = person_id
        self.counts.employments = self._employment_id
        self.counts.work_fractions = self._fraction_id

    def _worker_year(
        self, pid: int, employer_id: int, jc: str
    ) -> Iterator[tuple[str, tuple[Any, ...]]]:
        """The employments of one person x employer pair overlapping the year."""
        rng, y = self._rng, self.year
        jan1, dec31 = date(y, 1, 1), date(y, 12, 31)
        second = rng.random() < 0.2
        if rng.random() < 0.05:  # an older employment, ended before the year
            old_start = _day(rng, date(y - 15, 1, 1), date(y - 3, 12, 31))
            yield from self._employment(
                pid,
                employer_id,
                old_start,
                _day(rng, old_start, date(y - 2, 6, 30)),
                jc,
                "end_of_contract",
                second=False,
            )
        k = rng.random()
        if k < 0.66:  # the whole year
            start, end, reason = _day(rng, date(y - 25, 1, 1), date(y - 1, 12, 31)), None, None
        elif k < 0.78:  # hired during the year
            start, end, reason = _day(rng, jan1, dec31), None, None
        elif k < 0.90:  # leaves during the year
            reason = (
                None if rng.random() < 0.05 else rng.choices(END_REASONS, END_REASON_WEIGHTS)[0]
            )
            start = _day(rng, date(y - 20, 1, 1), date(y - 1, 12, 31))
            end = _day(rng, jan1, dec31)
        elif k < 0.95:  # fixed term inside the year
            start = _day(rng, jan1, date(y, 11, 30))
            end, reason = _day(rng, start, dec31), "end_of_contract"
        elif k < 0.98:  # ends after the year
            start = _day(rng, date(y - 5, 1, 1), dec31)
            end = _day(rng, date(y + 1, 1, 1), date(y + 2, 12, 31))
            reason = "end_of_contract"
        else:  # two employments in the year: fixed term, then a rehire
            first_end = _day(rng, date(y, 2, 1), date(y, 6, 30))
            yield from self._employment(
                pid,
                employer_id,
                _day(rng, date(y - 1, 6, 1), first_end),
                first_end,
                jc,
                "end_of_contract",
                second=False,
            )
            start, end, reason = _day(rng, date(y, 7, 1), dec31), None, None
        yield from self._employment(pid, employer_id, start, end, jc, reason, second=second)

    def _employment(
        self,
        pid: int,
        employer_id: int,
        start: date,
        end: date | None,
        jc: str,
        reason: str | None,
        *,
        second: bool,
    ) -> Iterator[tuple[str, tuple[Any, ...]]]:
        rng = self._rng
        self._employment_id += 1
        emp_id = self._employment_id
        yield (
            "employments",
            (
                emp_id,
                pid,
                employer_id,
                start.isoformat(),
                None if end is None else end.isoformat(),
                jc,
                reason,
                CREATED_AT,
            ),
        )
        fraction = rng.choices(FRACTIONS, FRACTION_WEIGHTS)[0]
        self._fraction_id += 1
        yield "work_fractions", (self._fraction_id, emp_id, start.isoformat(), fraction)
        if not second:
            return
        dec31 = date(self.year, 12, 31)
        lo = max(start, date(self.year, 1, 1)).toordinal() + 1
        hi = (dec31 if end is None or end > dec31 else end).toordinal()
        if hi - lo < 2:
            return
        other = rng.choice([f for f in FRACTIONS if f != fraction])
        self._fraction_id += 1
        yield (
            "work_fractions",
            (self._fraction_id, emp_id, date.fromordinal(rng.randint(lo, hi)).isoformat(), other),
        )


# ------------------------------------------------------------------------------ PostgreSQL


def _pg_text(value: Any) -> str:
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    return str(value)


class _PgCopies:
    """Open ``COPY`` streams on three connections, one per table fed at the same time."""

    def __init__(self, url: str, tables: Sequence[str], chunk: int = 1 << 20) -> None:
        self.url, self.tables, self.chunk = url, tables, chunk

    def run(self, rows: Iterator[tuple[str, tuple[Any, ...]]]) -> None:
        conns = {t: psycopg.connect(self.url, autocommit=False) for t in self.tables}
        try:
            buffers = {t: io.StringIO() for t in self.tables}
            copies = {}
            for t, conn in conns.items():
                conn.execute("SET session_replication_role = replica")  # no FK triggers
                cols = ", ".join(TABLE_COLUMNS[t])
                cm = conn.cursor().copy(f"COPY {t} ({cols}) FROM STDIN")
                copies[t] = (cm, cm.__enter__())
            for table, row in rows:
                buf = buffers[table]
                buf.write("\t".join(map(_pg_text, row)))
                buf.write("\n")
                if buf.tell() > self.chunk:
                    copies[table][1].write(buf.getvalue())
                    buffers[table] = io.StringIO()
            for t, (cm, copy) in copies.items():
                copy.write(buffers[t].getvalue())
                cm.__exit__(None, None, None)
            # commit in FK order so a reader never sees a dangling reference
            for t in self.tables:
                conns[t].commit()
        finally:
            for conn in conns.values():
                conn.close()


def load_postgresql(url: str, gen: Generator) -> Counts:
    """COPY the generated rows into an empty, migrated PostgreSQL schema (psycopg URL)."""
    started = time.perf_counter()
    _PgCopies(url, ["employers"]).run(("employers", r) for r in gen.employer_rows())
    _PgCopies(url, ["quarterly_fte"]).run(("quarterly_fte", r) for r in gen.quarterly_rows())
    _PgCopies(url, ["persons", "employments", "work_fractions"]).run(
        gen.person_and_employment_rows()
    )
    with psycopg.connect(url, autocommit=True) as conn:
        for t in TABLE_COLUMNS:
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), "
                f"(SELECT coalesce(max(id), 0) + 1 FROM {t}), false)"
            )
        conn.execute("VACUUM ANALYZE")
    gen.counts.seconds = time.perf_counter() - started
    return gen.counts


# ------------------------------------------------------------------------------ SQLite


def _sqlite_value(value: Any) -> Any:
    if value is True:
        return 1
    if value is False:
        return 0
    if value == CREATED_AT:
        return CREATED_AT_SQLITE
    return value


def load_sqlite(path: str, gen: Generator, batch: int = 20_000) -> Counts:
    """Insert the generated rows into an empty, migrated SQLite file."""
    started = time.perf_counter()
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA foreign_keys=OFF")
        conn.execute("BEGIN")
        sql = {
            t: f"INSERT INTO {t} ({', '.join(c)}) VALUES ({', '.join('?' * len(c))})"
            for t, c in TABLE_COLUMNS.items()
        }
        pending: dict[str, list[tuple[Any, ...]]] = {t: [] for t in TABLE_COLUMNS}

        def rows() -> Iterator[tuple[str, tuple[Any, ...]]]:
            yield from (("employers", r) for r in gen.employer_rows())
            yield from (("quarterly_fte", r) for r in gen.quarterly_rows())
            yield from gen.person_and_employment_rows()

        for table, row in rows():
            bucket = pending[table]
            bucket.append(tuple(map(_sqlite_value, row)))
            if len(bucket) >= batch:
                conn.executemany(sql[table], bucket)
                bucket.clear()
        for table, bucket in pending.items():
            conn.executemany(sql[table], bucket)
        conn.execute("COMMIT")
        conn.execute("ANALYZE")
    finally:
        conn.close()
    gen.counts.seconds = time.perf_counter() - started
    return gen.counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=20250101)
    parser.add_argument(
        "--pg-url",
        default="postgresql://postgres@127.0.0.1:5432/ila_bench",
        help="an existing, migrated and empty database",
    )
    args = parser.parse_args()
    counts = load_postgresql(args.pg_url, Generator(args.workers, seed=args.seed))
    print(counts)


if __name__ == "__main__":
    main()

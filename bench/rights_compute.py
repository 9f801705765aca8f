"""Benchmark of ``rights compute``: ``compute_year`` for N worker-years next to its SQL floor.

    .venv/bin/python bench/rights_compute.py --workers 1000000 --db postgresql
    .venv/bin/python bench/rights_compute.py --db sqlite            # 100,000 worker-years
    .venv/bin/python bench/rights_compute.py --workers 20000 --no-docs   # smoke run, seconds

In one run: (re)build the data (``bench/datagen.py``: the schema is dropped and migrated again,
the rows are copied in), then measure

1. the floor: one plain SQL aggregate that reads the same inputs once (the employments
   overlapping the year joined with their work fractions and the employer's reference-quarter
   FTE), its one result row fetched to the client — best of three;
2. for information, the same join streamed to the client as rows (what any Python consumer of
   these inputs pays before computing anything);
3. ``ila.rights.service.compute_year`` end to end on empty rights (every worker-year is a new
   version): wall time, worker-years/s, peak RSS of this process and its growth during the run;
4. ``compute_year`` again on unchanged data (the idempotent path: no row written).

The figures are printed as a Markdown table and written into ``docs/benchmarks.md`` between the
markers of the backend (``--no-docs`` to leave the file alone). PostgreSQL uses its own database
``ila_bench`` (created from the ``postgres`` database when missing), never the test database.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import Engine, text

import datagen
from ila.bootstrap import Container, bootstrap
from ila.config import Environment, Settings
from ila.db.migrate import upgrade
from ila.db.uow import make_engine
from ila.rights.service import ComputeReport, compute_year

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "benchmarks.md"
PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
PG_DATABASE = "ila_bench"

FLOOR_PG = """
WITH hc AS (
    SELECT employer_id, avg(fte) FILTER (WHERE workers_declared) AS fte
    FROM quarterly_fte
    WHERE (year = :period - 2 AND quarter = 4) OR (year = :period - 1 AND quarter <= 3)
    GROUP BY employer_id)
SELECT count(*), count(e.end_reason), sum(wf.fraction), sum(coalesce(hc.fte, 0)),
       sum(least(coalesce(e.end_date, :last), :last) - greatest(e.start_date, :first) + 1)
FROM employments e
JOIN work_fractions wf ON wf.employment_id = e.id
LEFT JOIN hc ON hc.employer_id = e.employer_id
WHERE e.start_date <= :last AND (e.end_date IS NULL OR e.end_date >= :first)
"""

FLOOR_SQLITE = """
WITH hc AS (
    SELECT employer_id, avg(CAST(fte AS REAL)) FILTER (WHERE workers_declared) AS fte
    FROM quarterly_fte
    WHERE (year = :period - 2 AND quarter = 4) OR (year = :period - 1 AND quarter <= 3)
    GROUP BY employer_id)
SELECT count(*), count(e.end_reason), sum(CAST(wf.fraction AS REAL)), sum(coalesce(hc.fte, 0)),
       sum(julianday(min(coalesce(e.end_date, :last), :last))
           - julianday(max(e.start_date, :first)) + 1)
FROM employments e
JOIN work_fractions wf ON wf.employment_id = e.id
LEFT JOIN hc ON hc.employer_id = e.employer_id
WHERE e.start_date <= :last AND (e.end_date IS NULL OR e.end_date >= :first)
"""

FETCH = """
SELECT e.id, e.person_id, e.employer_id, e.start_date, e.end_date, e.joint_committee,
       e.end_reason, wf.valid_from, wf.fraction
FROM employments e
JOIN work_fractions wf ON wf.employment_id = e.id
WHERE e.start_date <= :last AND (e.end_date IS NULL OR e.end_date >= :first)
"""


# ------------------------------------------------------------------------------ memory


class PeakRss:
    """Samples this process's RSS every ``interval`` seconds while inside ``with``."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.process = psutil.Process()
        self.start = self.peak = 0
        self._stop = threading.Event()

    def __enter__(self) -> PeakRss:
        self.start = self.peak = self.process.memory_info().rss
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)


def max_rss() -> int:
    """Peak RSS of this process since it started, in bytes (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def mib(n: float) -> str:
    return f"{n / 2**20:,.0f} MiB"


# ------------------------------------------------------------------------------ database


def pg_url(database: str = PG_DATABASE) -> str:
    return f"{PG_SERVER}/{database}"


def prepare_postgresql(database: str = PG_DATABASE) -> Engine:
    """Create ``database`` if missing, drop and migrate its schema again."""
    admin = make_engine(pg_url("postgres"))
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": database})
        if not exists:
            conn.execute(text(f"CREATE DATABASE {database}"))
    admin.dispose()
    engine = make_engine(pg_url(database))
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    upgrade(engine)
    return engine


def prepare_sqlite(path: Path) -> Engine:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    return engine


# ------------------------------------------------------------------------------ measures


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


def floor(engine: Engine, year: int, runs: int = 3) -> tuple[list[float], Any]:
    sql = text(FLOOR_PG if engine.dialect.name == "postgresql" else FLOOR_SQLITE)
    params = {
        "period": year - (year - 2022) % 2,
        "first": dt.date(year, 1, 1),
        "last": dt.date(year, 12, 31),
    }
    if engine.dialect.name == "sqlite":
        params = {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in params.items()}
    times: list[float] = []
    row: Any = None
    for _ in range(runs):
        with engine.connect() as conn:
            started = time.perf_counter()
            row = conn.execute(sql, params).one()
            times.append(time.perf_counter() - started)
    return times, row


def fetch_rows(engine: Engine, year: int) -> tuple[float, int, float]:
    """Stream the joined input rows to the client, through SQLAlchemy (``text``, server-side
    cursor on PostgreSQL) and through the bare driver cursor; (seconds, rows, driver seconds)."""
    params: dict[str, Any] = {"first": dt.date(year, 1, 1), "last": dt.date(year, 12, 31)}
    if engine.dialect.name == "sqlite":
        params = {k: v.isoformat() for k, v in params.items()}

    def run() -> int:
        n = 0
        with engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=10_000).execute(
                text(FETCH), params
            )
            for rows in result.partitions():
                n += len(rows)
        return n

    def run_driver() -> int:
        n = 0
        raw = engine.raw_connection()
        try:
            if engine.dialect.name == "postgresql":
                cur = raw.driver_connection.cursor(name="bench_fetch")  # type: ignore[union-attr]
                sql = FETCH.replace(":first", "%(first)s").replace(":last", "%(last)s")
            else:
                cur = raw.cursor()
                sql = FETCH
            cur.execute(sql, params)
            while rows := cur.fetchmany(10_000):
                n += len(rows)
            cur.close()
        finally:
            raw.close()
        return n

    seconds, n = timed(run)
    driver_seconds, _ = timed(run_driver)
    return seconds, n, driver_seconds


def progress_printer(label: str) -> Callable[[int, int], None]:
    started = time.perf_counter()
    step = {"next": 0.1}

    def progress(done: int, total: int) -> None:
        if done / total >= step["next"] or done == total:
            step["next"] += 0.1
            print(
                f"  {label}: {done}/{total} employers, {time.perf_counter() - started:,.1f} s",
                file=sys.stderr,
                flush=True,
            )

    return progress


@dataclass
class Run:
    report: ComputeReport
    wall: float
    rss_before: int
    rss_peak: int


def measure_compute(container: Container, year: int, label: str, *, profile: Path | None) -> Run:
    with PeakRss() as rss, _maybe_profile(profile):
        wall, report = timed(
            lambda: compute_year(container, year, progress=progress_printer(label))
        )
    return Run(report, wall, rss.start, rss.peak)


@contextmanager
def _maybe_profile(path: Path | None) -> Iterator[None]:
    if path is None:
        yield
        return
    import cProfile  # noqa: PLC0415 - only when profiling

    profiler = cProfile.Profile()
    profiler.enable()
    try:
        yield
    finally:
        profiler.disable()
        profiler.dump_stats(str(path))
        print(f"profile written to {path}", file=sys.stderr)


# ------------------------------------------------------------------------------ report


@dataclass
class Results:
    db: str
    command: str
    workers: int
    counts: datagen.Counts
    floor_times: list[float]
    floor_row: Any
    fetch_seconds: float
    fetch_rows: int
    fetch_driver_seconds: float
    rss_after_load: int
    rss_fetch_peak: int
    first: Run
    second: Run
    machine: dict[str, str] = field(default_factory=dict)

    @property
    def floor(self) -> float:
        return min(self.floor_times)


def machine_info(engine: Engine) -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            server = conn.scalar(text("SHOW server_version"))
            extra = ", ".join(
                f"{k} {conn.scalar(text(f'SHOW {k}'))}"
                for k in ("shared_buffers", "work_mem", "synchronous_commit")
            )
            database = f"PostgreSQL {server} on 127.0.0.1 ({extra})"
        else:
            import sqlite3  # noqa: PLC0415

            database = f"SQLite {sqlite3.sqlite_version} (file, WAL, synchronous=NORMAL)"
    return {
        "cpu": f"{os.cpu_count()} cores, {cpu}",
        "ram": f"{psutil.virtual_memory().total / 2**30:.0f} GiB",
        "database": database,
        "python": f"Python {platform.python_version()}, SQLAlchemy "
        f"{__import__('sqlalchemy').__version__}, psycopg "
        f"{__import__('psycopg').__version__}",
        "os": platform.platform(),
        "revision": git_revision(),
    }


def git_revision() -> str:
    """The commit measured, and the files of ``src/`` that differ from it."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"],  # noqa: S607
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    changed = [line[3:] for line in dirty.splitlines() if line.strip()]
    return head + (f" (uncommitted changes in {', '.join(changed)})" if changed else "")


def markdown(r: Results) -> str:
    n = r.first.report.worker_years
    c = r.counts
    lines = [
        f"Command: `{r.command}`  ",
        f"Date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; code: commit "
        f"{r.machine['revision']}  ",
        f"Machine: {r.machine['cpu']}, {r.machine['ram']} RAM; {r.machine['database']}; "
        f"{r.machine['python']}; {r.machine['os']}",
        "",
        f"Data (`bench/datagen.py`, seed fixed): {c.employers:,} employers "
        f"({', '.join(f'{k}: {v}' for k, v in sorted(c.bands.items()))} by design), "
        f"{c.quarterly_fte:,} quarterly FTE rows, {c.persons:,} persons, "
        f"{c.employments:,} employments, {c.work_fractions:,} work-fraction rows; "
        f"{r.workers:,} worker-years in the year. Generated and loaded in "
        f"{c.seconds:,.1f} s.",
        "",
        "| measure | time | worker-years/s | × floor | peak RSS (growth) |",
        "| --- | ---: | ---: | ---: | ---: |",
        f"| floor: one SQL aggregate over the same inputs (best of "
        f"{len(r.floor_times)}: {', '.join(f'{t:.2f}' for t in r.floor_times)} s) "
        f"| {r.floor:,.2f} s | {n / r.floor:,.0f} | 1.0 | – |",
        f"| the same join streamed to the client ({r.fetch_rows:,} rows, no computing) "
        f"| {r.fetch_seconds:,.2f} s | {n / r.fetch_seconds:,.0f} "
        f"| {r.fetch_seconds / r.floor:.1f} | – |",
        f"| the same, bare driver cursor (no SQLAlchemy) "
        f"| {r.fetch_driver_seconds:,.2f} s | {n / r.fetch_driver_seconds:,.0f} "
        f"| {r.fetch_driver_seconds / r.floor:.1f} | – |",
    ]
    for label, run in (
        ("`compute_year`, empty rights (all created)", r.first),
        ("`compute_year` again, unchanged data (idempotent)", r.second),
    ):
        rep = run.report
        lines.append(
            f"| {label}: {rep.created:,} created, {rep.updated:,} updated, "
            f"{rep.unchanged:,} unchanged, {len(rep.errors)} errors "
            f"| {run.wall:,.1f} s | {rep.worker_years / run.wall:,.0f} "
            f"| {run.wall / r.floor:.1f} | {mib(run.rss_peak)} "
            f"(+{mib(run.rss_peak - run.rss_before)}) |"
        )
    lines += [
        "",
        f"Peak RSS of the whole benchmark process (`ru_maxrss`): {mib(max_rss())}; while "
        f"generating and loading the data: {mib(r.rss_after_load)}; while streaming the join "
        f"to the client (the two diagnostic fetches): {mib(r.rss_fetch_peak)}; during "
        "`compute_year`: see the table (sampled every 50 ms). RSS is this Python process "
        "only; the database server's memory is not included.",
        "",
        f"Goal: within 5× the floor (≤ {5 * r.floor:,.1f} s) and under 60 s. Reached: "
        f"{r.first.wall:,.1f} s = {r.first.wall / r.floor:,.1f}× the floor — "
        f"{'yes' if r.first.wall <= min(60.0, 5 * r.floor) else 'no'}"
        f" (under 60 s: {'yes' if r.first.wall < 60 else 'no'}; within 5×: "
        f"{'yes' if r.first.wall <= 5 * r.floor else 'no'}).",
    ]
    return "\n".join(lines)


DOC_TEMPLATE = """# Benchmarks

## `rights compute`

`bench/rights_compute.py` builds synthetic data with `bench/datagen.py` and, in the same run,
times the floor (one SQL aggregate reading the same inputs once) and `compute_year` end to end,
then `compute_year` again on unchanged data. The tables below are written by the script
between the markers; the notes after them are written by hand.

### PostgreSQL

<!-- BEGIN rights-compute postgresql -->
<!-- END rights-compute postgresql -->

### SQLite

<!-- BEGIN rights-compute sqlite -->
<!-- END rights-compute sqlite -->
"""


def write_docs(db: str, block: str) -> None:
    content = DOCS.read_text() if DOCS.exists() else DOC_TEMPLATE
    begin, end = f"<!-- BEGIN rights-compute {db} -->", f"<!-- END rights-compute {db} -->"
    if begin not in content:
        content += f"\n### {db}\n\n{begin}\n{end}\n"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
    content = pattern.sub(lambda _: f"{begin}\n{block}\n{end}", content)
    DOCS.parent.mkdir(parents=True, exist_ok=True)
    DOCS.write_text(content)


# ------------------------------------------------------------------------------ main


def main() -> None:
    parser = argparse.ArgumentParser(description="Benchmark of rights compute.")
    parser.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="worker-years (default: 1,000,000 on PostgreSQL, 100,000 on SQLite)",
    )
    parser.add_argument(
        "--employers", type=int, default=None, help="default: workers / 500, between 20 and 2,000"
    )
    parser.add_argument("--year", type=int, default=datagen.YEAR)
    parser.add_argument("--seed", type=int, default=20250101)
    parser.add_argument(
        "--sqlite-path", type=Path, default=Path(tempfile.gettempdir()) / "ila_bench.sqlite3"
    )
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="write a cProfile of the first compute_year run to this file",
    )
    parser.add_argument("--no-docs", action="store_true", help="do not update docs/benchmarks.md")
    args = parser.parse_args()
    workers = args.workers or (1_000_000 if args.db == "postgresql" else 100_000)
    command = ".venv/bin/python bench/rights_compute.py " + " ".join(sys.argv[1:])

    gen = datagen.Generator(workers, employers=args.employers, seed=args.seed, year=args.year)
    print(f"building {workers:,} worker-years on {args.db} ...", file=sys.stderr, flush=True)
    if args.db == "postgresql":
        engine = prepare_postgresql()
        counts = datagen.load_postgresql(pg_url().replace("+psycopg", ""), gen)
        url = pg_url()
    else:
        engine = prepare_sqlite(args.sqlite_path)
        counts = datagen.load_sqlite(str(args.sqlite_path), gen)
        url = f"sqlite:///{args.sqlite_path}"
    print(f"data: {counts}", file=sys.stderr, flush=True)

    floor_times, floor_row = floor(engine, args.year)
    print(f"floor: {floor_times} -> {floor_row}", file=sys.stderr, flush=True)
    rss_after_load = max_rss()
    with PeakRss() as fetch_rss:
        fetch_seconds, fetched, fetch_driver = fetch_rows(engine, args.year)
    print(
        f"fetch: {fetch_seconds:.2f} s, {fetched} rows; driver {fetch_driver:.2f} s; "
        f"peak RSS {mib(fetch_rss.peak)}",
        file=sys.stderr,
        flush=True,
    )

    container = bootstrap(Settings(environment=Environment.DEVELOPMENT, database_url=url))
    first = measure_compute(container, args.year, "compute", profile=args.profile)
    print(f"compute: {first.wall:.1f} s {first.report}"[:400], file=sys.stderr, flush=True)
    second = measure_compute(container, args.year, "again", profile=None)
    print(f"again: {second.wall:.1f} s {second.report}"[:400], file=sys.stderr, flush=True)
    with engine.connect() as conn:
        stored = conn.scalar(
            text("SELECT count(*) FROM right_versions WHERE year = :y"), {"y": args.year}
        )
    assert first.report.created == workers == stored, (first.report, stored)
    assert second.report.unchanged == workers, second.report
    assert not second.report.errors, second.report.errors

    results = Results(
        args.db,
        command,
        workers,
        counts,
        floor_times,
        floor_row,
        fetch_seconds,
        fetched,
        fetch_driver,
        rss_after_load,
        fetch_rss.peak,
        first,
        second,
        machine_info(engine),
    )
    block = markdown(results)
    print(block)
    if not args.no_docs:
        write_docs(args.db, block)
        print(f"\nwritten to {DOCS.relative_to(ROOT)}", file=sys.stderr)
    container.close()
    engine.dispose()


if __name__ == "__main__":
    main()

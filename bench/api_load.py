"""Benchmark of the REST API under concurrent load, with its two floors, in one run.

On PostgreSQL, with the app served by 2 uvicorn processes (as ``ila serve --processes 2``
runs them: one socket, new connections taken in turn) and wrk keeping 64 connections open
over loopback, it measures these lines, in ``--rounds`` rounds (default 4) in which the lines
take turns, so that a machine whose speed drifts slows each line alike; p50 and p99 come from
wrk's latency histograms of all the rounds of a line, merged:

1. the framework floor: ``GET /api/v1/bench/constant`` (a constant JSON document);
2. the I/O floor: ``GET /api/v1/bench/person-async/{national_number}`` (one indexed read by key on
   the asyncio pool the account read uses, ADR 0021), and the same read through the
   synchronous engine in a worker thread, ``GET /api/v1/bench/person/{national_number}`` (the stack
   of the other routes);
3. reading a worker's learning account: ``GET /api/v1/employers/{en}/workers/{niss}/account``
   (bearer token checked, mandate/tenant check, the account, the audit row, one transaction);
4. posting one training: ``POST /api/v1/employers/{en}/trainings`` with a unique record id.

The routes of 1 and 2 are added by ``bench/api_server.py`` to the real app (same processes,
same engine). Data: ``bench/datagen.py`` (synthetic, checksum-valid BIS numbers), rights
computed with ``compute_year``, and trainings for the workers read. wrk comes from Debian
(installed with apt-get when missing). Figures go to ``docs/benchmarks.md`` between markers.

    .venv/bin/python bench/api_load.py [--workers 20000] [--duration 20] [--connections 64]

``--reuse-data`` keeps the database of an earlier run and ``--only account,io`` measures a
subset (both print without writing the docs); ``bench/api_profile.py`` gives the steadier
per-request figures (CPU time, SQL statements, cProfile).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import httpx
import psutil
from joserfc import jwt
from joserfc.jwk import ECKey
from sqlalchemy import create_engine, func, select, text

import datagen
from ila.access.service import add_client
from ila.access.tokens import JWT_BEARER
from ila.bootstrap import Container, bootstrap
from ila.config import Environment, Settings
from ila.db.aio import POOL_MAX as AIO_MAX
from ila.db.aio import POOL_MIN as AIO_MIN
from ila.db.uow import POOL_OVERFLOW, POOL_SIZE
from ila.employment.models import Employment
from ila.identity.models import Employer, Person
from ila.rights.service import compute_year
from ila.trainings.domain import DurationUnit, Nature, Source, Status, TrainingData
from ila.trainings.service import record_training
from rights_compute import git_revision, machine_info, pg_url, prepare_postgresql

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "benchmarks.md"
DATABASE = "ila_bench_api"
SCOPES = "employer:rights:read employer:trainings:write"
YEAR = datagen.YEAR
ROUND_WARMUP_S = 1.0  # before each round but the first: the line's connections, its pool
MARK_BEGIN, MARK_END = "<!-- BEGIN api-load -->", "<!-- END api-load -->"


@dataclass(frozen=True)
class Measure:
    label: str
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # non-2xx answers and socket errors
    split: str  # wrk's connections per server process
    per_round: tuple[float, ...] = ()  # req/s of each round, in the order they ran


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    print("installing wrk from Debian …", file=sys.stderr)
    subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True)  # noqa: S607
    return shutil.which("wrk") or "wrk"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3.6e6}[unit]


def connections_per_process(servers: Servers, port: int) -> str:
    """How wrk's connections are shared between the server processes (each keeps the
    connections it accepted for the whole run), e.g. "30/34"."""
    counts = []
    for child in servers.processes:
        try:
            counts.append(
                sum(
                    1
                    for c in child.net_connections(kind="tcp")
                    if c.status == psutil.CONN_ESTABLISHED and c.laddr and c.laddr.port == port
                )
            )
        except psutil.Error:
            continue
    return "/".join(str(n) for n in sorted(c for c in counts if c))


@dataclass(frozen=True)
class Round:
    """One wrk run of a line: its requests, their latency histogram (µs -> count), errors."""

    requests: int
    seconds: float
    errors: int
    histogram: Counter[int]
    split: str


def run_round(
    wrk: str,
    url: str,
    script: str,
    env: dict[str, str],
    args: argparse.Namespace,
    server: Servers,
    *,
    warmup: float,
    duration: float,
) -> Round:
    common = [
        wrk,
        f"-t{args.threads}",
        f"-c{args.connections}",
        "--timeout",
        "10s",
        "-s",
        str(Path(__file__).parent / "wrk" / script),
        url,
    ]
    full_env = {**os.environ, **env}
    subprocess.run(  # noqa: S603 - our own wrk command line; warm-up: pools, caches
        [*common, "-d", f"{warmup:g}s"],
        env={**full_env, "ILA_HISTOGRAM": ""},
        check=True,
        capture_output=True,
    )
    with tempfile.NamedTemporaryFile("r", suffix=".hist") as histogram:
        measured = subprocess.Popen(  # noqa: S603 - our own wrk command line
            [*common, "-d", f"{duration:g}s"],
            env={**full_env, "ILA_HISTOGRAM": histogram.name},
            stdout=subprocess.PIPE,
            text=True,
        )
        time.sleep(min(2.0, duration / 2))
        split = connections_per_process(server, int(url.rsplit(":", 1)[1]))
        out, _ = measured.communicate()
        if measured.returncode != 0:
            raise SystemExit(f"wrk failed: {measured.returncode}")
        counts = Counter[int]()
        for line in histogram:
            value, count = line.split()
            counts[int(value)] += int(count)
    # "12345 requests in 5.00s, ...": the requests and wrk's own measured duration
    total, took = re.search(r"(\d+) requests in ([\d.]+\w+),", out).groups()  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    errors = int(non2xx.group(1)) if non2xx else 0
    if socket_errors:
        errors += sum(int(g) for g in socket_errors.groups())
    return Round(int(total), _ms(took) / 1000, errors, counts, split)


def run_lines(
    wrk: str,
    base: str,
    lines: list[tuple[str, str, str, dict[str, str]]],
    args: argparse.Namespace,
    server: Servers,
) -> list[Measure]:
    """Measure each line (name, label, wrk script, its environment) in ``args.rounds`` rounds.
    The lines take turns, round after round: a machine whose speed drifts (a shared virtual
    machine's was seen to by a third within minutes) slows every line alike."""
    rounds: dict[str, list[Round]] = {name: [] for name, *_ in lines}
    for number in range(args.rounds):
        for name, _, script, line_env in lines:
            rounds[name].append(
                run_round(
                    wrk,
                    base,
                    script,
                    line_env,
                    args,
                    server,
                    warmup=args.warmup if number == 0 else ROUND_WARMUP_S,
                    duration=args.duration / args.rounds,
                )
            )
    return [measure(label, rounds[name]) for name, label, *_ in lines]


def percentile(histogram: Counter[int], fraction: float) -> float:
    """The latency (ms) under which ``fraction`` of the requests of a histogram (µs -> count)
    were answered."""
    wanted = fraction * sum(histogram.values())
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= wanted:
            return value / 1000
    return 0.0


def measure(label: str, rounds: list[Round]) -> Measure:
    """A line over all its rounds: requests per second of measured time, percentiles over every
    request (the rounds' histograms merged)."""
    merged = Counter[int]()
    for one in rounds:
        merged.update(one.histogram)
    requests = sum(one.requests for one in rounds)
    seconds = sum(one.seconds for one in rounds)
    splits = sorted({one.split for one in rounds})
    found = Measure(
        label,
        requests / seconds,
        percentile(merged, 0.5),
        percentile(merged, 0.99),
        requests,
        sum(one.errors for one in rounds),
        ", ".join(splits),
        tuple(one.requests / one.seconds for one in rounds),
    )
    print(
        f"{label}: {found.requests_per_s:,.0f} req/s "
        f"(rounds {', '.join(f'{r:,.0f}' for r in found.per_round)}), p50 {found.p50_ms:.1f} ms, "
        f"p99 {found.p99_ms:.1f} ms, errors {found.errors}, connections per server process "
        f"{found.split}"
    )
    return found


def prepare_data(args: argparse.Namespace, settings: Settings) -> tuple[str, list[str]]:
    """Load synthetic data, compute the year's rights, record trainings for the workers of the
    largest employer; return that employer and its workers."""
    prepare_postgresql(DATABASE).dispose()
    gen = datagen.Generator(args.workers, seed=args.seed)
    counts = datagen.load_postgresql(pg_url(DATABASE).replace("+psycopg", ""), gen)
    print(f"data: {counts.persons:,} persons, {counts.employments:,} employments", file=sys.stderr)
    container = bootstrap(settings)
    try:
        report = compute_year(container, YEAR)
        print(f"rights {YEAR}: {report.worker_years:,} in {report.seconds:.1f} s", file=sys.stderr)
        en, workers = largest_employer(container)
        rng = random.Random(args.seed)
        for niss in rng.sample(workers, min(len(workers), args.trained)):
            for n in range(2):
                record_training(
                    container.uow(),
                    actor="bench",
                    source=Source.EMPLOYER,
                    sender=en,
                    sender_record_id=f"seed-{niss}-{n}",
                    national_number=niss,
                    enterprise_number=en,
                    data=TrainingData(
                        title=f"Seeded training {n}",
                        provider="Bench Academy",
                        start_date=dt.date(YEAR, 2 + n, 3),
                        end_date=dt.date(YEAR, 2 + n, 3),
                        duration_value=Decimal(4),
                        duration_unit=DurationUnit.HOURS,
                        nature=Nature.FORMAL_EXTERNAL,
                        status=Status.FOLLOWED,
                    ),
                )
        # the loaded tables in their steady state, as autovacuum leaves them in production:
        # statistics (taken before the trainings existed, they made PostgreSQL scan every
        # training version), visibility map, and the load's dirty pages written out, so that
        # no vacuum or checkpoint of the load runs during the first measured lines
        with container.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text("VACUUM (ANALYZE)"))
            c.execute(text("CHECKPOINT"))
    finally:
        container.close()
    return en, workers


def largest_employer(container: Container) -> tuple[str, list[str]]:
    """The employer with the most employments and its workers of the year."""
    with container.uow() as uow:
        s = uow.session
        employer_id, en = s.execute(
            select(Employer.id, Employer.enterprise_number)
            .join(Employment, Employment.employer_id == Employer.id)
            .group_by(Employer.id)
            .order_by(func.count().desc())
            .limit(1)
        ).one()
        workers = sorted(
            set(
                s.scalars(
                    select(Person.national_number)
                    .join(Employment, Employment.person_id == Person.id)
                    .where(
                        Employment.employer_id == employer_id,
                        Employment.start_date <= dt.date(YEAR, 12, 31),
                        (Employment.end_date.is_(None))
                        | (Employment.end_date >= dt.date(YEAR, 1, 1)),
                    )
                )
            )
        )
    return str(en), workers


def token_form(settings: Settings, en: str) -> dict[str, str]:
    """Register a client of ``en`` and return the token request form with its assertion."""
    key = ECKey.generate_key("P-256")
    container = bootstrap(settings)
    try:
        client_id = add_client(
            container.uow(),
            organisation=en,
            name="bench client",
            public_key=key.as_pem(private=False),
            scopes=SCOPES.split(),
            actor="bench",
        )
    finally:
        container.close()
    now = int(time.time())
    assertion = jwt.encode(
        {"alg": "ES256"},
        {
            "iss": client_id,
            "sub": client_id,
            "aud": settings.token_endpoint,
            "iat": now,
            "exp": now + 60,
            "jti": uuid.uuid4().hex,
        },
        key,
        algorithms=["ES256"],
    )
    return {
        "grant_type": "client_credentials",
        "client_assertion_type": JWT_BEARER,
        "client_assertion": assertion,
        "scope": SCOPES,
    }


def token(base: str, settings: Settings, en: str) -> str:
    answer = httpx.post(f"{base}/api/v1/oauth/token", data=token_form(settings, en), timeout=30)
    answer.raise_for_status()
    return str(answer.json()["access_token"])


@dataclass
class Servers:
    """The server processes, as ``ila serve --processes N`` runs them (``ila.web.serve``): one
    listening socket, and each process takes a new connection only while it holds no more
    than the least busy of the others. (With ``uvicorn --workers N`` the first process to wake
    takes a whole burst: wrk's 64 connections were seen split 10/54; with one ``SO_REUSEPORT``
    socket per process, the kernel's hash of the client's address split them up to 21/43. The
    busier process then sets p99.)"""

    parent: subprocess.Popen[bytes]

    @property
    def processes(self) -> list[psutil.Process]:
        try:
            return psutil.Process(self.parent.pid).children()
        except psutil.Error:
            return []

    def stop(self) -> None:
        os.killpg(self.parent.pid, signal.SIGTERM)
        self.parent.wait(timeout=30)


def start_server(port: int, env: dict[str, str], processes: int) -> Servers:
    servers = Servers(
        subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                str(Path(__file__).parent / "api_server.py"),
                "--port",
                str(port),
                "--processes",
                str(processes),
            ],
            env={**os.environ, **env},
            start_new_session=True,
        )
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            answer = httpx.get(f"http://127.0.0.1:{port}/api/v1/bench/constant", timeout=2)
            if answer.status_code == 200:
                time.sleep(3)  # every process up, not only the first
                return servers
        except httpx.TransportError:
            time.sleep(0.3)
    servers.stop()
    raise SystemExit("the server did not start")


def short_revision(revision: str) -> str:
    """The commit, and how many files differ from it rather than their list."""
    commit, _, changes = revision.partition(" (uncommitted changes in ")
    if not changes:
        return revision
    files = changes.rstrip(")").split(", ")
    return f"{commit} (and uncommitted changes in {len(files)} files)"


def markdown(measures: list[Measure], args: argparse.Namespace, machine: dict[str, str]) -> str:
    by = {m.label: m for m in measures}
    # the goal is judged against the faster of the two floors (the asyncio one: the account
    # read's own stack)
    io_floor = max(
        by[label].requests_per_s for label in ("I/O floor", "I/O floor, synchronous engine")
    )
    lines = [
        f"Command: `{' '.join(['.venv/bin/python', *sys.argv])}`  ",
        f"Date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; code: commit {machine['revision']}  ",
        f"Machine: {machine['cpu']}, {machine['ram']} RAM; {machine['database']}; "
        f"{machine['python']}; {machine['os']}. Server, database and load generator share the "
        "machine.",
        "",
        f"Setup: {args.server_workers} uvicorn processes as `ila serve --processes "
        f"{args.server_workers}` runs them: one listening socket, new connections taken in turn "
        "by the least busy process (`ila.web.serve`) (httptools, uvloop; 40 "
        f"threads each for the synchronous routes, a pool of {POOL_SIZE} + {POOL_OVERFLOW} "
        f"database connections; the account read and the I/O floor on the event loop with an "
        f"asyncio pool of {AIO_MIN}–{AIO_MAX} connections, ADR 0021), wrk with {args.threads} "
        "threads keeping "
        f"{args.connections} "
        f"connections over loopback, {args.duration} s measured per line in {args.rounds} "
        f"rounds of {args.duration / args.rounds:g} s, the lines taking turns round after "
        f"round ({args.warmup} s warm-up before the first round of a line, "
        f"{ROUND_WARMUP_S:g} s before the others); p50 and p99 over all the requests of a "
        f"line; data from `bench/datagen.py` ({args.workers:,} worker-years, rights of {YEAR} "
        f"computed), reads spread over the {args.pool:,} workers "
        "of the largest employer.",
        "",
        "| endpoint | req/s | p50 | p99 | errors | × faster I/O floor | connections per process |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    lines.extend(
        f"| {m.label} | {m.requests_per_s:,.0f} | {m.p50_ms:.1f} ms | {m.p99_ms:.1f} ms "
        f"| {m.errors} | {m.requests_per_s / io_floor:.2f} | {m.split} |"
        for m in measures
    )
    account = by["account read"]
    reached = account.requests_per_s >= 0.5 * io_floor and account.p99_ms < 100
    floor_rounds = by["I/O floor"].per_round
    ratios = sorted(a / f for a, f in zip(account.per_round, floor_rounds, strict=True))
    lines += [
        "",
        f"Goal: account reads at least 50 % of the I/O floor ({0.5 * io_floor:,.0f} req/s) "
        f"with p99 under 100 ms, authentication and audit included. Reached: "
        f"{account.requests_per_s:,.0f} req/s = {account.requests_per_s / io_floor:.0%} of the "
        f"floor, p99 {account.p99_ms:.1f} ms — {'yes' if reached else 'no'}. Round by round, "
        f"account reads against the I/O floor's round: {', '.join(f'{r:.2f}' for r in ratios)} "
        f"(sorted).",
    ]
    return "\n".join(lines)


def write_docs(block: str) -> None:
    content = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n"
    if MARK_BEGIN not in content:
        content += (
            "\n## REST API under load\n\n`bench/api_load.py` serves the real app with two floor "
            "routes added (`bench/api_server.py`) and drives it with wrk. The table is written "
            f"by the script between the markers.\n\n{MARK_BEGIN}\n{MARK_END}\n"
        )
    pattern = re.compile(re.escape(MARK_BEGIN) + r".*?" + re.escape(MARK_END), re.DOTALL)
    DOCS.write_text(pattern.sub(lambda _: f"{MARK_BEGIN}\n{block}\n{MARK_END}", content))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=20_000, help="worker-years of data")
    parser.add_argument("--trained", type=int, default=500, help="workers given 2 trainings")
    parser.add_argument("--duration", type=int, default=20, help="seconds measured per line")
    parser.add_argument(
        "--rounds", type=int, default=4, help="the lines take turns, this many times each"
    )
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--server-workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=20250101)
    parser.add_argument("--no-docs", action="store_true", help="print, do not write the docs")
    parser.add_argument(
        "--reuse-data",
        action="store_true",
        help="keep the database of an earlier run (no data generation; implies --no-docs)",
    )
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated subset of: constant,io,io-sync,account,post (implies --no-docs)",
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    wrk = ensure_wrk()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        "ILA_DATABASE_URL": pg_url(DATABASE),
        "ILA_ENVIRONMENT": Environment.DEVELOPMENT.value,
        "ILA_PUBLIC_URL": base,
        "ILA_API_RATE_PER_SECOND": "1000000",
        "ILA_API_RATE_BURST": "1000000",
    }
    os.environ.update(env)
    settings = Settings()
    if args.reuse_data or args.only:
        args.no_docs = True
    if args.reuse_data:
        container = bootstrap(settings)
        try:
            en, workers = largest_employer(container)
        finally:
            container.close()
    else:
        en, workers = prepare_data(args, settings)
    args.pool = len(workers)
    with tempfile.TemporaryDirectory() as tmp:
        accounts = Path(tmp) / "accounts.txt"
        accounts.write_text(
            "".join(f"/api/v1/employers/{en}/workers/{n}/account?year={YEAR}\n" for n in workers)
        )
        people = Path(tmp) / "people.txt"
        people.write_text("".join(f"/api/v1/bench/person-async/{n}\n" for n in workers))
        people_sync = Path(tmp) / "people-sync.txt"
        people_sync.write_text("".join(f"/api/v1/bench/person/{n}\n" for n in workers))
        worker_file = Path(tmp) / "workers.txt"
        worker_file.write_text("".join(f"{n}\n" for n in workers))
        constant = Path(tmp) / "constant.txt"
        constant.write_text("/api/v1/bench/constant\n")
        server = start_server(port, env, args.server_workers)
        try:
            bearer = token(base, settings, en)
            lines = {
                "constant": (
                    "framework floor (constant JSON)",
                    "paths.lua",
                    {"ILA_PATHS": str(constant)},
                ),
                "io": ("I/O floor", "paths.lua", {"ILA_PATHS": str(people)}),
                "io-sync": (
                    "I/O floor, synchronous engine",
                    "paths.lua",
                    {"ILA_PATHS": str(people_sync)},
                ),
                "account": (
                    "account read",
                    "paths.lua",
                    {"ILA_PATHS": str(accounts), "ILA_TOKEN": bearer},
                ),
                "post": (
                    "post one training",
                    "post_training.lua",
                    {"ILA_WORKERS": str(worker_file), "ILA_TOKEN": bearer, "ILA_EMPLOYER": en},
                ),
            }
            chosen = [name.strip() for name in args.only.split(",") if name.strip()] or list(lines)
            measures = run_lines(wrk, base, [(name, *lines[name]) for name in chosen], args, server)
        finally:
            server.stop()
    if args.only:
        return
    results = measures
    engine = create_engine(pg_url(DATABASE))
    machine = machine_info(engine)
    machine["revision"] = short_revision(git_revision())
    engine.dispose()
    block = markdown(results, args, machine)
    print(block)
    if not args.no_docs:
        write_docs(block)


if __name__ == "__main__":
    main()

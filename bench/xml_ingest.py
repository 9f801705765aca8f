"""Benchmark of the XML batch channel: a generated file of N new trainings ingested end to end
(submit + validation pass + per-record XSD + authorisation + storage + results + result
document), next to two floors measured in the same run on the same file:

1. lxml ``iterparse`` + XSD validation of each record, alone (no conversion, no database);
2. a bare bulk load of the same rows into scratch copies of ``trainings`` and
   ``training_versions``: ``COPY`` on PostgreSQL, one ``executemany`` transaction on SQLite.

    .venv/bin/python bench/xml_ingest.py --records 100000 --db sqlite
    .venv/bin/python bench/xml_ingest.py --records 1000000 --db postgresql
    .venv/bin/python bench/xml_ingest.py --records 20000 --db both          # smoke, ~1 min

The end-to-end run happens in a fresh child process (``--phase e2e``) whose RSS is sampled
every 50 ms with psutil: its peak is the channel's, not the benchmark's. It also reports its CPU
seconds (all threads) and, on PostgreSQL, those of the server backends that served it, since
wall times on a shared machine say little. ``--chunk-size`` sets ``ILA_BATCH_CHUNK_SIZE`` for
the run. PostgreSQL uses its own database ``ila_bench_xml``, never the test database. The
figures are printed as Markdown, with the load average before and after.

It also bulk loads, in the same run, the rows the channel itself stores for the file (and,
apart, the training and its first version alone) into the real tables, and derives from their
CPU seconds, the parse floor's and the number of cores an upper bound on ``slower floor / end
to end`` that no design of the channel can pass (see :func:`bounds`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import psutil
from lxml import etree
from sqlalchemy import create_engine, text

from ila.access.service import grant_mandate
from ila.batch.config import BatchSettings
from ila.batch.result import write_result
from ila.batch.service import BATCH_SCOPES, Sender, find_batch, submit, work
from ila.batch.xmlfile import NAMESPACE, schema
from ila.bootstrap import Container, bootstrap
from ila.config import Environment, Settings
from ila.db.migrate import upgrade
from ila.employment.service import RegisterEmployment, register_employment
from ila.identity.service import register_employer, register_person
from ila.identity.synthetic import synthetic_enterprise_number, synthetic_niss
from ila.trainings.domain import DurationUnit, Nature, Status, TrainingData
from ila.trainings.service import stored_content

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
PG_DATABASE = "ila_bench_xml"
EMPLOYERS = 5
WORKERS_PER_EMPLOYER = 200
SENDER = 0  # the first employer sends; it holds a mandate from every other one


def employers() -> list[str]:
    return [synthetic_enterprise_number(f"08{n:06d}") for n in range(1, EMPLOYERS + 1)]


def workers(employer_index: int) -> list[str]:
    return [
        synthetic_niss(f"{80 + employer_index:02d}0101{n:03d}")
        for n in range(1, WORKERS_PER_EMPLOYER + 1)
    ]


# --- data ------------------------------------------------------------------------------------


def database_url(db: str, tmp: Path) -> str:
    if db == "sqlite":
        return f"sqlite:///{tmp / 'bench.sqlite3'}"
    admin = create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {PG_DATABASE}"))
    admin.dispose()
    return f"{PG_SERVER}/{PG_DATABASE}"


def seed(c: Container) -> None:
    upgrade(c.engine)
    ens = employers()
    for i, en in enumerate(ens):
        register_employer(c.uow(), enterprise_number=en, name=f"Bench {i}")
        for niss in workers(i):
            register_person(c.uow(), national_number=niss, given_name="B", family_name="W")
            register_employment(
                c.uow(),
                RegisterEmployment(
                    national_number=niss,
                    enterprise_number=en,
                    start_date=date(2024, 1, 1),
                    joint_committee="200",
                    fractions=[(date(2024, 1, 1), "1")],
                ),
            )
        if i != SENDER:
            grant_mandate(
                c.uow(),
                employer=en,
                provider=ens[SENDER],
                kind="social_secretariat",
                valid_from=date(2024, 1, 1),
                valid_to=None,
                actor="bench",
            )


def generate(path: Path, records: int) -> None:
    """N new trainings spread over the employers; one in fifty is refused by the rules."""
    ens = employers()
    people = [workers(i) for i in range(len(ens))]
    with path.open("w", encoding="utf-8") as out:
        out.write(
            f'<?xml version="1.0" encoding="UTF-8"?>\n<submission xmlns="{NAMESPACE}">\n'
            f"<header><sender>{ens[SENDER]}</sender><reference>BENCH-{records}</reference>"
            "<created>2026-11-23T10:00:00Z</created><employers>"
            + "".join(f"<employer>{en}</employer>" for en in ens)
            + "</employers></header>\n<records>\n"
        )
        for i in range(records):
            e = i % len(ens)
            end = "2024-02-01" if i % 50 == 49 else "2024-03-02"
            out.write(
                f'<trainingCreate recordId="b-{i}"><employer>{ens[e]}</employer>'
                f"<worker>{people[e][(i // len(ens)) % WORKERS_PER_EMPLOYER]}</worker>"
                f"<title>Course {i % 997}</title><provider>Bench Academy</provider>"
                f"<startDate>2024-03-01</startDate><endDate>{end}</endDate>"
                "<duration>7.5</duration><durationUnit>hours</durationUnit>"
                "<nature>formal_external</nature><status>followed</status>"
                "</trainingCreate>\n"
            )
        out.write("</records>\n</submission>\n")


# --- floors ----------------------------------------------------------------------------------


def floor_parse(path: Path) -> tuple[float, float]:
    """Wall and CPU seconds of iterparse + XSD of each record (one thread)."""
    xsd = schema()
    tag = "{" + NAMESPACE + "}trainingCreate"
    started, cpu = time.perf_counter(), time.process_time()
    valid = 0
    for _event, el in etree.iterparse(
        str(path), events=("end",), tag=tag, resolve_entities=False, no_network=True
    ):
        valid += xsd.validate(el)
        el.clear()
        while el.getprevious() is not None:
            del el.getparent()[0]
    assert valid > 0
    return time.perf_counter() - started, time.process_time() - cpu


def _rows(records: int) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    data = TrainingData(
        title="Course",
        provider="Bench Academy",
        start_date=date(2024, 3, 1),
        end_date=date(2024, 3, 2),
        duration_value=Decimal("7.5"),
        duration_unit=DurationUnit.HOURS,
        nature=Nature.FORMAL_EXTERNAL,
        status=Status.FOLLOWED,
    )
    content = stored_content(data, 456)
    now = datetime.now(UTC)
    trainings = [(i + 1, 1, 1, "employer", "0800000000", f"b-{i}", now) for i in range(records)]
    versions = [
        (i + 1, i + 1, 1, "create", now, None, "bench", None, False, *content.values())
        for i in range(records)
    ]
    return trainings, versions


_T_COLUMNS = "id, person_id, employer_id, source, sender, sender_record_id, created_at"
_V_COLUMNS = (
    "id, training_id, version, operation, recorded_at, superseded_at, recorded_by, reason, "
    "cancelled, title, provider, start_date, end_date, duration_value, duration_unit, nature, "
    "status, counts_toward_right, not_counting_reason, certificate, certificate_valid_until, "
    "financing, duration_minutes"
)


def _sqlite_row(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A row as SQLite is given it: dates and timestamps in ISO 8601, decimals as text."""
    return tuple(
        v.isoformat()
        if isinstance(v, datetime | date)
        else (str(v) if isinstance(v, Decimal) else v)
        for v in row
    )


def floor_load(c: Container, records: int) -> float:
    """The same number of rows, bulk loaded into scratch tables shaped like the real ones
    (rows built beforehand, not timed)."""
    valid = records - records // 50
    trainings, versions = _rows(valid)
    with c.engine.begin() as conn:
        for name in ("trainings", "training_versions"):
            conn.execute(text(f"DROP TABLE IF EXISTS floor_{name}"))
            if c.engine.dialect.name == "postgresql":
                conn.execute(text(f"CREATE TABLE floor_{name} (LIKE {name} INCLUDING ALL)"))
            else:
                conn.execute(text(f"CREATE TABLE floor_{name} AS SELECT * FROM {name} WHERE 0"))
    started = time.perf_counter()
    raw = c.engine.raw_connection()
    try:
        cur = raw.cursor()
        if c.engine.dialect.name == "postgresql":
            with cur.copy(f"COPY floor_trainings ({_T_COLUMNS}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                for row in trainings:
                    copy.write_row(row)
            with cur.copy(f"COPY floor_training_versions ({_V_COLUMNS}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                for row in versions:
                    copy.write_row(row)
        else:
            cur.execute("BEGIN")
            cur.executemany(
                f"INSERT INTO floor_trainings ({_T_COLUMNS}) VALUES (?,?,?,?,?,?,?)",
                [(*r[:6], r[6].isoformat()) for r in trainings],
            )
            marks = ",".join("?" * 23)
            cur.executemany(
                f"INSERT INTO floor_training_versions ({_V_COLUMNS}) VALUES ({marks})",
                [_sqlite_row(r) for r in versions],
            )
        raw.commit()
    finally:
        raw.close()
    elapsed = time.perf_counter() - started
    with c.engine.begin() as conn:
        for name in ("trainings", "training_versions"):
            conn.execute(text(f"DROP TABLE floor_{name}"))
    return elapsed


_SENDER_ROWS = {
    "trainings": "id, person_id, employer_id, source, sender, sender_record_id, created_at",
    "training_versions": _V_COLUMNS.removeprefix("id, "),
    "outbox_events": "event_id, type, source, subject, occurred_at, data",
    "batch_records": "batch_id, seq, line, record_id, kind, status, code, field, message, "
    "training_id, version, sender, digest",
}


def _channel_rows(
    c: Container, records: int, first: int, batch_id: int, people: list[tuple[int, int, str]]
) -> dict[str, list[tuple[Any, ...]]]:
    """The rows the channel stores for records ``first`` .. ``first + records - 1`` of the
    generated file: for an accepted record a training, its first version, its outbox event,
    and its result, which is also its applied record id; for a refused one (one in fifty) its
    result."""
    content = tuple(_rows(1)[1][0][9:])
    now = datetime.now(UTC)
    sender = employers()[SENDER]
    out: dict[str, list[tuple[Any, ...]]] = {name: [] for name in _SENDER_ROWS}
    for i in range(first, first + records):
        rid = f"b-{i}"
        person_id, employer_id, number = people[i % len(people)]
        result = (batch_id, i + 1, i + 1, rid, "trainingCreate")  # seq and line alike here
        if i % 50 == 49:
            message = "end date 2024-02-01 is before start date 2024-03-01"
            out["batch_records"].append(
                (*result, "rejected", "invalid_period", "end_date", message, None, None, None, None)
            )
            continue
        tid = i + 1
        out["trainings"].append((tid, person_id, employer_id, "employer", sender, rid, now))
        out["training_versions"].append(
            (tid, 1, "create", now, None, "bench", None, False, *content)
        )
        data = f'{{"training_id": {tid}, "version": 1}}'
        event = (f"evt_{i:032x}", "ila.account.training.recorded", "/ila", number, now, data)
        out["outbox_events"].append(event)
        out["batch_records"].append(
            (*result, "accepted", None, None, None, tid, 1, sender, f"{i:032x}")
        )
    return out


_LEAST_ROWS = ("trainings", "training_versions")
"""The rows no design of the channel can do without: the training and its first version."""


def _backend_cpu(cur: Any) -> Callable[[], float]:
    """CPU seconds so far of the PostgreSQL backend serving ``cur``'s connection."""
    cur.execute("SELECT pg_backend_pid()")
    backend = psutil.Process(cur.fetchone()[0])

    def seconds() -> float:
        times = backend.cpu_times()
        return float(times.user + times.system)

    return seconds


def floor_channel_rows(
    c: Container, records: int, chunk: int, tables: tuple[str, ...] = tuple(_SENDER_ROWS)
) -> dict[str, float]:
    """Not a floor of the goal, a bound on it: the rows the channel itself stores for the
    file (four per accepted record, see :func:`_channel_rows`; or only ``tables`` of them),
    bulk loaded into the real tables, with their indexes and foreign keys, a chunk at a time
    as the channel writes them (rows built beforehand, not timed; everything rolled back at
    the end). Returns the wall seconds of the load and its CPU seconds: this process's and,
    on PostgreSQL, its backend's. The channel cannot spend less CPU than this, whatever it
    computes; on SQLite, whose writes are one at a time, not less wall time either."""
    postgresql = c.engine.dialect.name == "postgresql"
    with c.engine.connect() as conn:
        people = [
            (int(p), int(e), str(n))
            for p, e, n in conn.execute(
                text(
                    "SELECT p.id, e.employer_id, p.national_number FROM persons p "
                    "JOIN employments e ON e.person_id = p.id ORDER BY p.id"
                )
            )
        ]
    raw = c.engine.raw_connection()
    elapsed = cpu = 0.0
    try:
        cur = raw.cursor()
        backend = _backend_cpu(cur) if postgresql else lambda: 0.0
        if not postgresql:
            cur.execute("BEGIN")
        cur.execute(
            "INSERT INTO batches (ticket, sender, reference, channel, actor, scopes, status, "
            "file_name, file_bytes, file_sha256, done, accepted, unchanged, rejected, "
            "received_at, attempts) VALUES ('floor', '0000000000', 'floor', 'cli', 'bench', "
            "'', 'processing', 'floor.xml', 0, '', 0, 0, 0, 0, '2026-11-23', 0)"
        )
        cur.execute("SELECT id FROM batches WHERE ticket = 'floor'")
        (batch_id,) = cur.fetchone()
        for first in range(0, records, chunk):
            rows = _channel_rows(c, min(chunk, records - first), first, batch_id, people)
            if postgresql:
                prepared: dict[str, Any] = {
                    name: "".join(
                        "\t".join("\\N" if v is None else str(v) for v in row) + "\n"
                        for row in table
                    )
                    for name, table in rows.items()
                }
            else:
                prepared = {name: [_sqlite_row(r) for r in table] for name, table in rows.items()}
            started, started_cpu = time.perf_counter(), time.process_time() + backend()
            for name in tables:
                columns = _SENDER_ROWS[name]
                if postgresql:
                    with cur.copy(f"COPY {name} ({columns}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                        copy.write(prepared[name])
                else:
                    marks = ",".join("?" * len(columns.split(",")))
                    cur.executemany(
                        f"INSERT INTO {name} ({columns}) VALUES ({marks})", prepared[name]
                    )
            elapsed += time.perf_counter() - started
            cpu += time.process_time() + backend() - started_cpu
        raw.rollback()
    finally:
        raw.close()
    return {"wall": elapsed, "cpu": cpu}


# --- end to end (child process) --------------------------------------------------------------


def e2e(url: str, path: Path, spool: Path, chunk: int) -> dict[str, Any]:
    c = bootstrap(Settings(environment=Environment.TEST, database_url=url))
    settings = BatchSettings(spool_dir=spool, chunk_size=chunk)
    sender = Sender(employers()[SENDER], "bench", BATCH_SCOPES, "cli")
    started = time.perf_counter()
    with path.open("rb") as source:
        ticket = submit(c, settings, source, file_name=path.name, sender=sender).ticket
    submitted = time.perf_counter()
    work(c, settings)
    worked = time.perf_counter()
    with c.uow() as uow, (spool / "result.xml").open("wb") as out:
        batch = find_batch(uow.session, ticket)
        write_result(uow.session, batch, out)
        figures = {
            "status": batch.status,
            "accepted": batch.accepted,
            "rejected": batch.rejected,
            "total": batch.total,
        }
    finished = time.perf_counter()
    # this process (every thread) and its reader processes, ended and waited for by now
    done = os.times()
    cpu = time.process_time() + done.children_user + done.children_system
    server_cpu = None
    if c.engine.dialect.name == "postgresql":  # the backends of this process's connections
        with c.engine.connect() as conn:
            pids = conn.scalars(
                text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
            ).all()
        server_cpu = 0.0
        for pid in pids:
            try:
                times = psutil.Process(pid).cpu_times()
            except psutil.Error:
                continue
            server_cpu += times.user + times.system
    c.close()
    return figures | {
        "cpu": cpu,
        "server_cpu": server_cpu,
        "submit": submitted - started,
        "work": worked - submitted,
        "result": finished - worked,
        "wall": finished - started,
        "result_bytes": (spool / "result.xml").stat().st_size,
    }


def run_child(url: str, path: Path, spool: Path, chunk: int) -> tuple[dict[str, Any], int]:
    child = subprocess.Popen(  # noqa: S603 - this script
        [
            sys.executable,
            __file__,
            "--phase",
            "e2e",
            "--url",
            url,
            "--file",
            str(path),
            "--spool",
            str(spool),
            "--chunk-size",
            str(chunk),
        ],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    proc = psutil.Process(child.pid)
    peak = 0
    while child.poll() is None:
        try:  # the channel's processes: this child and its reader process, if any
            rss = proc.memory_info().rss
            readers = proc.children(recursive=True)
        except psutil.NoSuchProcess:
            break
        for reader in readers:
            with contextlib.suppress(psutil.NoSuchProcess):  # it may just have ended
                rss += reader.memory_info().rss
        peak = max(peak, rss)
        time.sleep(0.05)
    out = child.stdout.read() if child.stdout else b""
    if child.returncode != 0:
        raise SystemExit(f"e2e child failed: {child.returncode}")
    return json.loads(out.decode().strip().splitlines()[-1]), peak


def bench(db: str, records: int, chunk: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        url = database_url(db, tmp)
        c = bootstrap(Settings(environment=Environment.TEST, database_url=url))
        seed(c)
        path = tmp / f"trainings-{records}.xml"
        generate(path, records)
        size = path.stat().st_size
        parse, parse_cpu = min(floor_parse(path) for _ in range(2))
        load = floor_load(c, records)
        own_rows = floor_channel_rows(c, records, chunk)
        least_rows = floor_channel_rows(c, records, chunk, _LEAST_ROWS)
        c.engine.dispose()  # the floors' backends are not counted as the channel's
        figures, peak = run_child(url, path, tmp / "spool", chunk)
        c.close()
    slower = max(parse, load)
    cores = os.cpu_count() or 1
    return {
        "db": db,
        "records": records,
        "file_mib": size / 2**20,
        "floor_parse": parse,
        "floor_load": load,
        "channel_rows": own_rows["wall"],
        "channel_rows_cpu": own_rows["cpu"],
        "least_rows_cpu": least_rows["cpu"],
        "parse_cpu": parse_cpu,
        "cores": cores,
        **bounds(db, slower, cores, parse_cpu, own_rows, least_rows),
        "peak_rss_mib": peak / 2**20,
        "ratio": slower / figures["wall"],
        **figures,
    }


def bounds(
    db: str,
    slower: float,
    cores: int,
    parse_cpu: float,
    own_rows: dict[str, float],
    least_rows: dict[str, float],
) -> dict[str, float]:
    """Upper bounds on ``slower floor / end to end``, for any design of the channel.

    The channel must parse every record (at least the parse floor's CPU) and store its rows (at
    least their bulk load's CPU, client and server); on ``cores`` CPUs its wall time is at
    least the sum over ``cores``. On SQLite, whose writes are one transaction at a time, it is
    also at least the rows' wall time. ``bound`` is for the rows the channel stores;
    ``least_bound`` for the training and its first version alone, with no result, no event."""

    def bound(rows: dict[str, float]) -> float:
        by_cpu = slower * cores / (parse_cpu + rows["cpu"])
        return min(by_cpu, slower / rows["wall"]) if db == "sqlite" else by_cpu

    return {"bound": bound(own_rows), "least_bound": bound(least_rows)}


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| backend | records | file | end to end | records/s | CPU: ingest process "
        "(+ PostgreSQL backends) | floor: iterparse+XSD | floor: bulk load | "
        "e2e vs slower floor | peak RSS | bulk load of the channel's own rows (CPU) | "
        "bound on e2e vs slower floor | the same, training and first version only |",
        "| --- " + "| ---: " * 12 + "|",
    ]
    lines.extend(
        f"| {r['db']} | {r['records']:,} | {r['file_mib']:.0f} MiB | {r['wall']:.1f} s "
        f"(submit {r['submit']:.1f}, work {r['work']:.1f}, result {r['result']:.1f}) | "
        f"{r['records'] / r['wall']:,.0f} | {r['cpu']:.1f} s"
        + (f" (+ {r['server_cpu']:.1f} s)" if r.get("server_cpu") is not None else "")
        + f" | {r['floor_parse']:.1f} s | "
        f"{r['floor_load']:.1f} s | {100 * r['ratio']:.0f} % | {r['peak_rss_mib']:.0f} MiB | "
        f"{r['channel_rows']:.1f} s ({r['channel_rows_cpu']:.1f} s) | {100 * r['bound']:.0f} % | "
        f"{100 * r['least_bound']:.0f} % |"
        for r in rows
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="sqlite")
    parser.add_argument("--chunk-size", type=int, default=2000)
    parser.add_argument("--phase", default="all", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--spool", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase == "e2e":
        print(json.dumps(e2e(args.url, args.file, args.spool, args.chunk_size)))
        return
    dbs = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    load_before = os.getloadavg()
    rows = []
    for db in dbs:
        row = bench(db, args.records, args.chunk_size)
        print(json.dumps(row), file=sys.stderr)
        rows.append(row)
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"load average (1 min) {load_before[0]:.1f} before, {os.getloadavg()[0]:.1f} after"
    )
    print(markdown(rows))


if __name__ == "__main__":
    main()

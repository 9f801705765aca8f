"""Cost of hash-chained audit appends (ADR 0010), on SQLite and PostgreSQL.

Each case commits ``--transactions`` transactions on a freshly migrated database and reports
appends (audit rows) per second:

- ``unchained``: the rows inserted directly (the same Core insert; sequence and hashes
  precomputed, no chain-head lock, no head update) — the floor;
- ``chained``: ``append_entries`` — lock the chain head, hash, insert, update the head;
- ``chained x100``: 100 rows per transaction (a list of 100 workers read through the API);
- ``chained, 2 writers``: two processes appending at once (the head lock serialises them).

The chain is verified at the end of every case (``verify_chain``), so a fork would show.

    .venv/bin/python bench/audit_append.py [--transactions 2000] [--db sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert, text
from sqlalchemy.engine import make_url

from ila.audit.chain import GENESIS, append_entries, entry_hash, verify_chain
from ila.audit.models import AuditEvent
from ila.bootstrap import Container, bootstrap
from ila.config import Environment, Settings
from ila.db.migrate import upgrade
from ila.db.uow import make_engine

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PG_DB = "ila_bench_audit"


def _container(url: str) -> Container:
    return bootstrap(Settings(environment=Environment.TEST, database_url=url))


def fresh(db: str, workdir: Path) -> str:
    if db == "sqlite":
        path = workdir / f"audit-{time.monotonic_ns()}.sqlite3"
        url = f"sqlite:///{path}"
    else:
        admin = make_engine(PG_ADMIN).execution_options(isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)"))
            conn.execute(text(f"CREATE DATABASE {PG_DB}"))
        admin.dispose()
        url = make_url(PG_ADMIN).set(database=PG_DB).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


def _fields(i: int, writer: int) -> dict[str, object]:
    return {
        "actor": f"bench-{writer}",
        "action": "read",
        "resource": "account",
        "request_id": f"req-{writer}-{i}",
        "details": {"year": 2024, "i": i},
    }


def _row(i: int, writer: int, at: datetime) -> dict[str, object]:
    return {
        **_fields(i, writer),
        "occurred_at": at,
        "organisation": "0999000123",
        "on_behalf_of": None,
        "subject_national_number": None,
        "legal_context": None,
    }


def chained(url: str, n: int, per_tx: int = 1, writer: int = 0) -> tuple[float, float]:
    """n transactions of ``per_tx`` rows through the chain (one ``append_entries`` each, as
    ``record_personal_data_access`` does); returns the wall-clock start and end of the loop."""
    c = _container(url)
    try:
        begin = time.time()
        for i in range(n):
            with c.uow() as uow:
                at = datetime.now(UTC)
                append_entries(
                    uow.session, [_row(i * per_tx + j, writer, at) for j in range(per_tx)]
                )
                uow.commit()
        return begin, time.time()
    finally:
        c.close()


def unchained(url: str, n: int) -> tuple[float, float]:
    c = _container(url)
    prev, at = GENESIS, datetime.now(UTC)
    try:
        begin = time.time()
        for i in range(n):
            row = {**_row(i, 0, at), "seq": i + 1, "prev_hash": prev}
            prev = row["entry_hash"] = entry_hash(prev, row)
            with c.uow() as uow:
                uow.session.execute(insert(AuditEvent.__table__), [row])  # type: ignore[arg-type]
                uow.commit()
        return begin, time.time()
    finally:
        c.close()


def _writer(args: tuple[str, int, int]) -> tuple[float, float]:
    url, n, writer = args
    return chained(url, n, writer=writer)


def two_writers(url: str, n: int) -> tuple[float, float]:
    """Two processes, timed from the first start to the last end inside the workers (process
    start-up excluded)."""
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        spans = pool.map(_writer, [(url, n // 2, 1), (url, n - n // 2, 2)])
    return min(b for b, _ in spans), max(e for _, e in spans)


def measure(
    db: str, workdir: Path, name: str, rows: int, run: Callable[[str], tuple[float, float]]
) -> float:
    url = fresh(db, workdir)
    begin, end = run(url)
    seconds = end - begin
    c = _container(url)
    with c.uow() as uow:
        report = verify_chain(uow.session)
    c.close()
    assert report.intact or name == "unchained", report.problems[:3]
    assert report.entries == rows, (report.entries, rows)
    rate = rows / seconds
    print(f"| {db} | {name} | {rows} | {seconds:.2f} | {rate:,.0f} |")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--transactions", type=int, default=2000)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    n = args.transactions
    dbs = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    print("| database | case | rows | seconds | appends/s |")
    print("|---|---|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for db in dbs:
            measure(db, work, "unchained", n, lambda u: unchained(u, n))
            measure(db, work, "chained", n, lambda u: chained(u, n))
            measure(db, work, "chained x100", n * 10, lambda u: chained(u, n // 10, 100))
            measure(db, work, "chained, 2 writers", n, lambda u: two_writers(u, n))
    if "postgresql" in dbs:
        admin = make_engine(PG_ADMIN).execution_options(isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)"))
        admin.dispose()


if __name__ == "__main__":
    main()

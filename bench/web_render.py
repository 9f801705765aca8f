"""Server-side render time of the web pages for a company of 5,000 workers.

Builds synthetic data with ``bench/datagen.py`` (by default 8,400 worker-years, of which one
employer holds 5,040, the company measured), computes the year's rights with
``compute_year``, then requests each page through the ASGI app in process (Starlette's
TestClient: routing, session cookie, the reads, the audit rows, the template, the SVG charts;
no network) and reports the median and the slowest of ``--runs`` requests after a warm-up,
and the median CPU time of the process per request (``time.process_time``: steadier than
wall time on a loaded machine). The HR user is a benchmark-only persona given the editor role
on the generated employer (added to the persona table in this process only).

    cd bench && ../.venv/bin/python web_render.py [--db sqlite|postgresql] [--workers 8400]
        [--runs 15]
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

import datagen
from ila.bootstrap import bootstrap
from ila.config import Environment, Settings
from ila.db.migrate import upgrade
from ila.db.uow import make_engine
from ila.employment.models import Employment
from ila.identity.models import Employer, Person
from ila.rights.service import compute_year
from ila.web import auth
from ila.web.app import create_app

PG_URL = os.environ.get("ILA_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BENCH_DB = "ila_bench_web"


def _database(kind: str) -> str:
    if kind == "sqlite":
        path = Path(tempfile.gettempdir()) / "ila_bench_web.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    admin = make_engine(PG_URL).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {BENCH_DB}"))
    admin.dispose()
    return make_url(PG_URL).set(database=BENCH_DB).render_as_string(hide_password=False)


def _measure(
    client: TestClient, path: str, headers: dict[str, str], runs: int
) -> tuple[list[float], list[float], Any]:
    """Wall and CPU milliseconds of ``runs`` requests, and the last response."""
    times: list[float] = []
    cpu: list[float] = []
    response = None
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        response = client.get(path, headers=headers)
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
        assert response.status_code == 200
    return times, cpu, response


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    # datagen gives one employer 60 % of the workers: 8,400 worker-years → a company of 5,040
    parser.add_argument("--workers", type=int, default=8400)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

    url = _database(args.db)
    container = bootstrap(Settings(environment=Environment.TEST, database_url=url))
    upgrade(container.engine)
    gen = datagen.Generator(args.workers, employers=1, year=datagen.YEAR)
    if args.db == "sqlite":
        datagen.load_sqlite(url.removeprefix("sqlite:///"), gen)
    else:
        datagen.load_postgresql(url.replace("+psycopg", ""), gen)
    year = datagen.YEAR
    compute_year(container, year)
    with container.uow() as uow:
        en, employer_id, size = uow.session.execute(  # the employer with the most workers
            select(
                Employer.enterprise_number,
                Employer.id,
                func.count(Employment.person_id.distinct()),
            )
            .join(Employment, Employment.employer_id == Employer.id)
            .group_by(Employer.id, Employer.enterprise_number)
            .order_by(func.count(Employment.person_id.distinct()).desc())
            .limit(1)
        ).one()
        worker = uow.session.scalars(
            select(Person.national_number)
            .join(Employment, Employment.person_id == Person.id)
            .where(Employment.employer_id == employer_id)
            .limit(1)
        ).one()
    auth.PERSONAS["bench"] = auth.Persona("bench", "Bench HR", None, {en: auth.Role.EDITOR})
    # what a server process holds after start-up (here: also the generated data) is moved out
    # of the collector's reach, as `ila serve` does after building the app
    gc.collect()
    gc.freeze()
    pages = {
        "dashboard (3 charts, totals, first page of 50 workers)": f"/employer/{en}?year={year}",
        "dashboard fragment (HTMX year switch)": f"/employer/{en}?year={year}",
        "dashboard, workers 2,501–2,550 by expiring days (HTMX)": (
            f"/employer/{en}?year={year}&order=expiring&offset=2500"
        ),
        "a worker's account (employer view)": f"/employer/{en}/worker/{worker}?year={year}",
        "training rights (first page of 100 workers)": f"/employer/{en}/rights?year={year}",
        "trainings of the company (first page of 50)": f"/employer/{en}/trainings",
        "XML batches (upload form and recent batches)": f"/employer/{en}/batches",
        "trainings to verify": f"/employer/{en}/verify",
        "register a training (form)": f"/employer/{en}/trainings/new",
    }
    results = []
    with TestClient(create_app(container), headers={"accept-language": "en"}) as client:
        token = re.search(r'"X-CSRF-Token": "([^"]+)"', client.get("/login").text)
        assert token is not None
        client.post("/login/demo", data={"csrf_token": token.group(1), "persona": "bench"})
        for name, path in pages.items():
            headers = {"HX-Request": "true"} if "HTMX" in name else {}
            response = client.get(path, headers=headers)
            assert response.status_code == 200, (name, response.status_code)
            times, cpu, response = _measure(client, path, headers, args.runs)
            results.append(
                (
                    name,
                    statistics.median(times),
                    statistics.quantiles(times, n=20)[-1],  # p95
                    max(times),
                    statistics.median(cpu),
                    len(response.content),
                )
            )
    container.close()
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"{os.cpu_count()} CPUs; load average at the end (1, 5, 15 min): {load}")
    title = f"page ({args.db}, company of {size:,} workers, {args.runs} runs)"
    print(f"| {title} | median ms | p95 ms | max ms | CPU ms (median) | bytes |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, median, p95, worst, cpu_ms, size in results:
        print(f"| {name} | {median:.0f} | {p95:.0f} | {worst:.0f} | {cpu_ms:.0f} | {size:,} |")


if __name__ == "__main__":
    main()

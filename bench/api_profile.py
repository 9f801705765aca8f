"""Steady per-request figures of the API routes that ``bench/api_load.py`` measures under load:
CPU time and SQL statements per request, and optionally a cProfile of one route.

Figures under load move with whatever else the machine runs; these do not (much). The app is
the one ``bench/api_server.py`` serves, called in-process through httpx's ASGI transport, one
request at a time, with the synchronous routes run inline on the event loop's thread (so that
one profiler sees everything), against the database an earlier ``bench/api_load.py`` run
prepared. The CPU time counts the client's share too (the same for every route: compare with
the constant route). Statements are those sent through SQLAlchemy: the audit append that an API
request sends with its ``COMMIT`` straight through psycopg (ADR 0019) is one more.

    .venv/bin/python bench/api_profile.py [--requests 300] [--profile account] [--show-sql]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

import fastapi.dependencies.utils
import fastapi.routing
import httpx
from sqlalchemy import event

import api_load
import api_server
from ila.bootstrap import bootstrap
from ila.config import Environment, Settings
from rights_compute import pg_url

BASE = "http://testserver"


async def _inline(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return func(*args, **kwargs)


fastapi.routing.run_in_threadpool = _inline  # type: ignore[assignment]
fastapi.dependencies.utils.run_in_threadpool = _inline  # type: ignore[assignment]


def _settings() -> Settings:
    os.environ.update(
        {
            "ILA_DATABASE_URL": pg_url(api_load.DATABASE),
            "ILA_ENVIRONMENT": Environment.DEVELOPMENT.value,
            "ILA_PUBLIC_URL": BASE,
            "ILA_API_RATE_PER_SECOND": "1000000",
            "ILA_API_RATE_BURST": "1000000",
        }
    )
    return Settings()


async def run(args: argparse.Namespace) -> None:
    settings = _settings()
    container = bootstrap(settings)
    try:
        en, workers = api_load.largest_employer(container)
    finally:
        container.close()
    app = api_server.app()
    engine = app.state.bench_engine
    statements = 0

    show = False

    def count(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        nonlocal statements
        statements += 1
        if show:
            print("   ", " ".join(sql.split())[:160])

    event.listen(engine, "before_cursor_execute", count)
    rng = random.Random(1)
    counter = 0
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),  # opens the asynchronous pool (ADR 0021)
        httpx.AsyncClient(transport=transport, base_url=BASE) as http,
    ):
        answer = await http.post("/api/v1/oauth/token", data=api_load.token_form(settings, en))
        answer.raise_for_status()
        bearer = {"Authorization": f"Bearer {answer.json()['access_token']}"}

        async def post() -> httpx.Response:
            nonlocal counter
            counter += 1
            return await http.post(
                f"/api/v1/employers/{en}/trainings",
                headers=bearer,
                json={
                    "items": [
                        {
                            "national_number": rng.choice(workers),
                            "record_id": f"profile-{time.time_ns()}-{counter}",
                            "title": "Forklift safety",
                            "provider": "Safety Academy",
                            "start_date": "2025-03-04",
                            "end_date": "2025-03-05",
                            "duration": "8",
                            "duration_unit": "hours",
                            "nature": "formal_external",
                            "status": "followed",
                        }
                    ]
                },
            )

        routes: dict[str, Callable[[], Awaitable[httpx.Response]]] = {
            "constant": lambda: http.get("/api/v1/bench/constant"),
            "io": lambda: http.get(f"/api/v1/bench/person/{rng.choice(workers)}"),
            "account": lambda: http.get(
                f"/api/v1/employers/{en}/workers/{rng.choice(workers)}/account?year=2025",
                headers=bearer,
            ),
            "post": post,
        }
        for name, call in routes.items():
            for _ in range(20):  # warm-up: caches, pool
                response = await call()
                assert response.status_code < 300, (name, response.text)
            if args.show_sql:
                show = True
                print(f"{name}:")
                await call()
                show = False
            statements = 0
            cpu, wall = time.process_time(), time.perf_counter()
            for _ in range(args.requests):
                await call()
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            print(
                f"{name:9} {cpu / args.requests * 1000:6.2f} ms CPU/request "
                f"{wall / args.requests * 1000:6.2f} ms wall/request "
                f"{statements / args.requests:5.1f} SQL statements/request"
            )
        if args.profile:
            profiler = cProfile.Profile(time.process_time)  # CPU, not waiting
            call = routes[args.profile]
            profiler.enable()
            for _ in range(args.requests):
                await call()
            profiler.disable()
            stats = pstats.Stats(profiler).sort_stats(args.sort)
            stats.print_stats(args.lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="requests per route")
    parser.add_argument(
        "--profile", choices=["constant", "io", "account", "post"], help="cProfile this route"
    )
    parser.add_argument("--show-sql", action="store_true", help="print one request's SQL")
    parser.add_argument("--sort", default="cumulative", help="pstats sort key")
    parser.add_argument("--lines", type=int, default=45, help="profile lines shown")
    args = parser.parse_args()
    asyncio.run(run(args))


if __name__ == "__main__":
    main()

"""The application as ``bench/api_load.py`` serves it: the real app (``create_app``) plus the two
floors measured in the same run, on the same server processes and the same engine, as routes
of the API app placed first (so that they cross the same layers as an API request):

* ``GET /api/v1/bench/constant``: a constant JSON document (the framework floor);
* ``GET /api/v1/bench/person/{national_number}``: one indexed PostgreSQL read by key,
  returned as JSON (the I/O floor of the synchronous stack), through the app's own engine and
  connection pool (autocommit: one round trip), in a worker thread like the API's synchronous
  routes (AnyIO's 40 threads per process, the pool of ``ila.db.uow``);
* ``GET /api/v1/bench/person-async/{national_number}``: the same read on the event loop,
  through the app's asyncio pool (``ila.db.aio``, ADR 0021): the stack of the account read,
  so its floor.

Started by ``bench/api_load.py`` as ``python bench/api_server.py --port P --processes 2``: the
server processes of ``ila serve --processes N`` (``ila.web.serve``), which share one listening
socket and take new connections in turn. The settings come from the environment
(``ILA_DATABASE_URL`` …) exactly as for ``ila serve``. Not part of the product: the floor
routes exist only here."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from sqlalchemy import bindparam, select

from ila.bootstrap import bootstrap
from ila.config import Settings
from ila.db.aio import AsyncDatabase, compile_pg
from ila.identity.models import Person
from ila.web.app import create_app
from ila.web.serve import listen, serve_processes, settle_heap

CONSTANT = {"status": "ok", "service": "ila", "version": 1}


def app() -> FastAPI:
    container = bootstrap(Settings())
    application = create_app(container)
    engine = container.engine
    application.state.bench_engine = engine  # bench/api_profile.py counts its statements
    query = select(Person.id, Person.national_number, Person.given_name, Person.family_name)

    # on the API app, first in its routes like the account read's route: the floors cross
    # the same layers as the API's own requests (ila.web.app._Site sends /api/v1/ there)
    api: FastAPI = application.api  # type: ignore[assignment]

    @api.get("/bench/constant")
    async def constant() -> dict[str, Any]:
        return CONSTANT

    by_key = compile_pg(query.where(Person.national_number == bindparam("nn")))

    @api.get("/bench/person-async/{national_number}")
    async def person_async(national_number: str, request: Request) -> dict[str, Any]:
        aio: AsyncDatabase = request.app.state.aio
        async with aio.reading() as connection:
            cursor = await connection.execute(
                by_key.sql, by_key.parameters({"nn": national_number})
            )
            row = await cursor.fetchone()
        if row is None:
            raise HTTPException(404)
        return {"id": row[0], "national_number": row[1], "name": f"{row[2]} {row[3]}"}

    @api.get("/bench/person/{national_number}")
    def person(national_number: str) -> dict[str, Any]:
        # the best case of the stack: one statement on a pooled autocommit connection (one
        # round trip, no BEGIN/ROLLBACK), as the API's token check does
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            row = conn.execute(query.where(Person.national_number == national_number)).first()
        if row is None:
            raise HTTPException(404)
        return {"id": row[0], "national_number": row[1], "name": f"{row[2]} {row[3]}"}

    routes = api.router.routes
    floors = routes[-3:]
    del routes[-3:]
    routes[0:0] = floors
    settle_heap()  # as `ila serve` does
    return application


def main() -> None:
    parser = argparse.ArgumentParser(description="the server processes of bench/api_load.py")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    # as `ila serve --processes N`: one socket, connections dealt out in turn (ila.web.serve)
    listener = listen("127.0.0.1", args.port)
    sys.exit(serve_processes(lambda _slot: app(), listener, args.processes))


if __name__ == "__main__":
    main()

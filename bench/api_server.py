"""The application as ``bench/api_load.py`` serves it: the real app (``create_app``) plus the two
floors measured in the same run, on the same server processes and the same engine:

* ``GET /bench/constant``: a constant JSON document (the framework floor);
* ``GET /bench/person/{national_number}``: one indexed PostgreSQL read by key, returned as JSON
  (the I/O floor), through the app's own engine and connection pool (autocommit: one round
  trip), in a worker thread like the API's routes (synchronous, AnyIO's 40 threads per
  process, the pool of ``ila.db.uow``).

Started by ``uvicorn --factory --app-dir bench api_server:app --workers 2``; the settings come
from the environment (``ILA_DATABASE_URL`` …) exactly as for ``ila serve``. Not part of the
product: the floor routes exist only here."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, HTTPException
from sqlalchemy import select

from ila.bootstrap import bootstrap
from ila.config import Settings
from ila.identity.models import Person
from ila.web.app import create_app

CONSTANT = {"status": "ok", "service": "ila", "version": 1}


def app() -> FastAPI:
    container = bootstrap(Settings())
    application = create_app(container)
    engine = container.engine
    application.state.bench_engine = engine  # bench/api_profile.py counts its statements
    query = select(Person.id, Person.national_number, Person.given_name, Person.family_name)

    @application.get("/bench/constant")
    async def constant() -> dict[str, Any]:
        return CONSTANT

    @application.get("/bench/person/{national_number}")
    def person(national_number: str) -> dict[str, Any]:
        # the best case of the stack: one statement on a pooled autocommit connection (one
        # round trip, no BEGIN/ROLLBACK), as the API's token check does
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            row = conn.execute(query.where(Person.national_number == national_number)).first()
        if row is None:
            raise HTTPException(404)
        return {"id": row[0], "national_number": row[1], "name": f"{row[2]} {row[3]}"}

    return application

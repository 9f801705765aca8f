"""Functional fixtures: a fresh, empty database per test (SQLite file or a PostgreSQL database
created for the purpose), reached through ``ILA_DATABASE_URL`` exactly as a user would."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from ila.bootstrap import Container, bootstrap
from ila.config import Environment, Settings
from tests.conftest import BACKENDS, PG_URL, pg_engine_or_skip

# one database per test process, so concurrent runs on one server never drop each other's
FUNCTIONAL_DB = f"ila_functional_{os.getpid()}"


@pytest.fixture(params=BACKENDS)
def db_url(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    admin = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'ila.sqlite3'}"
    else:
        admin = pg_engine_or_skip(PG_URL).execution_options(isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {FUNCTIONAL_DB} WITH (FORCE)"))
            conn.execute(text(f"CREATE DATABASE {FUNCTIONAL_DB}"))
        url = make_url(PG_URL).set(database=FUNCTIONAL_DB).render_as_string(hide_password=False)
    monkeypatch.setenv("ILA_DATABASE_URL", url)
    monkeypatch.setenv("ILA_ENVIRONMENT", "test")
    yield url
    if admin is not None:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {FUNCTIONAL_DB} WITH (FORCE)"))
        admin.dispose()


@pytest.fixture
def app_container(db_url: str) -> Iterator[Container]:
    container = bootstrap(Settings(environment=Environment.TEST, database_url=db_url))
    yield container
    container.close()

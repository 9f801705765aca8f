"""Test fixtures: every database test runs on SQLite and on PostgreSQL.

The schema is built by the Alembic migrations (not ``create_all``), once per backend per session;
each test runs inside an outer transaction that is rolled back, the code under test committing
only savepoints. With ``CI=true`` an unreachable PostgreSQL fails the run instead of skipping.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import sessionmaker

from ila.bootstrap import Container
from ila.config import Environment, Settings
from ila.db.migrate import upgrade
from ila.db.uow import UnitOfWork, make_engine
from ila.rights.rules import load_rules

PG_URL = os.environ.get("ILA_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() == "true"
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def pg_engine_or_skip(url: str = PG_URL) -> Engine:
    engine = make_engine(url)
    try:
        with engine.connect():
            pass
    except OperationalError as exc:
        engine.dispose()
        if IN_CI:
            pytest.fail(f"PostgreSQL unreachable at {url} while CI=true: {exc}")
        pytest.skip(f"PostgreSQL unreachable at {url}")
    return engine


@pytest.fixture(scope="session")
def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    path: Path = tmp_path_factory.mktemp("db") / "test.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    yield engine
    engine.dispose()


# one database per test process, so concurrent runs on one server never drop each other's schema
INTEGRATION_DB = f"ila_test_{os.getpid()}"


@pytest.fixture(scope="session")
def postgresql_engine() -> Iterator[Engine]:
    admin = pg_engine_or_skip().execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {INTEGRATION_DB} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {INTEGRATION_DB}"))
    engine = make_engine(
        make_url(PG_URL).set(database=INTEGRATION_DB).render_as_string(hide_password=False)
    )
    upgrade(engine)
    yield engine
    engine.dispose()
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {INTEGRATION_DB} WITH (FORCE)"))
    admin.dispose()


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest) -> Engine:
    fixture_engine: Engine = request.getfixturevalue(f"{request.param}_engine")
    return fixture_engine


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn:
        outer = conn.begin()
        yield conn
        outer.rollback()


@pytest.fixture
def container(connection: Connection, engine: Engine) -> Container:
    settings = Settings(environment=Environment.TEST, database_url=str(engine.url))
    factory = sessionmaker(
        bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
    )
    return Container(settings, engine, factory, load_rules())


@pytest.fixture
def uow(container: Container) -> UnitOfWork:
    return container.uow()

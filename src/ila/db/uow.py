"""Engine construction and the unit of work: one transaction per use case, committed at the
boundary (never inside a repository); rolled back unless explicitly committed."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Any, Self

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

POOL_SIZE = 20
"""Database connections a process keeps open (PostgreSQL). A synchronous route holds one
connection at a time (the token check returns its own before the route's transaction takes
one), so this many requests run in one process without opening a connection."""
POOL_OVERFLOW = 20
"""Further connections, opened when more requests than :data:`POOL_SIZE` run at once and
closed when returned: up to 40 in all, AnyIO's number of worker threads, so a request never
waits for a connection. Each overflow connection is a new PostgreSQL backend per request: a
pool far below the concurrency (it was 5 + 10) made that most of the cost of a read under
load (docs/benchmarks.md)."""


def make_engine(url: str, *, echo: bool = False) -> Engine:
    kwargs: dict[str, Any] = {"echo": echo, "future": True}
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"check_same_thread": False}
    else:
        # no pre-ping (a round trip per checkout): a connection found dead when used fails that
        # statement, and SQLAlchemy then recycles every connection of the pool opened before
        # (a database restart costs one failed request per process, not a failure per
        # connection); connections are renewed hourly in any case
        kwargs |= {
            "pool_size": POOL_SIZE,
            "max_overflow": POOL_OVERFLOW,
            "pool_recycle": 3600,
            "pool_use_lifo": True,
        }
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


SQLITE_BEGIN = "sqlite_begin"
"""Execution option naming how a SQLite transaction begins: ``DEFERRED`` (the default) or
``IMMEDIATE`` (takes the write lock at once). A transaction that reads and then writes while
another connection writes must begin ``IMMEDIATE``: a deferred one cannot upgrade its stale
read snapshot and fails with "database is locked" whatever the busy timeout."""


def _sqlite_begin(conn: Any) -> None:
    mode = conn.get_execution_options().get(SQLITE_BEGIN, "DEFERRED")
    if mode not in ("DEFERRED", "IMMEDIATE"):
        raise ValueError(f"unknown SQLite begin mode {mode!r}")
    conn.exec_driver_sql(f"BEGIN {mode}")


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # let SQLAlchemy drive transactions (BEGIN below) so SAVEPOINTs work as on PostgreSQL
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")  # writers queue for the lock
    cur.close()


class UnitOfWork:
    """``with uow: ...; uow.commit()`` — anything not committed is rolled back on exit."""

    session: Session

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._factory = session_factory

    def __enter__(self) -> Self:
        self.session = self._factory()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # close() rolls back whatever was not committed, and (unlike rollback()) leaves the
        # objects already read usable after the unit of work ends
        self.session.close()

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()


class SavepointUnitOfWork(UnitOfWork):
    """A unit of work inside a transaction that is already open (a demo load, a batch chunk):
    entering opens a savepoint of the shared session, ``commit`` releases it, leaving without
    committing rolls it back (the same contract as :class:`UnitOfWork`)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._savepoint: SessionTransaction | None = None

    def __enter__(self) -> Self:
        self._savepoint = self.session.begin_nested()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._savepoint is not None and self._savepoint.is_active:
            self._savepoint.rollback()
        self._savepoint = None

    def commit(self) -> None:
        if self._savepoint is not None:
            self._savepoint.commit()

    def rollback(self) -> None:
        if self._savepoint is not None:
            self._savepoint.rollback()

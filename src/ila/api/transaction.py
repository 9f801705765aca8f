"""One database transaction per API request.

The use cases (``set_rights``, ``explain``, ``grant_mandate``…) each open and commit their own
unit of work. An API request must also check the caller's mandate, record the audit and store
the idempotency key *in the same transaction* as the use case's write, so that they succeed or
fail together. :func:`request_transaction` opens that transaction and hands out a container
whose units of work join it (each one a savepoint; their ``commit`` releases it); the request's
transaction commits once the handler has returned.

The audit rows the request records through its own session are chained at the very end, with
the commit (:func:`ila.audit.chain.append_deferred`): on PostgreSQL the append and ``COMMIT``
go in one round trip, so the audit chain's head is locked only while the server works (ADR
0019), not while this process waits for its turn to run Python code."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

from sqlalchemy.orm import Session, sessionmaker

from ila.audit.chain import append_deferred, defer_appends
from ila.bootstrap import Container
from ila.db.uow import SQLITE_BEGIN


@dataclass(frozen=True)
class Transaction:
    session: Session  # for the request's own reads and writes (mandate check, keys, audit)
    container: Container  # hand this to use cases: their units of work join the transaction


@contextmanager
def request_transaction(container: Container) -> Iterator[Transaction]:
    with container.engine.connect() as connection:
        # every request writes (at least its audit rows): on SQLite take the write lock at
        # BEGIN, so concurrent requests queue instead of failing on a stale read snapshot
        connection.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
        with connection.begin():
            # the request's own session works in the transaction itself (no savepoint: its
            # commit only flushes; the transaction commits when the block ends); the use
            # cases' units of work each get a savepoint, released by their commit
            own = sessionmaker(
                bind=connection, expire_on_commit=False, join_transaction_mode="rollback_only"
            )
            nested = sessionmaker(
                bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
            )
            with own() as session:
                defer_appends(session)
                yield Transaction(session, replace(container, session_factory=nested))
                append_deferred(session)  # on PostgreSQL this commits: nothing may follow
                session.commit()

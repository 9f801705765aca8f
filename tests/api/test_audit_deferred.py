"""The audit rows of an API request are chained at its commit (SQLite and PostgreSQL; on
PostgreSQL by one statement sent with COMMIT, the hashes computed by the database): the chain
they make is the one ``append_entries`` would have made — same hashes, numbered without gaps,
linear under concurrent requests — and a request that fails leaves none."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, func, select

from ila.access.audit import record_personal_data_access
from ila.access.domain import Acting, Caller
from ila.api.transaction import request_transaction
from ila.audit.chain import GENESIS, entry_hash, verify_chain
from ila.audit.models import AuditChainHead, AuditEvent
from ila.audit.service import record_event
from ila.bootstrap import Container
from ila.db.migrate import upgrade
from tests.builders import fake_enterprise, fake_niss

CALLER = Caller(1, "client-é", fake_enterprise(1), frozenset())
ACTING = Acting(1, fake_enterprise(1), 7, frozenset())


@pytest.fixture
def migrated(app_container: Container) -> Container:
    upgrade(app_container.engine)
    return app_container


def _record(container: Container, people: list[str], request_id: str) -> None:
    with request_transaction(container) as tx:
        record_personal_data_access(
            tx.session,
            caller=CALLER,
            acting=ACTING,
            action="workers.list",
            subjects={"national_numbers": people, "year": 2025, "note": "Zoë «ß»"},
            request_id=request_id,
            legal_context="art. 52, §1",
        )


def _rows(container: Container) -> list[AuditEvent]:
    with container.uow() as uow:
        return list(uow.session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))


def _intact(container: Container) -> int:
    with container.uow() as uow:
        report = verify_chain(uow.session)
    assert report.intact, report.problems
    return report.last_seq


def test_deferred_rows_chain_like_immediate_ones(migrated: Container) -> None:
    _record(migrated, [fake_niss(1)], "req-1")
    with request_transaction(migrated) as tx:  # an immediate entry, then deferred ones
        record_event(
            tx.session, actor="t", action="a", resource="r", request_id="req-2", details={}
        )
        record_personal_data_access(
            tx.session,
            caller=CALLER,
            acting=ACTING,
            action="account.read",
            subjects={"national_number": fake_niss(2), "year": 2025},
            request_id="req-2",
        )
    _record(migrated, [fake_niss(3), fake_niss(4), fake_niss(3), fake_niss(5)], "req-3")
    rows = _rows(migrated)
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5, 6]
    assert [r.subject_national_number for r in rows] == [
        fake_niss(1),
        None,
        fake_niss(2),
        fake_niss(3),
        fake_niss(4),
        fake_niss(5),
    ]
    prev = GENESIS
    for row in rows:  # the hashes stored are the ones computed in Python
        fields = {c: getattr(row, c) for c in ("seq", "occurred_at", "actor", "organisation")}
        fields |= {
            c: getattr(row, c)
            for c in (
                "on_behalf_of",
                "action",
                "resource",
                "subject_national_number",
                "request_id",
                "legal_context",
                "details",
            )
        }
        assert row.prev_hash == prev
        assert row.entry_hash == entry_hash(prev, fields)
        prev = row.entry_hash
    assert rows[-1].details == {"year": 2025, "note": "Zoë «ß»", "mandate_id": 7, "listed": 3}
    with migrated.uow() as uow:
        head = uow.session.get(AuditChainHead, 1)
        assert head is not None
        assert (head.seq, head.entry_hash) == (6, prev)
    assert _intact(migrated) == 6


def test_a_failed_request_leaves_no_row(migrated: Container) -> None:
    _record(migrated, [fake_niss(1)], "req-1")

    def failing_handler() -> None:
        with request_transaction(migrated) as tx:
            record_personal_data_access(
                tx.session,
                caller=CALLER,
                acting=ACTING,
                action="account.read",
                subjects={"national_number": fake_niss(2)},
                request_id="req-2",
            )
            raise RuntimeError("the handler fails after recording")

    with pytest.raises(RuntimeError):
        failing_handler()
    assert [r.request_id for r in _rows(migrated)] == ["req-1"]
    assert _intact(migrated) == 1


def test_deferred_rows_continue_after_a_lost_head(migrated: Container) -> None:
    with migrated.uow() as uow:
        uow.session.execute(delete(AuditChainHead))
        uow.commit()
    _record(migrated, [fake_niss(1), fake_niss(2)], "req-1")  # from an empty table
    with migrated.uow() as uow:
        uow.session.execute(delete(AuditChainHead))
        uow.commit()
    _record(migrated, [fake_niss(3)], "req-2")  # after the last stored entry
    assert [r.seq for r in _rows(migrated)] == [1, 2, 3]
    assert _intact(migrated) == 3


def test_concurrent_requests_keep_the_chain_linear(migrated: Container) -> None:
    errors: list[BaseException] = []

    def work(thread: int) -> None:
        try:
            for i in range(6):
                _record(migrated, [fake_niss(thread * 10 + i + 1)], f"req-{thread}-{i}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with migrated.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(AuditEvent)) == 30
    assert _intact(migrated) == 30
    assert all(r.occurred_at <= datetime.now(UTC) for r in _rows(migrated))

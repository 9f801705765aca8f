"""The scheduler on SQLite and PostgreSQL: each due job runs once per period, claimed so that
another scheduler skips it until its lease expires; a failing job is recorded and retried
later without stopping the others; the shipped jobs do their work (retention with its proof,
checkpoints, webhooks)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from ila.access.models import ApiClient
from ila.api.models import IdempotencyKey
from ila.audit.models import AuditEvent
from ila.bootstrap import Container
from ila.db.base import utcnow
from ila.errors import ValidationError
from ila.jobs.models import ScheduledJob
from ila.jobs.schedule import (
    JOBS,
    LEASE,
    RETRY,
    Job,
    _claim,
    job_rows,
    run_due,
    select_jobs,
)
from tests import builders

CALLS: list[str] = []


def _ok(container: Container) -> str:
    CALLS.append("ok")
    return "did it"


def _broken(container: Container) -> str:
    CALLS.append("broken")
    raise RuntimeError("the receiver is down")


FAST = Job("test.fast", timedelta(seconds=10), "a job that works", _ok)
BROKEN = Job("test.broken", timedelta(hours=1), "a job that fails", _broken)


@pytest.fixture(autouse=True)
def _calls() -> None:
    CALLS.clear()


def _rows(container: Container) -> dict[str, ScheduledJob]:
    return {r.name: r for r in job_rows(container)}


def test_a_due_job_runs_once_per_period(container: Container) -> None:
    now = utcnow()
    runs = run_due(container, jobs=[FAST], worker="a", now=now)
    assert [(r.name, r.outcome, r.summary) for r in runs] == [("test.fast", "ok", "did it")]
    assert run_due(container, jobs=[FAST], worker="b", now=now + timedelta(seconds=9)) == []
    row = _rows(container)["test.fast"]
    assert (row.runs, row.failures, row.last_outcome, row.running_by) == (1, 0, "ok", None)
    assert row.next_run_at == now + FAST.every
    later = run_due(container, jobs=[FAST], worker="b", now=now + FAST.every)
    assert [r.outcome for r in later] == ["ok"]
    assert CALLS == ["ok", "ok"]


def test_a_failing_job_is_recorded_and_does_not_stop_the_others(container: Container) -> None:
    now = utcnow()
    runs = run_due(container, jobs=[BROKEN, FAST], worker="a", now=now)
    assert [(r.name, r.outcome) for r in runs] == [("test.broken", "failed"), ("test.fast", "ok")]
    assert "RuntimeError: the receiver is down" in runs[0].summary
    row = _rows(container)["test.broken"]
    assert (row.runs, row.failures, row.last_outcome) == (1, 1, "failed")
    assert row.next_run_at == now + RETRY  # sooner than its hour
    assert row.lease_until is None


def test_a_claimed_job_is_skipped_until_its_lease_expires(container: Container) -> None:
    now = utcnow()
    run_due(container, jobs=[FAST], worker="a", now=now - FAST.every)  # the row exists
    assert _claim(container, FAST, "a", now)  # scheduler a took it and died
    assert not _claim(container, FAST, "b", now)
    assert run_due(container, jobs=[FAST], worker="b", now=now + timedelta(minutes=30)) == []
    taken_over = run_due(container, jobs=[FAST], worker="b", now=now + LEASE + timedelta(1))
    assert [r.outcome for r in taken_over] == ["ok"]
    assert _rows(container)["test.fast"].running_by is None


def test_the_shipped_jobs_do_their_work(container: Container) -> None:
    with container.uow() as uow:
        client = ApiClient(
            client_id=f"c-{uuid.uuid4().hex[:8]}",
            organisation=builders.fake_enterprise(1),
            name="test",
            public_jwk={},
            scopes="",
            created_by="test",
        )
        uow.session.add(client)
        uow.session.flush()
        uow.session.add(
            IdempotencyKey(
                client_pk=client.id,
                key="old",
                fingerprint="f" * 64,
                status_code=201,
                response_body="{}",
                created_at=utcnow() - timedelta(days=40),
            )
        )
        uow.commit()
    runs = {r.name: r for r in run_due(container, worker="a")}
    assert set(runs) == {j.name for j in JOBS}
    assert all(r.outcome == "ok" for r in runs.values()), runs
    assert runs["retention.run"].summary == "destroyed 1 (api.idempotency_keys 1)"
    assert runs["audit.checkpoint"].summary.startswith(
        "no checkpoint: 0 new entries"
    )  # it runs before retention
    assert runs["webhooks.deliver"].summary.startswith("dispatched 0, attempted 0")
    with container.uow() as uow:
        (proof,) = uow.session.scalars(select(AuditEvent))
        assert uow.session.scalar(select(IdempotencyKey.id)) is None
    assert (proof.actor, proof.details["rule"]) == ("system:retention", "api.idempotency_keys")
    assert run_due(container, worker="b") == []  # nothing due again at once


def test_unknown_jobs_are_named() -> None:
    assert [j.name for j in select_jobs(["retention.run"])] == ["retention.run"]
    assert select_jobs([]) == list(JOBS)
    with pytest.raises(ValidationError) as caught:
        select_jobs(["nope"])
    assert caught.value.code == "unknown_job"

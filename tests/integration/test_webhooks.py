"""Outbox and webhooks on SQLite and PostgreSQL, delivering to a real HTTP receiver on
loopback: signed per Standard Webhooks, retried with back-off while the receiver is down, in
order per person, the same id on duplicates, visible delivery state."""

from __future__ import annotations

import dataclasses
import json
import socket
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from standardwebhooks import Webhook, WebhookVerificationError

from ila.bootstrap import Container
from ila.db.base import utcnow
from ila.errors import ConfigurationError, InvalidEnterpriseNumber, NotFound, ValidationError
from ila.exchange.outbox import OutboxEvent, emit
from ila.exchange.webhooks import (
    DELIVERED,
    FAILED,
    PENDING,
    WebhookDelivery,
    backoff,
    deliver_due,
    delivery_rows,
    dispatch,
    load_resolver,
    retry,
    run_once,
    sign,
    subscribe,
    unsubscribe,
)
from tests.builders import fake_enterprise, fake_niss

ORG_A, ORG_B = fake_enterprise(1), fake_enterprise(2)
P1, P2 = fake_niss(1), fake_niss(2)


class Receiver:
    """A real HTTP server on loopback recording every request; answers from ``statuses``
    (then 204)."""

    def __init__(self, port: int = 0) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.paths: list[str] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                receiver.paths.append(self.path)
                status = receiver.statuses.pop(0) if receiver.statuses else 204
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def ids(self) -> list[str]:
        return [h["webhook-id"] for h, _ in self.requests]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


DIRECTORY = {P1: [ORG_A], P2: [ORG_A, ORG_B]}


def resolver(session: Session, national_number: str, at: datetime) -> list[str]:
    assert at.tzinfo is not None
    return DIRECTORY.get(national_number, [])


def _subscribe(container: Container, org: str, url: str) -> tuple[int, str]:
    with container.uow() as uow:
        sub = subscribe(uow.session, organisation=org, url=url, actor="test", https_only=False)
        uow.commit()
        return sub.id, sub.secret


def _emit(container: Container, *events: tuple[str, int]) -> list[str]:
    ids = []
    with container.uow() as uow:
        for person, training in events:
            ids.append(emit(uow.session, "be.ila.account.changed", person, {"training": training}))
        uow.commit()
    return ids


def _deliveries(container: Container) -> list[WebhookDelivery]:
    with container.uow() as uow:
        return list(uow.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


def test_the_standard_webhooks_test_vector() -> None:
    assert (
        sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            b'{"test": 2432232314}',
        )
        == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


def test_an_event_commits_or_rolls_back_with_its_change(container: Container) -> None:
    with container.uow() as uow:
        emit(uow.session, "be.ila.account.changed", P1, {"training": 1})
    with container.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(OutboxEvent)) == 0
        event_id = emit(uow.session, "be.ila.account.changed", P1, {"training": 1, "y": (1, 2)})
        uow.commit()
    with container.uow() as uow:
        event = uow.session.scalars(select(OutboxEvent)).one()
        body = event.cloudevent()
    assert body["id"] == event_id
    assert body["specversion"] == "1.0"
    assert body["subject"] == P1
    assert body["data"] == {"training": 1, "y": [1, 2]}
    assert body["time"].endswith("Z")
    with container.uow() as uow, pytest.raises(ValidationError):
        emit(uow.session, "not a type", P1)
    with container.uow() as uow, pytest.raises(ValidationError):
        emit(uow.session, "be.ila.x", P1, {str(i): i for i in range(30)})


def test_signed_delivery_to_the_institutions_concerned(
    container: Container, receiver: Receiver
) -> None:
    _sub_a, secret_a = _subscribe(container, ORG_A, receiver.url)
    _sub_b, secret_b = _subscribe(container, ORG_B, receiver.url + "/b")
    ids = _emit(container, (P1, 1), (P2, 2), (fake_niss(3), 3))
    with container.uow() as uow:  # an event about nobody in particular goes to nobody
        emit(uow.session, "be.ila.platform.notice", None)
        uow.commit()
    report = run_once(container, resolver)
    assert (report.dispatched, report.attempted, report.delivered) == (3, 3, 3)
    # P1 → A; P2 → A and B; the third person concerns no institution
    assert sorted(receiver.ids()) == sorted([ids[0], ids[1], ids[1]])
    assert sorted(receiver.paths) == ["/hooks", "/hooks", "/hooks/b"]
    for path, (headers, body) in zip(receiver.paths, receiver.requests, strict=True):
        right, wrong = (secret_a, secret_b) if path == "/hooks" else (secret_b, secret_a)
        verified = Webhook(right).verify(body, headers)  # the receiver's own library
        with pytest.raises(WebhookVerificationError):
            Webhook(wrong).verify(body, headers)
        assert verified["id"] == headers["webhook-id"]
        assert headers["content-type"].startswith("application/cloudevents+json")
        assert "training" in verified["data"]
    rows = _deliveries(container)
    assert [r.status for r in rows] == [DELIVERED] * 3
    assert all(r.attempts == 1 and r.last_status == 204 for r in rows)
    assert run_once(container, resolver).attempted == 0  # nothing twice


def test_delivery_survives_the_receiver_being_down(container: Container) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/hooks"
    _subscribe(container, ORG_A, url)
    _subscribe(container, ORG_B, url + "/b")
    ids = _emit(container, (P1, 1), (P2, 2), (P1, 3), (P2, 4), (P1, 5))
    t0 = utcnow()
    report = run_once(container, resolver, now=t0)
    # one attempt per subscription and person; the later ones wait behind it
    assert report.dispatched == 7
    assert report.attempted == 3
    assert report.retrying == 3
    assert report.waiting == 4
    rows = _deliveries(container)
    assert {r.status for r in rows} == {PENDING}
    tried = [r for r in rows if r.attempts]
    assert len(tried) == 3
    assert all("ConnectError" in (r.last_error or "") and r.last_status is None for r in tried)
    assert all(r.next_attempt_at - t0 == timedelta(seconds=5) for r in tried)
    # still down at the second attempt: the delay doubles
    assert run_once(container, resolver, now=t0 + timedelta(seconds=1)).attempted == 0
    assert run_once(container, resolver, now=t0 + timedelta(seconds=6)).attempted == 3
    assert {r.next_attempt_at - t0 for r in _deliveries(container) if r.attempts} == {
        timedelta(seconds=16)
    }
    receiver = Receiver(port)
    try:
        report = run_once(container, resolver, now=t0 + timedelta(minutes=1))
        assert (report.delivered, report.retrying, report.waiting) == (7, 0, 0)
        seen: dict[tuple[str, str], list[str]] = {}
        for path, (headers, body) in zip(receiver.paths, receiver.requests, strict=True):
            seen.setdefault((path, json.loads(body)["subject"]), []).append(headers["webhook-id"])
        # every notification arrives once, in order per institution and person
        assert seen == {
            ("/hooks", P1): [ids[0], ids[2], ids[4]],
            ("/hooks", P2): [ids[1], ids[3]],
            ("/hooks/b", P2): [ids[1], ids[3]],
        }
    finally:
        receiver.stop()
    assert {r.status for r in _deliveries(container)} == {DELIVERED}


def test_a_duplicate_carries_the_same_id(container: Container, receiver: Receiver) -> None:
    _subscribe(container, ORG_A, receiver.url)
    (event_id,) = _emit(container, (P1, 1))
    receiver.statuses = [500]  # processed, but the answer says otherwise
    t0 = utcnow()
    assert run_once(container, resolver, now=t0).retrying == 1
    assert run_once(container, resolver, now=t0 + timedelta(seconds=10)).delivered == 1
    assert receiver.ids() == [event_id, event_id]
    assert receiver.requests[0][1] == receiver.requests[1][1]  # the same body
    (row,) = _deliveries(container)
    assert (row.status, row.attempts, row.last_status, row.last_error) == (DELIVERED, 2, 204, None)
    with container.uow() as uow:
        (state,) = delivery_rows(uow.session, status=DELIVERED)
    assert state["event_id"] == event_id
    assert state["next_attempt_at"] is None


def test_failed_after_the_last_attempt_then_retried(
    container: Container, receiver: Receiver
) -> None:
    container = dataclasses.replace(
        container, settings=container.settings.model_copy(update={"webhook_max_attempts": 2})
    )
    _subscribe(container, ORG_A, receiver.url)
    _emit(container, (P1, 1), (P1, 2))
    receiver.statuses = [503, 503]
    t0 = utcnow()
    report = run_once(container, resolver, now=t0)
    assert (report.attempted, report.retrying, report.waiting) == (1, 1, 1)
    # the second attempt fails too: given up, and the person's next notification goes out
    # in the same pass (a failed one no longer holds the later ones back)
    report = run_once(container, resolver, now=t0 + timedelta(hours=1))
    assert (report.attempted, report.failed, report.delivered, report.waiting) == (2, 1, 1, 0)
    first, second = _deliveries(container)
    assert (first.status, first.attempts, first.last_error) == (FAILED, 2, "HTTP 503")
    assert receiver.ids()[-1] != receiver.ids()[0]
    with container.uow() as uow:
        assert [r["status"] for r in delivery_rows(uow.session)] == [DELIVERED, FAILED]
        retry(uow.session, first.id)
        uow.commit()
    assert run_once(container, resolver).delivered == 1
    with container.uow() as uow, pytest.raises(NotFound):
        retry(uow.session, second.id)  # delivered, not failed


def test_a_receiver_down_holds_back_only_its_own_queue(
    container: Container, receiver: Receiver
) -> None:
    _subscribe(container, ORG_A, f"http://127.0.0.1:{free_port()}/down")
    _subscribe(container, ORG_B, receiver.url)
    ids = _emit(container, *[(P2, i) for i in range(6)])
    report = run_once(container, resolver, now=utcnow())
    # A's queue for P2: one attempt, five waiting; B's: all six delivered, in order
    assert (report.attempted, report.delivered, report.retrying, report.waiting) == (7, 6, 1, 5)
    assert receiver.ids() == ids
    # even one delivery per pass reaches B: A's older, blocked rows are not in the way
    more = _emit(container, *[(P2, i) for i in range(6, 9)])
    with container.uow() as uow:
        dispatch(uow.session, resolver)
        uow.commit()
    for n in range(1, 4):
        assert deliver_due(container, now=utcnow(), limit=1).delivered == 1
        assert receiver.ids() == ids + more[:n]


def test_unsubscribing_stops_deliveries(container: Container) -> None:
    sub_id, _ = _subscribe(container, ORG_A, f"http://127.0.0.1:{free_port()}/x")
    _emit(container, (P1, 1))
    with container.uow() as uow:
        assert dispatch(uow.session, resolver) == 1
        unsubscribe(uow.session, sub_id, actor="test")
        uow.commit()
    (row,) = _deliveries(container)
    assert (row.status, row.last_error) == (FAILED, "subscription disabled")
    with container.uow() as uow:
        with pytest.raises(NotFound):
            unsubscribe(uow.session, sub_id, actor="test")
        with pytest.raises(ValidationError, match="disabled"):
            retry(uow.session, row.id)
    _emit(container, (P1, 2))
    report = run_once(container, resolver)
    assert (report.dispatched, report.attempted) == (0, 0)


def test_events_wait_without_a_resolver(container: Container, receiver: Receiver) -> None:
    _subscribe(container, ORG_A, receiver.url)
    _emit(container, (P1, 1))
    assert run_once(container, None).dispatched == 0
    with container.uow() as uow:
        assert uow.session.scalars(select(OutboxEvent.dispatched_at)).one() is None
    assert run_once(container, resolver).delivered == 1


def test_subscriptions_are_validated(container: Container) -> None:
    with container.uow() as uow:
        s = uow.session
        with pytest.raises(InvalidEnterpriseNumber):
            subscribe(s, organisation="123", url="https://x.example", actor="t")
        for url in ("ftp://x.example/", "https://", "x" * 10):
            with pytest.raises(ValidationError, match="not an http"):
                subscribe(s, organisation=ORG_A, url=url, actor="t")
        with pytest.raises(ValidationError, match="https"):
            subscribe(s, organisation=ORG_A, url="http://x.example/h", actor="t")
        with pytest.raises(ValidationError, match="whsec_"):
            subscribe(s, organisation=ORG_A, url="https://x.example", actor="t", secret="whsec_")
        ok = subscribe(s, organisation=ORG_A, url="http://localhost:9/h", actor="t")
        assert ok.secret.startswith("whsec_")
        given = subscribe(
            s,
            organisation=ORG_A,
            url="https://x.example/h",
            actor="t",
            secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        )
        assert given.secret == "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def test_backoff_and_resolver_loading() -> None:
    assert [backoff(n, 5, 60).total_seconds() for n in (1, 2, 3, 4, 5)] == [5, 10, 20, 40, 60]
    assert backoff(500, 5, 3600).total_seconds() == 3600
    assert load_resolver("tests.integration.test_webhooks:resolver") is resolver
    for bad in ("tests.integration.test_webhooks:nothing", "no.such.module:f", "nocolon"):
        with pytest.raises(ConfigurationError):
            load_resolver(bad)

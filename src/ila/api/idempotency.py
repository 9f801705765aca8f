"""POST requests made harmless to retry with an ``Idempotency-Key``.

The key is stored with the request's fingerprint and the exact response body, in the same
transaction as the write: the same key and the same request from the same client later (or
concurrently: the second insert of the key waits for the first transaction, then finds the key)
get the stored response and write nothing; the same key with another request is refused."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from starlette.requests import Request
from starlette.responses import Response

from ila.access.domain import Caller
from ila.api.models import IdempotencyKey
from ila.api.security import container_of
from ila.api.transaction import Transaction, request_transaction
from ila.db.base import utcnow
from ila.errors import Conflict, IdempotencyKeyReused

A = TypeVar("A")
REPLAYED_HEADER = "Idempotent-Replayed"


@dataclass(frozen=True)
class Outcome:
    status: int
    body: str  # the JSON text sent, stored as is so that a replay is byte-identical

    @classmethod
    def of(cls, status: int, model: BaseModel) -> Outcome:
        return cls(status, model.model_dump_json())


def fingerprint(method: str, path: str, payload: BaseModel) -> str:
    canonical = json.dumps(payload.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


class _KeyTaken(Exception):
    pass


def _response(outcome: Outcome, *, replayed: bool) -> Response:
    headers = {REPLAYED_HEADER: "true"} if replayed else None
    return Response(
        outcome.body, status_code=outcome.status, media_type="application/json", headers=headers
    )


def run_post(
    request: Request,
    caller: Caller,
    key: str | None,
    body: BaseModel,
    guard: Callable[[Transaction], A],
    work: Callable[[Transaction, A], Outcome],
) -> Response:
    """``guard`` checks the caller may act (on every call, replays included) and returns what
    ``work`` needs; ``work`` does the write. Without a key, both simply run in one
    transaction. A key is bound to the method, path and body of the request."""
    container = container_of(request)
    request_fingerprint = fingerprint(request.method, request.url.path, body)
    if key is None:
        with request_transaction(container) as tx:
            outcome = work(tx, guard(tx))
        return _response(outcome, replayed=False)
    try:
        with request_transaction(container) as tx:
            # the key first: on SQLite this takes the write lock before anything is read
            record = IdempotencyKey(
                client_pk=caller.client_pk,
                key=key,
                fingerprint=request_fingerprint,
                created_at=utcnow(),
            )
            tx.session.add(record)
            try:
                tx.session.flush()
            except IntegrityError:
                raise _KeyTaken from None
            outcome = work(tx, guard(tx))
            record.status_code = outcome.status
            record.response_body = outcome.body
        return _response(outcome, replayed=False)
    except _KeyTaken:
        pass
    with request_transaction(container) as tx:
        guard(tx)
        stored = tx.session.scalar(
            select(IdempotencyKey).where(
                IdempotencyKey.client_pk == caller.client_pk, IdempotencyKey.key == key
            )
        )
        if stored is None or stored.status_code is None or stored.response_body is None:
            raise Conflict(
                "a request with this Idempotency-Key is being processed; retry later",
                field="idempotency-key",
                code="idempotency_key_in_progress",
            )
        if stored.fingerprint != request_fingerprint:
            raise IdempotencyKeyReused(
                "this Idempotency-Key was already used for a different request",
                field="idempotency-key",
            )
        return _response(Outcome(stored.status_code, stored.response_body), replayed=True)

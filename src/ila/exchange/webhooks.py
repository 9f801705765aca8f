"""Webhooks: subscriptions of institutions, fan-out of outbox events, signed delivery.

``ila webhooks deliver`` runs :func:`run_once` in a loop: it **dispatches** new outbox events
(one ``webhook_deliveries`` row per active subscription of every institution the resolver names
for the event's person) and **delivers** what is due. Each request is signed per the Standard
Webhooks spec (``webhook-id`` = the event id, the same on every retry, so a receiver drops
duplicates; ``webhook-timestamp``; ``webhook-signature: v1,<base64 HMAC-SHA256 of
id.timestamp.body>`` with the subscription's ``whsec_`` secret). A delivery that fails is
retried after an exponentially growing delay (5 s, 10 s, 20 s… capped at 6 h by default) until
``webhook_max_attempts``; then it is ``failed`` (visible, ``ila webhooks retry`` puts it back).
Per subscription and person, deliveries go out **in order**: one is not attempted while an
earlier one is still pending. Run one worker at a time. See ADR 0011."""

from __future__ import annotations

import base64
import importlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from math import floor
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import (
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    func,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, aliased, mapped_column
from standardwebhooks import Webhook

from ila.audit.chain import canonical_json
from ila.db.base import Base, UTCDateTime, utcnow
from ila.errors import ConfigurationError, InvalidWebhookUrl, NotFound, ValidationError
from ila.exchange.outbox import OutboxEvent
from ila.identity.domain import EnterpriseNumber

if TYPE_CHECKING:
    from ila.bootstrap import Container

Resolver = Callable[[Session, str, datetime], list[str]]
"""``subscribers_for(session, national_number, at)``: the enterprise numbers of the
institutions to notify about a change to this person's account at ``at``."""

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
MAX_ERROR = 500


class WebhookSubscription(Base):
    """Where an institution wants its notifications, and the secret that signs them (kept in
    clear: HMAC needs it; it is shown once, at subscription)."""

    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation: Mapped[str] = mapped_column(String(10), nullable=False, index=True)
    url: Mapped[str] = mapped_column(String(2000), nullable=False)
    secret: Mapped[str] = mapped_column(String(100), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    disabled_by: Mapped[str | None] = mapped_column(String(200), nullable=True)


class WebhookDelivery(Base):
    """One event for one subscription: its state, attempts and the last error."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("event_pk", "subscription_id"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_order", "subscription_id", "subject", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_pk: Mapped[int] = mapped_column(ForeignKey("outbox_events.id"), nullable=False)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_subscriptions.id"), nullable=False
    )
    subject: Mapped[str | None] = mapped_column(String(11), nullable=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(MAX_ERROR), nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


# --- subscriptions ---------------------------------------------------------------------------


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def subscribe(
    session: Session,
    *,
    organisation: str,
    url: str,
    actor: str,
    secret: str | None = None,
    https_only: bool = True,
) -> WebhookSubscription:
    """Register an institution's endpoint. ``https_only`` (production) refuses plain http
    except on loopback."""
    org = EnterpriseNumber.parse(organisation, field="organisation").value
    parts = urlsplit(url)
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2000:
        raise InvalidWebhookUrl(f"{url!r} is not an http(s) URL", field="url")
    if https_only and parts.scheme != "https" and not loopback:
        raise InvalidWebhookUrl("webhook URLs must use https", field="url")
    if secret is not None:
        try:
            Webhook(secret)
        except Exception:
            raise ValidationError(
                "a secret is whsec_ followed by base64", field="secret", code="invalid_value"
            ) from None
    subscription = WebhookSubscription(
        organisation=org,
        url=url,
        secret=secret or new_secret(),
        created_at=utcnow(),
        created_by=actor,
    )
    session.add(subscription)
    session.flush()
    return subscription


def unsubscribe(session: Session, subscription_id: int, *, actor: str) -> None:
    """Disable a subscription; its pending deliveries become ``failed``."""
    sub = session.get(WebhookSubscription, subscription_id)
    if sub is None or sub.disabled_at is not None:
        raise NotFound(f"no active subscription {subscription_id}", field="subscription")
    sub.disabled_at, sub.disabled_by = utcnow(), actor
    session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.subscription_id == sub.id, WebhookDelivery.status == PENDING)
        .values(status=FAILED, last_error="subscription disabled")
    )


def retry(session: Session, delivery_id: int, *, now: datetime | None = None) -> None:
    """Put a ``failed`` delivery back in the queue (attempts start again)."""
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.status != FAILED:
        raise NotFound(f"no failed delivery {delivery_id}", field="delivery")
    sub = session.get(WebhookSubscription, delivery.subscription_id)
    if sub is None or sub.disabled_at is not None:
        raise ValidationError("its subscription is disabled", field="delivery", code="conflict")
    delivery.status, delivery.attempts = PENDING, 0
    delivery.next_attempt_at = now or utcnow()


# --- fan-out ---------------------------------------------------------------------------------


def load_resolver(path: str) -> Resolver:
    """The resolver named ``module:function`` (setting ``ILA_WEBHOOK_RESOLVER``)."""
    module, _, name = path.partition(":")
    try:
        found: Resolver = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ConfigurationError(f"webhook resolver {path!r} not found: {exc}") from None
    return found


def dispatch(
    session: Session, resolver: Resolver, *, limit: int = 500, now: datetime | None = None
) -> int:
    """Turn up to ``limit`` undispatched events, oldest first, into deliveries; returns how
    many deliveries were created. An event without a person, or whose person concerns no
    subscribed institution, is dispatched to nobody."""
    events = list(
        session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.dispatched_at.is_(None))
            .order_by(OutboxEvent.id)
            .limit(limit)
        )
    )
    created = 0
    now = now or utcnow()
    for event in events:
        orgs = (
            sorted(set(resolver(session, event.subject, event.occurred_at)))
            if event.subject
            else []
        )
        subs = (
            session.scalars(
                select(WebhookSubscription)
                .where(
                    WebhookSubscription.organisation.in_(orgs),
                    WebhookSubscription.disabled_at.is_(None),
                )
                .order_by(WebhookSubscription.id)
            ).all()
            if orgs
            else []
        )
        for sub in subs:
            session.add(
                WebhookDelivery(
                    event_pk=event.id,
                    subscription_id=sub.id,
                    subject=event.subject,
                    status=PENDING,
                    attempts=0,
                    created_at=now,
                    next_attempt_at=now,
                )
            )
            created += 1
        event.dispatched_at = now
    session.flush()
    return created


# --- delivery --------------------------------------------------------------------------------


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value (Standard Webhooks ``v1``)."""
    return Webhook(secret).sign(msg_id, datetime.fromtimestamp(timestamp, UTC), body.decode())


def signed_headers(secret: str, msg_id: str, body: bytes, now: datetime) -> dict[str, str]:
    timestamp = floor(now.timestamp())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, msg_id, timestamp, body),
        "content-type": "application/cloudevents+json; charset=utf-8",
    }


def backoff(attempts: int, base: float, cap: float) -> timedelta:
    """The delay before the next attempt, after ``attempts`` failed ones (1, 2, …)."""
    return timedelta(seconds=min(base * 2 ** min(attempts - 1, 40), cap))


@dataclass(frozen=True, slots=True)
class _Attempt:
    delivery_id: int
    key: tuple[int, str | None]
    url: str
    secret: str
    msg_id: str
    body: bytes


@dataclass(slots=True)
class DeliveryReport:
    dispatched: int = 0
    attempted: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    waiting: int = 0  # due, but behind an earlier delivery for the same person
    errors: list[str] = field(default_factory=list)


def _due(session: Session, now: datetime, limit: int) -> tuple[list[_Attempt], int]:
    """The due deliveries that are first in line for their subscription and person (no
    earlier one still pending), oldest first, and how many due ones wait behind another. A
    receiver that is down holds back only its own queue, never another subscription's."""
    earlier = aliased(WebhookDelivery)
    behind = (
        select(earlier.id)
        .where(
            earlier.subscription_id == WebhookDelivery.subscription_id,
            earlier.subject == WebhookDelivery.subject,
            earlier.status == PENDING,
            earlier.id < WebhookDelivery.id,
        )
        .exists()
    )
    due = (WebhookDelivery.status == PENDING) & (WebhookDelivery.next_attempt_at <= now)
    rows = session.execute(
        select(WebhookDelivery, OutboxEvent, WebhookSubscription)
        .join(OutboxEvent, OutboxEvent.id == WebhookDelivery.event_pk)
        .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
        .where(due, ~behind)
        .order_by(WebhookDelivery.id)
        .limit(limit)
    ).all()
    waiting = session.scalar(select(func.count()).where(due, behind)) or 0
    attempts = [
        _Attempt(
            delivery.id,
            (sub.id, delivery.subject),
            sub.url,
            sub.secret,
            event.event_id,
            canonical_json(event.cloudevent()),
        )
        for delivery, event, sub in rows
    ]
    return attempts, waiting


def _post(client: httpx.Client, attempt: _Attempt) -> tuple[int | None, str | None]:
    headers = signed_headers(attempt.secret, attempt.msg_id, attempt.body, utcnow())
    try:
        response = client.post(attempt.url, content=attempt.body, headers=headers)
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"[:MAX_ERROR]
    if 200 <= response.status_code < 300:
        return response.status_code, None
    return response.status_code, f"HTTP {response.status_code}"


def deliver_due(
    container: Container,
    *,
    now: datetime | None = None,
    client: httpx.Client | None = None,
    limit: int = 500,
) -> DeliveryReport:
    """Attempt every due delivery (at most ``limit``), in order per subscription and person;
    each result is committed on its own, with no transaction open during the HTTP call."""
    settings = container.settings
    moment = now or utcnow()
    report = DeliveryReport()
    own_client = client is None
    http = client or httpx.Client(timeout=settings.webhook_timeout_seconds, follow_redirects=False)
    try:
        # rounds: a delivery made (or given up) lets the next one for its person go
        while True:
            with container.uow() as uow:
                attempts, report.waiting = _due(uow.session, moment, limit - report.attempted)
            if not attempts:
                break
            for attempt in attempts:
                report.attempted += 1
                _record(container, attempt, _post(http, attempt), moment, report)
            if report.attempted >= limit:
                break
    finally:
        if own_client:
            http.close()
    return report


def _record(
    container: Container,
    attempt: _Attempt,
    result: tuple[int | None, str | None],
    moment: datetime,
    report: DeliveryReport,
) -> None:
    settings = container.settings
    status, error = result
    with container.uow() as uow:
        delivery = uow.session.get(WebhookDelivery, attempt.delivery_id)
        if delivery is None or delivery.status != PENDING:  # pragma: no cover - raced
            return
        delivery.attempts += 1
        delivery.last_attempt_at = utcnow()
        delivery.last_status, delivery.last_error = status, error
        if error is None:
            delivery.status, delivery.delivered_at = DELIVERED, delivery.last_attempt_at
            report.delivered += 1
        else:
            report.errors.append(f"delivery {delivery.id}: {error}")
            if delivery.attempts >= settings.webhook_max_attempts:
                delivery.status = FAILED
                report.failed += 1
            else:
                delivery.next_attempt_at = moment + backoff(
                    delivery.attempts,
                    settings.webhook_backoff_seconds,
                    settings.webhook_max_backoff_seconds,
                )
                report.retrying += 1
        uow.commit()


def run_once(
    container: Container,
    resolver: Resolver | None,
    *,
    now: datetime | None = None,
    client: httpx.Client | None = None,
) -> DeliveryReport:
    """Dispatch new events (when a resolver is configured), then deliver what is due."""
    dispatched = 0
    if resolver is not None:
        with container.uow() as uow:
            dispatched = dispatch(uow.session, resolver, now=now)
            uow.commit()
    report = deliver_due(container, now=now, client=client)
    report.dispatched = dispatched
    return report


def delivery_rows(
    session: Session, *, status: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """The delivery state, newest first, for ``ila webhooks deliveries``."""
    query = (
        select(WebhookDelivery, OutboxEvent.event_id, OutboxEvent.type, WebhookSubscription.url)
        .join(OutboxEvent, OutboxEvent.id == WebhookDelivery.event_pk)
        .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
        .order_by(WebhookDelivery.id.desc())
        .limit(limit)
    )
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    return [
        {
            "id": d.id,
            "event_id": event_id,
            "type": type_,
            "url": url,
            "status": d.status,
            "attempts": d.attempts,
            "next_attempt_at": d.next_attempt_at if d.status == PENDING else None,
            "last_status": d.last_status,
            "last_error": d.last_error,
            "delivered_at": d.delivered_at,
        }
        for d, event_id, type_, url in session.execute(query).all()
    ]

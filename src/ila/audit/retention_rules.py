"""The retention rules shipped today (registered by :func:`register_retention`).

Why these periods, and what the FLA rule covers, is explained in docs/audit.md ("Retention")
and ADR 0010."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement

from ila.access.models import AccessToken, AssertionJti
from ila.access.tokens import LEEWAY
from ila.api.models import IdempotencyKey
from ila.audit.retention import Dependent, RetentionRegistry, RetentionRule
from ila.trainings.models import Training, TrainingVersion
from ila.web.models import Contest

STORAGE_LIMITATION = "GDPR art. 5.1.e (storage limitation)"
FLA_SOURCE = "fla"
"""The ``source`` of training records taken over from the historic FLA register."""
FLA_END = datetime(2027, 1, 1, tzinfo=ZoneInfo("Europe/Brussels"))


def _fla_only() -> ColumnElement[bool]:
    return Training.source == FLA_SOURCE


def register_retention(registry: RetentionRegistry) -> None:
    registry.register(
        RetentionRule(
            name="api.idempotency_keys",
            category="technical",
            destroys="stored answers to POST requests sent with an Idempotency-Key",
            keep=timedelta(days=30),
            keep_text="30 days after the first request",
            legal_source=f"API policy (docs/api.md §7); {STORAGE_LIMITATION}",
            model=IdempotencyKey,
            time_column="created_at",
            identifying=("client_pk", "key"),
        )
    )
    registry.register(
        RetentionRule(
            name="access.tokens",
            category="technical",
            destroys="digests of expired API access tokens",
            keep=timedelta(days=1),
            keep_text="1 day after expiry",
            legal_source=f"RFC 6749 (a token is useless once expired); {STORAGE_LIMITATION}",
            model=AccessToken,
            time_column="expires_at",
            identifying=("client_pk", "digest"),
        )
    )
    registry.register(
        RetentionRule(
            name="access.assertion_jtis",
            category="technical",
            destroys="ids of used client assertions, once they can no longer be replayed",
            keep=timedelta(seconds=LEEWAY),
            keep_text=f"{LEEWAY} seconds (clock-skew leeway) after the assertion's expiry",
            legal_source=f"RFC 7523 §3 (replay protection until exp); {STORAGE_LIMITATION}",
            model=AssertionJti,
            time_column="expires_at",
            identifying=("client_pk", "jti"),
        )
    )
    registry.register(
        RetentionRule(
            name="fla.register",
            category="fla",
            destroys="training records taken over from the FLA register (source 'fla') and "
            "their versions; records kept under art. 55 or for the ILA are not FLA-only data",
            keep=timedelta(0),
            keep_text="until 31 Dec 2026; destroyed from 1 Jan 2027",
            legal_source="Law of 14 January 2026 repealing the Federal Learning Account: FLA "
            "data kept until 31 Dec 2026, destroyed on 1 Jan 2027",
            model=Training,
            time_column="created_at",
            identifying=("sender", "sender_record_id"),
            where=_fla_only,
            not_before=FLA_END,
            dependents=(
                Dependent(Contest, "training_id"),
                Dependent(TrainingVersion, "training_id"),
            ),
        )
    )

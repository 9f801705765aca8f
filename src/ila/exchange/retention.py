"""Retention of the data exchanged under the authorisations, for the platform's retention job.

Each authorisation states, per data category, how long the data may be kept (its ``retention``
table in ``data/authorisations.toml``: ``training_records = "P10Y"``, ``P0D`` = never stored).
:func:`register_retention` reads those periods from the shipped authorisations — the versioned
file that ``ila authorisations load`` puts in the database — and registers one rule per stored
category. Every category an authorisation names must be known here (:data:`CATEGORIES`): a new
category fails the registry at start-up rather than be silently kept for ever.

What each category is in this platform:

``training_records``
    trainings sent by the regions (``source = 'region'``) and their versions and contests:
    destroyed when the period has passed since they were recorded (``exchange.regional_trainings``).
``fpie_calculation``
    FPIE computations with their inputs: the rule ``flows.fpie_computations``
    (``ila.flows.retention``), whose period must equal this one (:func:`period_of` is checked
    against the flow's rules by the tests).
``consultation_log``
    who consulted or changed what: the entries of the hash-chained audit trail, destroyed by
    cutting the chain at the newest signed checkpoint older than the period
    (``audit.consultation_log``, :mod:`ila.audit.pruning`). The trail is one chain: the longest
    period any authorisation gives the log applies to all of it.
``career_break_possibilities``
    ``P0D``: never stored (the lookup commits nothing; a test reads every table).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement

from ila.access.domain import local_date
from ila.audit.models import AuditEvent
from ila.audit.pruning import prune_chain
from ila.audit.retention import Dependent, RetentionRegistry, RetentionRule
from ila.exchange.domain import Authorisation, Retention, parse_authorisations
from ila.exchange.service import AUTHORISATIONS_FILE
from ila.trainings.domain import Source
from ila.trainings.models import Training, TrainingVersion
from ila.web.models import Contest

BRUSSELS = ZoneInfo("Europe/Brussels")

REGIONAL_TRAININGS = "training_records"
FPIE_CALCULATION = "fpie_calculation"
CONSULTATION_LOG = "consultation_log"
CAREER_BREAK = "career_break_possibilities"

CATEGORIES: dict[str, str] = {
    REGIONAL_TRAININGS: "rule exchange.regional_trainings",
    FPIE_CALCULATION: "rule flows.fpie_computations (ila.flows.retention)",
    CONSULTATION_LOG: "rule audit.consultation_log (the audit chain cut at a signed checkpoint)",
    CAREER_BREAK: "never stored (P0D)",
}
"""Every retention category an authorisation may name, and how the platform honours it."""


class UnknownRetentionCategory(ValueError):
    """An authorisation names a data category this platform does not know how to keep."""


@cache
def shipped_authorisations() -> tuple[Authorisation, ...]:
    return tuple(parse_authorisations(AUTHORISATIONS_FILE.read_text("utf-8")))


def period_of(category: str, authorisations: tuple[Authorisation, ...] | None = None) -> Retention:
    """The period of ``category``: the longest any authorisation gives it (data received under
    several authorisations is kept as long as one of them allows)."""
    periods = [
        a.retention[category]
        for a in (authorisations if authorisations is not None else shipped_authorisations())
        if category in a.retention
    ]
    if not periods:
        raise UnknownRetentionCategory(f"no authorisation gives a retention for {category!r}")
    return max(periods, key=lambda r: (r.years * 12 + r.months, r.days))


def check_categories(authorisations: tuple[Authorisation, ...]) -> None:
    for auth in authorisations:
        for category in auth.retention:
            if category not in CATEGORIES:
                raise UnknownRetentionCategory(
                    f"authorisation {auth.id} keeps {category!r}, a category the retention job "
                    f"does not know: add it to ila.exchange.retention.CATEGORIES"
                )


def calendar_cutoff(period: Retention) -> Callable[[datetime], datetime]:
    """Rows recorded before the start (Brussels time) of the first day still kept are due."""

    def cutoff(at: datetime) -> datetime:
        first_kept = period.earliest_kept(local_date(at))
        return datetime.combine(first_kept, time(0), tzinfo=BRUSSELS)

    return cutoff


def _regional() -> ColumnElement[bool]:
    return Training.source == Source.REGION.value


def _sources(category: str, authorisations: tuple[Authorisation, ...]) -> str:
    return ", ".join(
        f"{a.id} ({a.legal_reference})" for a in authorisations if category in a.retention
    )


def _authorised_rule(
    category: str, auths: tuple[Authorisation, ...], *, after: str, **fields: Any
) -> RetentionRule:
    """A rule whose period, its text, its legal source and its (calendar) cutoff are those the
    authorisations give ``category``."""
    period = period_of(category, auths)
    return RetentionRule(
        category=category,
        # an approximation for display; the cutoff is the calendar period
        keep=timedelta(days=period.years * 366 + period.months * 31 + period.days),
        keep_text=f"{period} after {after}",
        legal_source=_sources(category, auths),
        calendar_cutoff=calendar_cutoff(period),
        **fields,
    )


def register_retention(
    registry: RetentionRegistry, authorisations: tuple[Authorisation, ...] | None = None
) -> None:
    auths = authorisations if authorisations is not None else shipped_authorisations()
    check_categories(auths)
    registry.register(
        _authorised_rule(
            REGIONAL_TRAININGS,
            auths,
            after="they were recorded",
            name="exchange.regional_trainings",
            destroys="trainings and certificates sent by the regional services (source "
            "'region'), with their versions and contests",
            model=Training,
            time_column="created_at",
            identifying=("sender", "sender_record_id"),
            where=_regional,
            dependents=(
                Dependent(Contest, "training_id"),
                Dependent(TrainingVersion, "training_id"),
            ),
        )
    )
    registry.register(
        _authorised_rule(
            CONSULTATION_LOG,
            auths,
            after="the entry",
            name="audit.consultation_log",
            destroys="the oldest entries of the audit trail (who consulted or changed what), up "
            "to the newest signed checkpoint older than the period; the chain then starts there",
            model=AuditEvent,
            time_column="occurred_at",
            identifying=("seq", "entry_hash"),
            prune=prune_chain,
        )
    )

"""Retention: rules saying what is destroyed when, and the job that applies them with proof.

A :class:`RetentionRule` names a category of data, what it destroys (rows of one table, and
their dependent rows), how long they are kept (rows whose ``time_column`` is older than
``keep`` at the time of the run), and the legal source or authorisation the period comes from.
Features **register** their rules: a module listed in :data:`PROVIDERS` defines
``register_retention(registry)``; :func:`default_registry` collects them all.

:func:`run_retention` applies each rule in its own transaction: it selects what is due, computes
a SHA-256 digest of what it destroys (table, primary key and the rule's identifying columns, in
key order), deletes it and appends a **proof entry** to the audit chain (rule, window, count,
digest) in the same transaction, so there is never a destruction without its proof. A dry run
reports the same count and digest and changes nothing. See docs/audit.md."""

from __future__ import annotations

import hashlib
import importlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from ila.audit.chain import canonical_json
from ila.audit.service import record_event
from ila.db.base import Base, utcnow
from ila.errors import UnknownRetentionRule

if TYPE_CHECKING:
    from ila.bootstrap import Container

PROVIDERS: tuple[str, ...] = (
    "ila.audit.retention_rules",
    "ila.flows.retention",
    "ila.exchange.retention",
)
"""Modules defining ``register_retention(registry)``; a feature adds its module here (the FPIE
results, 10 years; the exchange data, per the retention of their authorisations)."""

CHUNK = 500


@dataclass(frozen=True, slots=True)
class Dependent:
    """Rows of another table that go with each destroyed row (deleted first)."""

    model: type[Base]
    foreign_key: str


@dataclass(frozen=True, slots=True)
class RetentionRule:
    name: str  # stable id, written in the proof: "api.idempotency_keys"
    category: str
    destroys: str  # what, in words
    keep: timedelta  # how long after time_column
    keep_text: str  # the period as the source states it
    legal_source: str  # the authorisation or legal text fixing the period
    model: type[Base]
    time_column: str
    identifying: tuple[str, ...] = ()  # columns covered by the digest besides the key
    where: Callable[[], ColumnElement[bool]] | None = None  # narrows the category
    not_before: datetime | None = None  # the rule applies only from this moment
    dependents: tuple[Dependent, ...] = ()
    # a calendar period (years, months: ``P10Y`` of an authorisation) that ``keep`` can only
    # approximate: the cutoff of a run at a given moment
    calendar_cutoff: Callable[[datetime], datetime] | None = None
    # a destruction that is not "delete the due rows" (the audit chain is cut only at a
    # signed checkpoint: ila.audit.pruning); called instead of the generic delete
    prune: Callable[[Session, RetentionRule, datetime, bool, str], RuleOutcome] | None = None

    def cutoff(self, at: datetime) -> datetime:
        """Rows whose ``time_column`` is before this moment are due at ``at``."""
        if self.calendar_cutoff is not None:
            return self.calendar_cutoff(at)
        return at - self.keep


class RetentionRegistry:
    def __init__(self) -> None:
        self._rules: dict[str, RetentionRule] = {}

    def register(self, rule: RetentionRule) -> None:
        if rule.name in self._rules:
            raise ValueError(f"retention rule {rule.name!r} registered twice")
        self._rules[rule.name] = rule

    def rules(self) -> list[RetentionRule]:
        return sorted(self._rules.values(), key=lambda r: r.name)


def default_registry(providers: Sequence[str] = PROVIDERS) -> RetentionRegistry:
    registry = RetentionRegistry()
    for module in providers:
        importlib.import_module(module).register_retention(registry)
    return registry


@dataclass(frozen=True, slots=True)
class RuleOutcome:
    rule: str
    cutoff: datetime
    count: int
    digest: str
    applicable: bool = True
    proof_seq: int | None = None  # the audit entry proving the destruction


@dataclass(slots=True)
class RetentionReport:
    at: datetime
    dry_run: bool
    outcomes: list[RuleOutcome] = field(default_factory=list)

    @property
    def destroyed(self) -> int:
        return 0 if self.dry_run else sum(o.count for o in self.outcomes)


def _column(model: type[Base], name: str) -> InstrumentedAttribute[Any]:
    column: InstrumentedAttribute[Any] = getattr(model, name)
    return column


def _due(session: Session, rule: RetentionRule, cutoff: datetime) -> list[tuple[Any, ...]]:
    pk = _column(rule.model, "id")
    columns = [pk, _column(rule.model, rule.time_column)] + [
        _column(rule.model, c) for c in rule.identifying
    ]
    query = select(*columns).where(_column(rule.model, rule.time_column) < cutoff)
    if rule.where is not None:
        query = query.where(rule.where())
    return [tuple(r) for r in session.execute(query.order_by(pk)).all()]


def digest_of(table: str, rows: Sequence[tuple[Any, ...]]) -> str:
    """SHA-256 over the destroyed rows' identities, in key order; keep it to prove later what
    a proof entry covered (a dry run gives the digest a real run will record)."""
    h = hashlib.sha256(table.encode() + b"\n")
    for row in rows:
        values = [v.isoformat() if isinstance(v, datetime) else v for v in row]
        h.update(canonical_json(values) + b"\n")
    return h.hexdigest()


def write_proof(
    session: Session,
    rule: RetentionRule,
    *,
    at: datetime,
    count: int,
    digest: str,
    actor: str,
    extra: dict[str, object] | None = None,
) -> int:
    """The proof entry of a destruction, appended to the audit chain in the destruction's
    transaction: rule, category, table, window, run time, count, digest (and ``extra``)."""
    return record_event(
        session,
        actor=actor,
        action="destroy",
        resource="retention",
        request_id=f"retention-{uuid.uuid4().hex}",
        legal_context=rule.legal_source[:200],
        details={
            "rule": rule.name,
            "category": rule.category,
            "table": rule.model.__tablename__,
            "window": {"before": rule.cutoff(at).isoformat(), "keep": rule.keep_text},
            "run_at": at.isoformat(),
            "count": count,
            "digest": digest,
            **(extra or {}),
        },
    )


def apply_rule(
    session: Session, rule: RetentionRule, *, at: datetime, dry_run: bool, actor: str
) -> RuleOutcome:
    """Apply one rule in the session's transaction (the caller commits)."""
    cutoff = rule.cutoff(at)
    if rule.not_before is not None and at < rule.not_before:
        return RuleOutcome(rule.name, cutoff, 0, digest_of(rule.model.__tablename__, []), False)
    if rule.prune is not None:
        return rule.prune(session, rule, at, dry_run, actor)
    rows = _due(session, rule, cutoff)
    digest = digest_of(rule.model.__tablename__, rows)
    if dry_run or not rows:
        return RuleOutcome(rule.name, cutoff, len(rows), digest)
    ids = [r[0] for r in rows]
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        for dep in rule.dependents:
            session.execute(delete(dep.model).where(_column(dep.model, dep.foreign_key).in_(chunk)))
        session.execute(delete(rule.model).where(_column(rule.model, "id").in_(chunk)))
    seq = write_proof(session, rule, at=at, count=len(rows), digest=digest, actor=actor)
    return RuleOutcome(rule.name, cutoff, len(rows), digest, True, seq)


def run_retention(
    container: Container,
    registry: RetentionRegistry,
    *,
    at: datetime | None = None,
    dry_run: bool = False,
    actor: str = "system:retention",
    only: Sequence[str] = (),
) -> RetentionReport:
    """Apply every registered rule (or those named in ``only``), each in its own transaction
    committed with its proof entry; a dry run commits nothing."""
    moment = at or utcnow()
    report = RetentionReport(moment, dry_run)
    known = {r.name for r in registry.rules()}
    for name in only:
        if name not in known:
            raise UnknownRetentionRule(f"no retention rule {name!r}", field="rule")
    for rule in registry.rules():
        if only and rule.name not in only:
            continue
        with container.uow() as uow:
            outcome = apply_rule(uow.session, rule, at=moment, dry_run=dry_run, actor=actor)
            if not dry_run:
                uow.commit()
        report.outcomes.append(outcome)
    return report

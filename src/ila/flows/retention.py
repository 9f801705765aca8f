"""Retention of the FPIE computations, for the platform's retention registry.

The registry calls, for the category :data:`RETENTION_CATEGORY` (``"fpie_calculation"``, the
name in ``rules/fpie.toml`` and in the authorisation of deliberation 22/086):

* :func:`due_statement` / :func:`count_due` — what a run on ``today`` would destroy (dry run);
* :func:`purge_statement` / :func:`purge_expired` — destroy it, in the caller's transaction
  (the registry writes its proof entry in the same unit of work and commits).

A computation is kept until its ``retain_until`` day included (computed day + 10 years, set
when it is stored) and is due from the next day."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import Delete, Select, delete, func, select
from sqlalchemy.orm import Session

from ila.audit.retention import RetentionRegistry, RetentionRule
from ila.flows.models import FpieComputation
from ila.flows.rules import fpie_rules

RETENTION_CATEGORY = fpie_rules().retention_category
RETENTION_YEARS = fpie_rules().retention_years


def due_statement(today: date) -> Select[Any]:
    """``SELECT count(*)`` of the computations due for destruction on ``today``."""
    return (
        select(func.count())
        .select_from(FpieComputation)
        .where(FpieComputation.retain_until < today)
    )


def purge_statement(today: date) -> Delete:
    """``DELETE`` of the computations due for destruction on ``today``."""
    return delete(FpieComputation).where(FpieComputation.retain_until < today)


def count_due(session: Session, today: date) -> int:
    return int(session.scalar(due_statement(today)) or 0)


def purge_expired(session: Session, today: date) -> int:
    """Destroy what is due on ``today``; returns how many computations. Does not commit."""
    return int(session.execute(purge_statement(today)).rowcount or 0)  # type: ignore[attr-defined]


def register_retention(registry: RetentionRegistry) -> None:
    """The FPIE computations in the platform's retention job (``ila retention run``): kept
    10 years from the computation. Ten years hold 3,652 or 3,653 days; the rule keeps the most
    (365 a year plus every possible leap day) and one day more, so a computation lives through
    its whole ``retain_until`` day and is destroyed within two days after it."""
    registry.register(
        RetentionRule(
            name="flows.fpie_computations",
            category=RETENTION_CATEGORY,
            destroys="FPIE allowance computations with their inputs (ONEM data, salary)",
            keep=timedelta(days=365 * RETENTION_YEARS + (RETENTION_YEARS + 3) // 4 + 1),
            keep_text=f"{RETENTION_YEARS} years after the computation",
            legal_source="Information Security Committee, deliberation 22/086 (amended 3 June "
            "2025): results and their inputs kept 10 years",
            model=FpieComputation,
            time_column="computed_at",
            identifying=("national_number", "request_id"),
        )
    )

"""A worker's account with one employer, read on the event loop (ADR 0021): the token check,
the mandate check and the four statements of the account in one statement, one round trip.

The statements are those of the synchronous path (:mod:`ila.accounts.service`,
:mod:`ila.access`), compiled for psycopg and bundled (:func:`ila.db.aio.bundle_pg`); the rows
are turned into the same answers and errors by the same functions. The account's own
statements run only for a valid token (the bundle's gate), and their rows are used only once
the caller was found allowed to act for the employer."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from psycopg import AsyncConnection
from sqlalchemy import select

from ila.access.domain import Acting, Caller, Scope, local_date
from ila.access.service import ActingQuestion, acting_for_statement
from ila.access.tokens import caller_of, token_caller, token_valid
from ila.accounts.service import (
    employer_account_document,
    employer_account_parameters,
    employer_account_rows,
    employer_account_statements,
    no_account,
)
from ila.db.aio import Bundle, bundle_pg
from ila.identity.domain import EnterpriseNumber
from ila.rights.rules import RuleSet


@cache
def _bundle(current: bool) -> Bundle:
    caller = token_caller()  # the token looked up once for the three uses below
    return bundle_pg(
        select(caller),
        acting_for_statement(select(caller.c.organisation).scalar_subquery()),
        *employer_account_statements(current, by_enterprise_number=True),
        gate=token_valid(caller),
        gated=2,
    )


@dataclass(frozen=True)
class EmployerAccountRead:
    """One read of a worker's account with an employer, its input checked (else a
    :class:`ila.errors.ValidationError` from :meth:`prepare`)."""

    rules: RuleSet
    enterprise_number: str
    year: int
    as_of: datetime | None
    parameters: dict[str, Any]

    @classmethod
    def prepare(
        cls,
        rules: RuleSet,
        enterprise_number: str,
        national_number: str,
        year: int,
        as_of: datetime | None,
    ) -> EmployerAccountRead:
        en = EnterpriseNumber.parse(enterprise_number, field="en").value
        parameters = employer_account_parameters(rules, national_number, year, as_of)
        parameters["en"] = en
        return cls(rules, en, year, as_of, parameters)

    async def run(
        self,
        connection: AsyncConnection[Any],
        *,
        digest: str,
        now: datetime,
        scope: Scope,
        admit: Callable[[Caller], None],
    ) -> tuple[Caller, Acting, dict[str, Any]]:
        """The caller behind the token, who it acts as, and the employer's part of the
        person's account: :func:`ila.access.tokens.authenticate` (401), then ``admit`` (the
        route's scope and rate checks), then :func:`ila.access.service.acting_for` (404),
        then :func:`ila.accounts.service.person_account` with the employer (404), in one
        statement."""
        bundle = _bundle(self.as_of is None)
        given = {**self.parameters, "day": local_date(now), "digest": digest, "now": now}
        cursor = await connection.execute(bundle.compiled.sql, bundle.parameters(given))
        record = await cursor.fetchone()
        assert record is not None  # noqa: S101 - one row, always
        token, acting_rows, person, rights, ends, trainings = bundle.rows(record)
        caller = caller_of(token[0] if token else None, now=now)
        admit(caller)
        acting = ActingQuestion(caller, self.enterprise_number, now, scope, "en").answer(
            sorted(acting_rows, key=_mandate_order)
        )
        found = employer_account_rows(
            acting.employer_id,
            person[0] if person else None,
            rights,
            sorted(ends, key=lambda row: row[1]),  # by end date: the last end of a year wins
            sorted(trainings, key=_newest_first),
        )
        if found is None:
            raise no_account(self.year)
        return caller, acting, employer_account_document(self.rules, self.year, self.as_of, found)


def _mandate_order(row: Sequence[Any]) -> int:
    return row[1] or 0


def _newest_first(row: Sequence[Any]) -> tuple[int, int]:
    # start date descending, then id descending (TrainingRow: id first, start date ninth)
    return (-row[8].toordinal(), -row[0])

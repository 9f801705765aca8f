"""Use cases of the two seed flows.

* :func:`compute_fpie` — the FPIE training allowance, for Bruxelles Formation's pedagogical
  advisers only: the role is checked, then the pluggable authorisation (by default
  :func:`strict_authorisation`: the role and the legal context of deliberation 22/086; the
  exchange's ``authorise`` — party, purpose, person directory, validity — plugs in here), and
  only then is ONEM asked. The computation and its inputs are stored for 10 years.
* :func:`career_break_possibilities` — for the logged-in person: the preconditions (older than
  18, then a public- or private-sector career from the employment source) are checked before
  ONEM is asked; the answer is returned and **never stored** (no unit of work is committed)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ila.access.domain import Acting, Caller, local_date
from ila.audit.service import record_personal_data_access
from ila.bootstrap import Container
from ila.db.base import utcnow
from ila.errors import LegalContextRefused, RoleNotAllowed
from ila.exchange.domain import Operation
from ila.exchange.service import authorise
from ila.flows.career_break import (
    CareerBreakView,
    birth_date_of,
    check_age,
    check_sectors,
    parse_language,
    present,
    sectors_of,
)
from ila.flows.fpie import (
    FpieRequest,
    FpieResult,
    compute_allowance,
    payments_view,
    request_view,
    result_view,
    situation_view,
)
from ila.flows.models import FpieComputation
from ila.flows.rules import career_break_rules, fpie_rules, retention_until
from ila.identity.domain import NationalNumber
from ila.identity.models import Person
from ila.sources.employment import EmploymentSource
from ila.sources.onem import CareerBreakSource, SituationKind, UnemploymentSource
from ila.sources.registry import simulated_sources

DEFAULT_LANGUAGE = "fr"
FPIE_PURPOSE = "fpie.allowance"  # the operation of the authorisation (ila.exchange)


@dataclass(frozen=True, slots=True)
class FpieAccess:
    """Everything an authorisation check needs to decide on one FPIE computation."""

    purpose: str
    organisation: str | None  # the institution calling (enterprise number), if known
    actor: str
    role: str
    legal_context: str
    national_number: str
    request_id: str
    at: datetime


Authorise = Callable[[Session, FpieAccess], None]
"""Raises a ``Forbidden`` (or ``NotFound``) error to refuse; runs in the computation's own
transaction (so a directory lookup and its refusal log can use ``session``)."""


def strict_authorisation(session: Session, access: FpieAccess) -> None:
    """The default check: the role and the legal context of deliberation 22/086 only."""
    rules = fpie_rules()
    if access.role != rules.role:
        raise RoleNotAllowed(
            f"only the role {rules.role} may compute FPIE allowances", field="role"
        )
    if access.legal_context != rules.legal_context:
        raise LegalContextRefused(
            f"the FPIE allowance flow needs the legal context {rules.legal_context}",
            field="legal_context",
            expected=rules.legal_context,
        )


def exchange_authorisation(session: Session, access: FpieAccess) -> None:
    """The full check of the exchange (``ila.exchange.service.authorise``): the legal context
    names a loaded authorisation for ``fpie.allowance``, in force, of which the organisation
    is a receiving party and the role one of its roles, and the organisation's person
    directory covers the trainee in an FPIE capacity. Pass it as ``authorise=`` once the
    authorisations are loaded (``ila authorisations load``)."""
    authorise(
        session,
        caller=access.organisation or "",
        legal_context=access.legal_context,
        role=access.role,
        national_number=access.national_number,
        at=access.at,
        operation=Operation.FPIE_ALLOWANCE,
    )


@dataclass(frozen=True)
class FpieOutcome:
    id: int  # of the stored computation
    computed_at: datetime
    retain_until: date
    request: FpieRequest
    situation: dict[str, Any]
    payments: list[dict[str, Any]]
    result: FpieResult

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "computed_at": self.computed_at.isoformat(),
            "retain_until": self.retain_until.isoformat(),
            "request": request_view(self.request),
            "situation": self.situation,
            "payments": self.payments,
            "result": result_view(self.result),
        }


def compute_fpie(
    container: Container,
    *,
    request: FpieRequest,
    actor: str,
    role: str,
    legal_context: str,
    request_id: str,
    organisation: str | None = None,
    authorise: Authorise = strict_authorisation,
    onem: UnemploymentSource | None = None,
    now: datetime | None = None,
) -> FpieOutcome:
    """Compute, store (10 years) and return the FPIE allowance of ``request``."""
    rules = fpie_rules()
    if role != rules.role:
        raise RoleNotAllowed(
            f"only the role {rules.role} may compute FPIE allowances", field="role"
        )
    at = now or utcnow()
    with container.uow() as uow:
        authorise(
            uow.session,
            FpieAccess(
                FPIE_PURPOSE,
                organisation,
                actor,
                role,
                legal_context,
                request.national_number,
                request_id,
                at,
            ),
        )
        source = onem if onem is not None else simulated_sources().unemployment
        situation = source.situation(request.national_number, request.situation_date)
        payments = (
            []
            if situation.kind is SituationKind.UNKNOWN_PERSON
            else list(
                source.payments(request.national_number, request.first_month, request.last_month)
            )
        )
        result = compute_allowance(rules, request, situation, payments)
        keep_until = retention_until(local_date(at), rules.retention_years)
        situation_data, payments_data = situation_view(situation), payments_view(payments)
        inputs = {
            "request": request_view(request),
            "situation": situation_data,
            "payments": payments_data,
        }
        row = FpieComputation(
            computed_at=at,
            retain_until=keep_until,
            national_number=request.national_number,
            organisation=organisation,
            actor=actor[:128],
            role=role,
            legal_context=legal_context,
            request_id=request_id[:128],
            rule_version=rules.version,
            case=result.case.value,
            first_month=request.first_month,
            last_month=request.last_month,
            total_allowance=result.total_allowance,
            inputs=inputs,
            result=result_view(result),
        )
        uow.session.add(row)
        uow.session.flush()
        uow.commit()
        return FpieOutcome(
            row.id,
            at,
            keep_until,
            request,
            situation_data,
            payments_data,
            result,
        )


def audit_fpie(
    session: Session,
    *,
    caller: Caller,
    outcome: FpieOutcome,
    role: str,
    legal_context: str,
    request_id: str,
) -> None:
    """Record the consultation of the trainee's ONEM data in ``session``'s transaction (the
    one that stored the computation). The institution acts for itself: no employer, no
    mandate."""
    record_personal_data_access(
        session,
        caller=caller,
        acting=Acting(
            employer_id=0,
            enterprise_number=caller.organisation,
            mandate_id=None,
            scopes=caller.scopes,
        ),
        action="flows.fpie",
        subjects={
            "national_number": outcome.request.national_number,
            "computation_id": outcome.id,
            "role": role,
        },
        request_id=request_id,
        legal_context=legal_context,
    )


# --- career break -----------------------------------------------------------------------------


def career_break_possibilities(
    container: Container,
    national_number: str,
    *,
    employment: EmploymentSource | None = None,
    career_breaks: CareerBreakSource | None = None,
    today: date | None = None,
    language: str | None = None,
) -> CareerBreakView:
    """The person's remaining career-break / time-credit months per reason and regime, or
    why the section is not shown. Reads the person's recorded birth date and language, if
    any; writes nothing."""
    rules = career_break_rules()
    number = NationalNumber.parse(national_number)
    day = today or local_date(utcnow())
    with container.uow() as uow:  # read only: never committed
        person = uow.session.scalar(select(Person).where(Person.national_number == number.value))
    # a person the platform does not hold yet (no training, no employment declared) may
    # still log in: the birth date then comes from the number
    birth = birth_date_of(number, person.birth_date if person else None)
    lang = parse_language(language or (person.language if person else DEFAULT_LANGUAGE))
    failure = check_age(rules, birth, day)
    sectors: frozenset[str] = frozenset()
    if failure is None:
        source = employment if employment is not None else simulated_sources().employment
        sectors = sectors_of(source.employments_of_person(number.value), day)
        failure = check_sectors(rules, sectors)
    if failure is not None:
        return CareerBreakView(
            number.value,
            lang,
            shown=False,
            precondition=failure,
            message=rules.label("precondition", failure.value, lang),
            sectors=tuple(sorted(sectors)),
            reasons=(),
        )
    onem = career_breaks if career_breaks is not None else simulated_sources().career_breaks
    counters = onem.counters(number.value)
    return CareerBreakView(
        number.value,
        lang,
        shown=True,
        precondition=None,
        message=None,
        sectors=tuple(sorted(sectors)),
        reasons=present(rules, counters, lang),
    )

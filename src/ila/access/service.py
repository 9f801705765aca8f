"""Use cases on API clients and mandates, and the one helper deciding whether a caller may act
for an employer (:func:`acting_for`). Each use case runs in one unit of work and commits it."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, and_, bindparam, select
from sqlalchemy.orm import Session

from ila.access.domain import (
    MANDATE_SCOPES,
    Acting,
    Caller,
    Scope,
    check_period,
    local_date,
    mandate_active,
    parse_kind,
    parse_public_key,
    parse_scopes,
    periods_overlap,
    scopes_text,
)
from ila.access.models import ApiClient, Mandate
from ila.db.base import utcnow
from ila.db.uow import UnitOfWork
from ila.errors import Conflict, NotFound, ValidationError
from ila.identity.domain import EnterpriseNumber
from ila.identity.models import Employer
from ila.identity.service import find_employer


def _text(value: str, field: str, limit: int) -> str:
    text = value.strip()
    if not text:
        raise ValidationError(
            f"{field.replace('_', ' ')} is required", field=field, code="required"
        )
    if len(text) > limit:
        raise ValidationError(
            f"{field.replace('_', ' ')} longer than {limit} characters",
            field=field,
            code="too_long",
        )
    return text


# --- clients -------------------------------------------------------------------------------


def add_client(
    uow: UnitOfWork,
    *,
    organisation: str,
    name: str,
    public_key: bytes,
    key_filename: str = "public key",
    scopes: Iterable[str],
    actor: str,
) -> str:
    """Register a machine client with its organisation's enterprise number, its public key and
    the scopes it may ask for; returns the new ``client_id``."""
    en = EnterpriseNumber.parse(organisation, field="organisation")
    label = _text(name, "name", 200)
    allowed = parse_scopes(scopes)
    if not allowed:
        raise ValidationError("give at least one scope", field="scope", code="required")
    jwk = parse_public_key(public_key, filename=key_filename)
    client_id = str(uuid.uuid4())
    with uow:
        uow.session.add(
            ApiClient(
                client_id=client_id,
                organisation=en.value,
                name=label,
                public_jwk=jwk,
                scopes=scopes_text(allowed),
                created_at=utcnow(),
                created_by=actor,
            )
        )
        uow.commit()
    return client_id


def list_clients(session: Session, organisation: str | None = None) -> list[ApiClient]:
    query = select(ApiClient).order_by(ApiClient.organisation, ApiClient.created_at)
    if organisation is not None:
        en = EnterpriseNumber.parse(organisation, field="organisation")
        query = query.where(ApiClient.organisation == en.value)
    return list(session.scalars(query))


def revoke_client(uow: UnitOfWork, client_id: str, *, actor: str, reason: str) -> None:
    """Revoke a client: its tokens stop working at once and it gets no new ones."""
    why = _text(reason, "reason", 500)
    with uow:
        client = uow.session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))
        if client is None:
            raise NotFound(f"no client {client_id!r}", field="client_id")
        if client.revoked_at is not None:
            raise Conflict(
                f"client {client_id!r} is already revoked",
                field="client_id",
                code="already_revoked",
            )
        client.revoked_at = utcnow()
        client.revoked_by = actor
        client.revoke_reason = why
        uow.commit()


# --- mandates ------------------------------------------------------------------------------


@dataclass(frozen=True)
class MandateView:
    id: int
    employer: str
    provider: str
    kind: str
    valid_from: date
    valid_to: date | None
    granted_at: datetime
    granted_by: str
    revoked_at: datetime | None
    revoked_by: str | None
    revoke_reason: str | None
    active: bool


def _view(m: Mandate, employer_en: str, at: datetime) -> MandateView:
    return MandateView(
        id=m.id,
        employer=employer_en,
        provider=m.provider,
        kind=m.kind,
        valid_from=m.valid_from,
        valid_to=m.valid_to,
        granted_at=m.granted_at,
        granted_by=m.granted_by,
        revoked_at=m.revoked_at,
        revoked_by=m.revoked_by,
        revoke_reason=m.revoke_reason,
        active=mandate_active(m.valid_from, m.valid_to, m.revoked_at, at),
    )


def grant_mandate(
    uow: UnitOfWork,
    *,
    employer: str,
    provider: str,
    kind: str,
    valid_from: date,
    valid_to: date | None,
    actor: str,
) -> MandateView:
    """The employer lets a provider act for it from ``valid_from`` to ``valid_to`` (inclusive;
    open-ended when None). A provider holds at most one unrevoked mandate per period."""
    provider_en = EnterpriseNumber.parse(provider, field="provider")
    mandate_kind = parse_kind(kind)
    check_period(valid_from, valid_to)
    with uow:
        s = uow.session
        owner = find_employer(s, employer)
        if provider_en.value == owner.enterprise_number:
            raise ValidationError(
                "an employer needs no mandate to act for itself",
                field="provider",
                code="inconsistent",
            )
        for other in s.scalars(
            select(Mandate).where(
                Mandate.employer_id == owner.id,
                Mandate.provider == provider_en.value,
                Mandate.revoked_at.is_(None),
            )
        ):
            if periods_overlap(other.valid_from, other.valid_to, valid_from, valid_to):
                raise Conflict(
                    f"mandate {other.id} already covers part of this period for this provider; "
                    "revoke it first",
                    field="valid_from",
                    code="mandate_overlaps",
                    mandate_id=other.id,
                )
        mandate = Mandate(
            employer_id=owner.id,
            provider=provider_en.value,
            kind=mandate_kind.value,
            valid_from=valid_from,
            valid_to=valid_to,
            granted_at=utcnow(),
            granted_by=actor,
        )
        s.add(mandate)
        s.flush()
        view = _view(mandate, owner.enterprise_number, mandate.granted_at)
        uow.commit()
        return view


def revoke_mandate(
    uow: UnitOfWork,
    mandate_id: int,
    *,
    actor: str,
    reason: str,
    employer: str | None = None,
) -> MandateView:
    """End a mandate now, with a reason; the mandate stays in the history. With ``employer``,
    a mandate of another employer is reported as not found."""
    why = _text(reason, "reason", 500)
    with uow:
        s = uow.session
        row = s.execute(
            select(Mandate, Employer.enterprise_number)
            .join(Employer, Employer.id == Mandate.employer_id)
            .where(Mandate.id == mandate_id)
        ).first()
        if row is None or (
            employer is not None
            and row[1] != EnterpriseNumber.parse(employer, field="employer").value
        ):
            raise NotFound(f"no mandate {mandate_id}", field="mandate_id")
        mandate, owner = row
        if mandate.revoked_at is not None:
            raise Conflict(
                f"mandate {mandate_id} is already revoked",
                field="mandate_id",
                code="already_revoked",
            )
        now = utcnow()
        mandate.revoked_at = now
        mandate.revoked_by = actor
        mandate.revoke_reason = why
        s.flush()
        view = _view(mandate, owner, now)
        uow.commit()
        return view


def list_mandates(
    session: Session, employer: str, *, at: datetime | None = None
) -> list[MandateView]:
    owner = find_employer(session, employer)
    moment = at or utcnow()
    mandates = session.scalars(
        select(Mandate).where(Mandate.employer_id == owner.id).order_by(Mandate.id)
    )
    return [_view(m, owner.enterprise_number, moment) for m in mandates]


# --- acting for an employer ----------------------------------------------------------------


def acting_for_statement(provider: Any = None) -> Select[*tuple[Any, ...]]:
    """The employer of ``en`` and the mandates ``provider`` holds from it that began by
    ``day``: one row per mandate, or one row without mandate (the employer alone), or none.
    ``provider`` is the parameter of that name unless an expression is given."""
    return (
        select(
            Employer.id,
            Mandate.id,
            Mandate.kind,
            Mandate.valid_from,
            Mandate.valid_to,
            Mandate.revoked_at,
        )
        .select_from(Employer)
        .outerjoin(
            Mandate,
            and_(
                Mandate.employer_id == Employer.id,
                Mandate.provider == (bindparam("provider") if provider is None else provider),
                Mandate.valid_from <= bindparam("day"),
            ),
        )
        .where(Employer.enterprise_number == bindparam("en"))
        .order_by(Mandate.id)
    )


ACTING_FOR = acting_for_statement()
"""The employer of ``en`` and the mandates ``provider`` holds from it that began by ``day``:
one row per mandate, or one row without mandate (the employer alone), or none."""


@dataclass(frozen=True)
class ActingQuestion:
    """May ``caller`` use ``scope`` for the employer ``employer_en`` at ``at``? The parameters
    of :data:`ACTING_FOR`, and :meth:`answer` for its rows."""

    caller: Caller
    enterprise_number: str
    at: datetime
    scope: Scope
    field: str

    @classmethod
    def ask(
        cls, caller: Caller, employer_en: str, *, at: datetime, scope: Scope, field: str
    ) -> ActingQuestion:
        en = EnterpriseNumber.parse(employer_en, field=field)
        return cls(caller, en.value, at, scope, field)

    @property
    def parameters(self) -> dict[str, object]:
        return {
            "en": self.enterprise_number,
            "provider": self.caller.organisation,
            "day": local_date(self.at),
        }

    def answer(self, rows: Iterable[Sequence[Any]]) -> Acting:
        hidden = NotFound("employer not found", field=self.field)
        if self.scope not in self.caller.scopes:
            raise hidden
        found = list(rows)
        if not found:
            raise hidden
        employer_id = found[0][0]
        if self.caller.organisation == self.enterprise_number:
            return Acting(employer_id, self.enterprise_number, None, self.caller.scopes)
        for _, mandate_id, kind, valid_from, valid_to, revoked_at in found:
            if mandate_id is None or not mandate_active(valid_from, valid_to, revoked_at, self.at):
                continue
            allowed = self.caller.scopes & MANDATE_SCOPES[parse_kind(kind)]
            if self.scope in allowed:
                return Acting(employer_id, self.enterprise_number, mandate_id, allowed)
        raise hidden


def acting_for(
    session: Session,
    caller: Caller,
    employer_en: str,
    *,
    at: datetime,
    scope: Scope,
    field: str = "enterprise_number",
) -> Acting:
    """May ``caller`` use ``scope`` for this employer at ``at``? Yes for the employer's own
    clients, and for a provider holding a mandate active at ``at`` whose kind allows the scope
    (a training provider registers trainings only). Anything else — unknown employer, another
    tenant, no mandate, an expired or revoked one, a scope the mandate does not cover — is the
    same :class:`NotFound`, so a caller cannot tell whether the employer exists.

    The caller's token must already hold ``scope`` (checked before, as a 403). One
    statement (:data:`ACTING_FOR`)."""
    question = ActingQuestion.ask(caller, employer_en, at=at, scope=scope, field=field)
    if scope not in caller.scopes:
        raise NotFound("employer not found", field=field)
    return question.answer(session.execute(ACTING_FOR, question.parameters))

"""Write the audit trail of the API and read it back for the person concerned.

:func:`record_personal_data_access` adds its rows through the request's own session, so they
belong to the request's transaction: a write that fails or rolls back leaves no audit row, and
a read is recorded only once it has produced its answer. Every row goes through
:func:`ila.audit.chain.append_entries` (hash chain, no gaps); :func:`record_event` writes the
entries of the platform itself (retention proofs, …) the same way. A list (workers, trainings,
dashboard) is recorded as one row per person it shows, so :func:`consultations_of` finds every
access to a person with one indexed query; ``details["listed"]`` keeps the size of the list. The
rows are only ever inserted: nothing in the application updates or deletes them."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ila.access.domain import Acting, Caller
from ila.audit.chain import append_entries, append_or_defer
from ila.audit.models import AuditEvent
from ila.db.base import utcnow
from ila.errors import ValidationError

ACTIONS: dict[str, tuple[str, str]] = {
    # the name a route gives → (resource, action) as stored
    "rights.read": ("right", "read"),
    "rights.write": ("right", "set"),
    "rights.verify": ("right", "verify"),
    "rights.opt_out": ("right", "opt_out"),
    "rights.review": ("right", "review"),
    "workers.list": ("workers", "list"),
    "dashboard.read": ("dashboard", "read"),
    "account.read": ("account", "read"),
    "trainings.create": ("training", "create"),
    "trainings.read": ("training", "read"),
    "trainings.history": ("training", "history"),
    "trainings.list": ("training", "list"),
    "trainings.rectify": ("training", "rectify"),
    "trainings.cancel": ("training", "cancel"),
    "trainings.verify": ("training", "verify"),
    "exchange.account.read": ("account", "exchange_read"),
    "exchange.trainings.send": ("training", "exchange_create"),
    "exchange.directory.register": ("directory_entry", "register"),
    "exchange.directory.unregister": ("directory_entry", "unregister"),
    "exchange.directory.list": ("directory_entry", "list"),
    "exchange.refused": ("exchange", "refused"),
    "flows.fpie": ("fpie_allowance", "compute"),
}
"""Every action the API records. An unknown name is a programming error (it fails the
request, and so its transaction, rather than leaving an access unrecorded)."""

MAX_PAGE = 500
PLATFORM = "platform"
"""The ``organisation`` of entries the platform writes itself (no enterprise number)."""


def record_personal_data_access(
    session: Session,
    *,
    caller: Caller,
    acting: Acting,
    action: str,
    subjects: Mapping[str, object],
    request_id: str,
    legal_context: str | None = None,
) -> None:
    """Record that ``caller``, acting for ``acting``, did ``action`` on ``subjects``, in the
    session's transaction (:func:`access_entries` says which rows)."""
    # one executemany (a list of hundreds of workers is hundreds of rows), in the session's
    # transaction like any other write of the request, at the end of the hash chain; an API
    # request defers it to its commit (ila.api.transaction: one round trip with the COMMIT)
    entries = access_entries(
        caller=caller,
        acting=acting,
        action=action,
        subjects=subjects,
        request_id=request_id,
        legal_context=legal_context,
    )
    if entries:  # none for an empty list: no person's data was read or written
        append_or_defer(session, entries)


def access_entries(
    *,
    caller: Caller,
    acting: Acting,
    action: str,
    subjects: Mapping[str, object],
    request_id: str,
    legal_context: str | None = None,
) -> list[dict[str, object]]:
    """The audit entries recording that ``caller``, acting for ``acting``, did ``action`` on
    ``subjects`` (to append to the chain).

    ``subjects`` names the person (``national_number``) or the persons shown or changed
    (``national_numbers``: one row each; an empty list records nothing, since no personal data
    was read or written) and small references (year, training id, counts) kept in ``details``.
    Without either key, one row without subject is written."""
    try:
        resource, verb = ACTIONS[action]
    except KeyError:
        raise ValueError(f"unknown audited action {action!r}") from None
    details: dict[str, object] = {
        k: v for k, v in subjects.items() if k not in ("national_number", "national_numbers")
    }
    if acting.mandate_id is not None:
        details["mandate_id"] = acting.mandate_id
    people: list[str | None]
    if "national_numbers" in subjects:
        listed = subjects["national_numbers"]
        if not isinstance(listed, list | tuple | set | frozenset):
            raise TypeError("national_numbers must be a collection of national numbers")
        people = [str(n) for n in dict.fromkeys(listed)]  # once each, in order
        details["listed"] = len(people)
    elif "national_number" in subjects:
        people = [str(subjects["national_number"])]
    else:
        people = [None]
    at = utcnow()
    return [
        {
            "occurred_at": at,
            "actor": caller.client_id,
            "organisation": caller.organisation,
            "on_behalf_of": acting.enterprise_number,
            "action": verb,
            "resource": resource,
            "subject_national_number": person,
            "request_id": request_id,
            "legal_context": legal_context,
            "details": details,
        }
        for person in people
    ]


def record_event(
    session: Session,
    *,
    actor: str,
    action: str,
    resource: str,
    request_id: str,
    details: Mapping[str, object],
    organisation: str = PLATFORM,
    on_behalf_of: str | None = None,
    subject_national_number: str | None = None,
    legal_context: str | None = None,
) -> int:
    """Append one entry that is not an API access (a retention proof, an administrator's
    action) to the chain, in the session's transaction; returns its ``seq``."""
    (seq,) = append_entries(
        session,
        [
            {
                "occurred_at": utcnow(),
                "actor": actor,
                "organisation": organisation,
                "on_behalf_of": on_behalf_of,
                "action": action,
                "resource": resource,
                "subject_national_number": subject_national_number,
                "request_id": request_id,
                "legal_context": legal_context,
                "details": dict(details),
            }
        ],
    )
    return seq


# --- who consulted my data -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Consultation:
    """One read or change of a person's data: who, for whom, what, when."""

    occurred_at: datetime
    actor: str
    organisation: str
    on_behalf_of: str | None
    action: str
    resource: str
    request_id: str


@dataclass(frozen=True, slots=True)
class ConsultationPage:
    items: list[Consultation]
    next_cursor: str | None


def _encode(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"audit:{last_id}".encode()).decode().rstrip("=")


def _decode(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    invalid = ValidationError(
        "cursor is not one this API returned", field="cursor", code="invalid_cursor"
    )
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, value = text.partition(":")
        last_id = int(value)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise invalid from None
    if prefix != "audit" or last_id < 1:
        raise invalid
    return last_id


def consultations_of(
    session: Session, national_number: str, *, limit: int = 50, cursor: str | None = None
) -> ConsultationPage:
    """Who read or changed this person's data, newest first, a page at a time (pass the
    ``next_cursor`` of a page to get the next one; ``None`` when there is no more)."""
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationError(f"limit must be 1 to {MAX_PAGE}", field="limit", code="out_of_range")
    before = _decode(cursor)
    query = select(AuditEvent).where(AuditEvent.subject_national_number == national_number)
    if before is not None:
        query = query.where(AuditEvent.id < before)
    rows = list(session.scalars(query.order_by(AuditEvent.id.desc()).limit(limit + 1)))
    page = rows[:limit]
    return ConsultationPage(
        items=[
            Consultation(
                occurred_at=e.occurred_at,
                actor=e.actor,
                organisation=e.organisation,
                on_behalf_of=e.on_behalf_of,
                action=e.action,
                resource=e.resource,
                request_id=e.request_id,
            )
            for e in page
        ],
        next_cursor=_encode(page[-1].id) if len(rows) > limit else None,
    )

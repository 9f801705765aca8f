"""The person directory: which institution manages a dossier for which person, in which
capacity and over which period. Register (idempotent), unregister (ends the period; nothing is
deleted), list.

Overlapping periods (ADR 0009): for the same institution, person and capacity, a new period
that an existing entry already contains is *unchanged* (the existing entry is returned); a
period that overlaps an entry without being contained in it is *refused*
(``overlapping_entry``, with the entry's id): the institution ends or keeps the existing entry
and registers the next period after it. Entries never merge silently, so each entry's period is
exactly what the institution declared and when. Different capacities may overlap freely."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ila.access.domain import local_date, periods_overlap
from ila.accounts.service import decode_cursor, encode_cursor
from ila.bootstrap import Container
from ila.db.base import utcnow
from ila.db.uow import UnitOfWork
from ila.errors import (
    Conflict,
    InvalidPeriod,
    NotFound,
    OverlappingDirectoryEntry,
    PartyNotAuthorised,
    ValidationError,
)
from ila.exchange.domain import CALLER_SIDE, check_capacity, contains
from ila.exchange.models import DirectoryEntry
from ila.exchange.service import _reading, current_authorisations
from ila.identity.domain import EnterpriseNumber, NationalNumber

MAX_PAGE = 500


@dataclass(frozen=True, slots=True)
class Entry:
    id: int
    institution: str
    national_number: str
    capacity: str
    valid_from: date
    valid_to: date | None
    registered_at: datetime
    registered_by: str
    unregistered_at: datetime | None


def _view(row: DirectoryEntry) -> Entry:
    return Entry(
        id=row.id,
        institution=row.institution,
        national_number=row.national_number,
        capacity=row.capacity,
        valid_from=row.valid_from,
        valid_to=row.valid_to,
        registered_at=row.registered_at,
        registered_by=row.registered_by,
        unregistered_at=row.unregistered_at,
    )


def check_institution(session: Session, institution: str, capacity: str) -> None:
    """Only an organisation that calls under an authorisation working with a directory keeps
    one, and only in the capacities of such an authorisation."""
    party = False
    for auth in current_authorisations(session):
        callers = auth.parties(CALLER_SIDE[auth.operation])
        if auth.needs_directory and institution in {p.enterprise_number for p in callers}:
            party = True
            if capacity in auth.capacities:
                return
    if party:
        raise PartyNotAuthorised(
            f"no authorisation lets this institution register persons as {capacity}",
            field="capacity",
        )
    raise PartyNotAuthorised(
        "this organisation is no party of an authorisation that uses a person directory",
        field="institution",
    )


def register_entry(
    uow: UnitOfWork,
    *,
    institution: str,
    national_number: str,
    capacity: str,
    valid_from: date,
    valid_to: date | None,
    actor: str,
) -> tuple[Entry, bool]:
    """Register a person in the institution's directory; ``(entry, created)``."""
    en = EnterpriseNumber.parse(institution, field="institution").value
    nn = NationalNumber.parse(national_number).value
    check_capacity(capacity)
    if valid_to is not None and valid_to < valid_from:
        raise InvalidPeriod("an entry cannot end before it starts", field="valid_to")
    with uow:
        s = uow.session
        check_institution(s, en, capacity)
        same = list(
            s.scalars(
                select(DirectoryEntry)
                .where(
                    DirectoryEntry.institution == en,
                    DirectoryEntry.national_number == nn,
                    DirectoryEntry.capacity == capacity,
                )
                .order_by(DirectoryEntry.id)
            )
        )
        for row in same:
            if contains(row.valid_from, row.valid_to, valid_from, valid_to):
                return _view(row), False
        for row in same:
            if periods_overlap(row.valid_from, row.valid_to, valid_from, valid_to):
                raise OverlappingDirectoryEntry(
                    f"the period overlaps entry {row.id} ({row.valid_from} to "
                    f"{row.valid_to or 'open'}) of the same person and capacity; end that "
                    "entry or register the period after it",
                    field="valid_from",
                    entry_id=row.id,
                )
        row = DirectoryEntry(
            institution=en,
            national_number=nn,
            capacity=capacity,
            valid_from=valid_from,
            valid_to=valid_to,
            registered_at=utcnow(),
            registered_by=actor,
        )
        s.add(row)
        s.flush()
        uow.commit()
        return _view(row), True


def unregister_entry(
    uow: UnitOfWork,
    *,
    institution: str,
    entry_id: int,
    actor: str,
    end_date: date | None = None,
) -> Entry:
    """End an entry on ``end_date`` (today, Belgian date, by default; inclusive). The entry
    stays, with its shortened period and who unregistered it when. Another institution's entry
    is not found, like an unknown one."""
    en = EnterpriseNumber.parse(institution, field="institution").value
    with uow:
        s = uow.session
        row = s.get(DirectoryEntry, entry_id)
        if row is None or row.institution != en:
            raise NotFound(f"no directory entry {entry_id}", field="entry_id")
        if row.unregistered_at is not None:
            raise Conflict(
                f"directory entry {entry_id} is already unregistered",
                field="entry_id",
                code="already_unregistered",
            )
        now = utcnow()
        end = end_date or local_date(now)
        if end < row.valid_from:
            raise InvalidPeriod(
                f"the entry starts on {row.valid_from}; it cannot end before", field="end_date"
            )
        if row.valid_to is not None and end > row.valid_to:
            raise InvalidPeriod(
                f"the entry already ends on {row.valid_to}; unregistering cannot extend it",
                field="end_date",
            )
        row.valid_to = end
        row.unregistered_at = now
        row.unregistered_by = actor
        s.flush()
        uow.commit()
        return _view(row)


@dataclass(frozen=True, slots=True)
class EntryPage:
    items: list[Entry]
    next_cursor: str | None


def list_entries(
    source: Container | Session,
    *,
    institution: str,
    national_number: str | None = None,
    active_on: date | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> EntryPage:
    """The institution's entries by id, a page at a time; only those of one person, or only
    those covering ``active_on``, when given."""
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationError(f"limit must be 1 to {MAX_PAGE}", field="limit", code="out_of_range")
    en = EnterpriseNumber.parse(institution, field="institution").value
    after = decode_cursor("entry", cursor)
    query = select(DirectoryEntry).where(
        DirectoryEntry.institution == en, DirectoryEntry.id > after
    )
    if national_number is not None:
        query = query.where(
            DirectoryEntry.national_number == NationalNumber.parse(national_number).value
        )
    if active_on is not None:
        query = query.where(
            DirectoryEntry.valid_from <= active_on,
            or_(DirectoryEntry.valid_to.is_(None), DirectoryEntry.valid_to >= active_on),
        )
    with _reading(source) as s:
        rows = list(s.scalars(query.order_by(DirectoryEntry.id).limit(limit + 1)))
    page = rows[:limit]
    more = len(rows) > limit
    return EntryPage(
        [_view(r) for r in page], encode_cursor("entry", page[-1].id) if more else None
    )


def subscribers_for(session: Session, national_number: str, at: datetime) -> list[str]:
    """The webhook resolver (``ILA_WEBHOOK_RESOLVER=ila.exchange.directory:subscribers_for``):
    the institutions whose person directory covers this person on ``at``'s Belgian date, in
    any capacity. They receive a thin notification and pull the details through the
    authorised API, where their authorisation decides what they may see."""
    day = local_date(at)
    return sorted(
        set(
            session.scalars(
                select(DirectoryEntry.institution).where(
                    DirectoryEntry.national_number == national_number,
                    DirectoryEntry.valid_from <= day,
                    or_(DirectoryEntry.valid_to.is_(None), DirectoryEntry.valid_to >= day),
                )
            )
        )
    )

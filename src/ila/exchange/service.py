"""Use cases of the exchanges: load and list the authorisations, decide whether an exchange is
authorised (:func:`authorise`), log a refused one (:func:`record_refusal`), read a person's
learning account under a legal context, and receive a region's training record."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ila.access.domain import Acting, Caller, local_date
from ila.accounts.service import person_account
from ila.audit.service import record_personal_data_access
from ila.bootstrap import Container
from ila.db.base import utcnow
from ila.db.uow import UnitOfWork
from ila.errors import (
    Conflict,
    DomainError,
    ItemNotAuthorised,
    LegalContextRequired,
    NoDirectoryEntry,
    UnknownLegalContext,
)
from ila.exchange.domain import (
    Authorisation,
    Operation,
    check_exchange,
    filter_account,
    parse_authorisations,
)
from ila.exchange.models import AuthorisationVersion, DirectoryEntry
from ila.identity.domain import NationalNumber
from ila.rights.rules import RuleSet
from ila.trainings.domain import Source, TrainingData
from ila.trainings.service import Recorded, record_training

AUTHORISATIONS_FILE = Path(__file__).parent / "data" / "authorisations.toml"


@contextmanager
def _reading(source: Container | Session) -> Iterator[Session]:
    if isinstance(source, Session):
        yield source
        return
    with source.uow() as uow:
        yield uow.session


# --- authorisations as versioned data ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Loaded:
    id: str
    version: int
    status: Literal["created", "new_version", "unchanged"]


def load_authorisations(
    uow: UnitOfWork, *, actor: str, path: Path | None = None, text: str | None = None
) -> list[Loaded]:
    """Store the authorisations of the file (the shipped one by default) in one transaction.

    Idempotent: an authorisation whose content did not change is ``unchanged``; a changed one
    becomes a new version (its ``version`` must be higher than the stored one, else
    ``version_not_increased``), and the earlier version is kept, superseded. An authorisation
    missing from the file is left as it is: to end one, give it a ``valid_to``."""
    source = text if text is not None else (path or AUTHORISATIONS_FILE).read_text("utf-8")
    authorisations = parse_authorisations(source)
    results: list[Loaded] = []
    with uow:
        s = uow.session
        now = utcnow()
        for auth in authorisations:
            digest = auth.digest()
            current = _current_row(s, auth.id)
            if current is not None and current.digest == digest:
                results.append(Loaded(auth.id, current.version, "unchanged"))
                continue
            if current is not None and auth.version <= current.version:
                raise Conflict(
                    f"authorisation {auth.id} changed but its version {auth.version} is not "
                    f"higher than the stored version {current.version}",
                    field=f"authorisations.{auth.id}.version",
                    code="version_not_increased",
                )
            if current is not None:
                current.superseded_at = now
                s.flush()
            s.add(
                AuthorisationVersion(
                    authorisation_id=auth.id,
                    version=auth.version,
                    operation=auth.operation.value,
                    legal_reference=auth.legal_reference,
                    valid_from=auth.valid_from,
                    valid_to=auth.valid_to,
                    digest=digest,
                    document=auth.document(),
                    loaded_at=now,
                    loaded_by=actor,
                )
            )
            results.append(
                Loaded(auth.id, auth.version, "created" if current is None else "new_version")
            )
        uow.commit()
    return results


def _current_row(session: Session, authorisation_id: str) -> AuthorisationVersion | None:
    return session.scalar(
        select(AuthorisationVersion).where(
            AuthorisationVersion.authorisation_id == authorisation_id,
            AuthorisationVersion.superseded_at.is_(None),
        )
    )


def current_authorisation(session: Session, authorisation_id: str) -> Authorisation | None:
    row = _current_row(session, authorisation_id)
    return Authorisation.from_document(row.document) if row is not None else None


def current_authorisations(session: Session) -> list[Authorisation]:
    rows = session.scalars(
        select(AuthorisationVersion)
        .where(AuthorisationVersion.superseded_at.is_(None))
        .order_by(AuthorisationVersion.authorisation_id)
    )
    return [Authorisation.from_document(r.document) for r in rows]


def list_authorisations(
    source: Container | Session, *, history: bool = False
) -> list[dict[str, Any]]:
    """The stored authorisations (current versions; every version with ``history``), each as
    its document plus when it was loaded, by whom, and when it was superseded."""
    query = select(AuthorisationVersion).order_by(
        AuthorisationVersion.authorisation_id, AuthorisationVersion.version
    )
    if not history:
        query = query.where(AuthorisationVersion.superseded_at.is_(None))
    with _reading(source) as s:
        return [
            {
                **row.document,
                "loaded_at": row.loaded_at,
                "loaded_by": row.loaded_by,
                "superseded_at": row.superseded_at,
                "digest": row.digest,
            }
            for row in s.scalars(query)
        ]


# --- the decision -------------------------------------------------------------------------------


def authorise(
    session: Session,
    *,
    caller: str,
    legal_context: str | None,
    role: str | None,
    national_number: str,
    at: datetime,
    operation: Operation,
) -> Authorisation:
    """Decide whether the organisation ``caller`` (its enterprise number) may do
    ``operation`` about the person ``national_number`` at ``at``, acting in ``role``, under
    the authorisation named by ``legal_context``; return that authorisation (its ``items``
    say what may be exchanged, its ``retention`` how long it may be kept).

    Checks, in this order, each failure a :class:`~ila.errors.Forbidden` with its own code:

    1. ``legal_context_required`` — no legal context given;
    2. ``unknown_legal_context`` — no loaded authorisation has this id;
    3. ``purpose_not_authorised`` — the authorisation is for another operation;
    4. ``party_not_authorised`` — ``caller`` is not a party on the operation's side
       (receiving for reads and for the FPIE and career-break flows, providing for
       ``trainings.send``);
    5. ``authorisation_expired`` — the authorisation is not in force on ``at``'s Belgian date;
    6. ``role_not_authorised`` — ``role`` is not one of the authorisation's roles;
    7. ``no_directory_entry`` — the authorisation needs a directory (non-empty
       ``capacities``) and ``caller``'s person directory has no entry for the person covering
       that day in one of those capacities.

    It reads only; it neither logs nor commits. A caller that is refused must log the refusal
    in its own transaction with :func:`record_refusal` (the request's transaction is rolled
    back by the error). An authorisation without capacities (career-break possibilities,
    deliberation 24/012) is for the person's own data: the caller must pass the national
    number of the logged-in person only.

    Example (the FPIE flow, deliberation 22/086)::

        auth = authorise(session, caller=BRUXELLES_FORMATION, legal_context="csi-22-086-fpie",
                         role="fpie_pedagogical_adviser", national_number=niss, at=utcnow(),
                         operation=Operation.FPIE_ALLOWANCE)
    """
    auth = authorise_context(
        session, caller=caller, legal_context=legal_context, role=role, at=at, operation=operation
    )
    check_directory(session, auth, caller=caller, national_number=national_number, at=at)
    return auth


def authorise_context(
    session: Session,
    *,
    caller: str,
    legal_context: str | None,
    role: str | None,
    at: datetime,
    operation: Operation,
) -> Authorisation:
    """Checks 1 to 6 of :func:`authorise`: everything but the person (a request about many
    persons checks these once, then :func:`check_directory` per person)."""
    if not legal_context:
        raise LegalContextRequired(
            "every exchange names its legal context (ILA-Legal-Context: <authorisation id>)",
            field="legal_context",
        )
    auth = current_authorisation(session, legal_context)
    if auth is None:
        raise UnknownLegalContext(f"no authorisation {legal_context!r}", field="legal_context")
    check_exchange(auth, organisation=caller, operation=operation, role=role, day=local_date(at))
    return auth


def check_directory(
    session: Session, auth: Authorisation, *, caller: str, national_number: str, at: datetime
) -> None:
    """Check 7 of :func:`authorise`: ``caller``'s directory covers the person on ``at``'s
    Belgian date in a capacity of ``auth`` (nothing to check when ``auth`` has none)."""
    if not auth.needs_directory:
        return
    day = local_date(at)
    nn = NationalNumber.parse(national_number).value
    covered = session.scalar(
        select(DirectoryEntry.id)
        .where(
            DirectoryEntry.institution == caller,
            DirectoryEntry.national_number == nn,
            DirectoryEntry.capacity.in_(auth.capacities),
            DirectoryEntry.valid_from <= day,
            or_(DirectoryEntry.valid_to.is_(None), DirectoryEntry.valid_to >= day),
        )
        .limit(1)
    )
    if covered is None:
        raise NoDirectoryEntry(
            f"no entry of the caller's person directory covers this person on {day} in "
            f"a capacity of {auth.id} ({', '.join(auth.capacities)})",
            field="national_number",
            authorisation=auth.id,
        )


def institution_acting(caller: Caller) -> Acting:
    """How an institution acting for itself is recorded in the audit trail (``on_behalf_of``
    is the institution; there is no employer nor mandate)."""
    return Acting(
        employer_id=0,
        enterprise_number=caller.organisation,
        mandate_id=None,
        scopes=caller.scopes,
    )


def record_refusal(
    container: Container,
    *,
    caller: Caller,
    error: DomainError,
    operation: Operation,
    legal_context: str | None,
    role: str | None,
    national_number: str | None,
    request_id: str,
) -> None:
    """Log a refused (or failed) exchange in its own committed transaction: the request's
    transaction is rolled back by the error, and the refusal must survive it. Call it after
    the request's transaction has ended (on SQLite a second writer would wait for it)."""
    subjects: dict[str, object] = {
        "refused": error.code,
        "operation": operation.value,
        "role": role,
    }
    if national_number is not None:
        subjects["national_number"] = national_number
    with container.uow() as uow:
        record_personal_data_access(
            uow.session,
            caller=caller,
            acting=institution_acting(caller),
            action="exchange.refused",
            subjects=subjects,
            request_id=request_id,
            legal_context=legal_context[:200] if legal_context else None,
        )
        uow.commit()


# --- reading a learning account under a legal context ------------------------------------------


def read_account(
    session: Session,
    rules: RuleSet,
    *,
    caller: str,
    legal_context: str | None,
    role: str | None,
    national_number: str,
    year: int,
    at: datetime,
    as_of: datetime | None = None,
) -> tuple[Authorisation, dict[str, Any]]:
    """The person's whole account (every employer, every source) reduced to the items the
    authorisation allows, after :func:`authorise` with ``account.read``."""
    nn = NationalNumber.parse(national_number).value
    auth = authorise(
        session,
        caller=caller,
        legal_context=legal_context,
        role=role,
        national_number=nn,
        at=at,
        operation=Operation.ACCOUNT_READ,
    )
    account = person_account(session, nn, year, as_of, rules=rules)
    return auth, filter_account(account, auth.items)


# --- inbound: a region's training ------------------------------------------------------------


def receive_training(
    container: Container,
    session: Session,
    auth: Authorisation,
    *,
    caller: str,
    actor: str,
    record_id: str,
    national_number: str,
    data: TrainingData,
    at: datetime,
) -> Recorded:
    """One training (or certificate) a regional service sends under ``auth`` (from
    :func:`authorise_context` with ``trainings.send``): the caller's directory must cover the
    person; then it is recorded with the ``region`` source, the institution as sender and the
    sender's record id (a replay of the same record is unchanged). A certificate needs the
    ``trainings.certificates`` item."""
    check_directory(session, auth, caller=caller, national_number=national_number, at=at)
    if data.certificate is not None and "trainings.certificates" not in auth.items:
        raise ItemNotAuthorised(
            f"authorisation {auth.id} does not allow certificates",
            field="certificate",
            authorisation=auth.id,
        )
    return record_training(
        container.uow(),
        actor=actor,
        source=Source.REGION,
        sender=caller,
        sender_record_id=record_id,
        national_number=national_number,
        enterprise_number=None,
        data=data,
    )


# --- for the seed flows ----------------------------------------------------------------------


class FlowAccess(Protocol):
    """What a flow knows of one access (``ila.flows.service.FpieAccess`` has these)."""

    @property
    def organisation(self) -> str | None: ...
    @property
    def role(self) -> str: ...
    @property
    def legal_context(self) -> str: ...
    @property
    def national_number(self) -> str: ...
    @property
    def at(self) -> datetime: ...


def fpie_authorisation(session: Session, access: FlowAccess) -> None:
    """The FPIE flow's pluggable check (``Authorise``) backed by :func:`authorise` with
    ``fpie.allowance``: party (Bruxelles Formation), validity, role and the person directory
    (``fpie_candidate``). Raises; logging the refusal is the flow's (see :func:`record_refusal`)."""
    authorise(
        session,
        caller=access.organisation or "",
        legal_context=access.legal_context,
        role=access.role,
        national_number=access.national_number,
        at=access.at,
        operation=Operation.FPIE_ALLOWANCE,
    )

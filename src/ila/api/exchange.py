"""The exchange API of the institutions (regional services): a person's learning account under
a legal context, the trainings they send, and their person directory.

Every call names the institution in the path (the caller's own organisation; any other is
*not found*). Reads and sends carry ``ILA-Legal-Context`` (the id of the authorisation) and
``ILA-Role`` (the role of the institution's user); the platform checks purpose, party,
validity, role and the directory entry (``ila.exchange.service.authorise``). Every exchange is
audited with its legal context: an allowed one in the request's transaction, a refused one in
its own transaction once the request's is over (docs/exchange.md, ADR 0008)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Query, Request, Security
from pydantic import BaseModel, Field
from starlette.responses import Response

from ila.access.audit import record_personal_data_access
from ila.access.domain import Caller, Scope
from ila.api.employers import AsOfQuery, YearQuery, utc
from ila.api.idempotency import Outcome, run_post
from ila.api.problems import problem_responses, request_id_of
from ila.api.read_schemas import AccountPart, AccountTraining, Totals
from ila.api.rights import IdempotencyKeyHeader
from ila.api.schemas import ItemError, Strict
from ila.api.security import container_of, current_caller
from ila.api.training_schemas import CreateTrainingsResponse, TrainingItem, TrainingItemResult
from ila.api.transaction import Transaction, request_transaction
from ila.db.base import utcnow
from ila.errors import DomainError, Forbidden, NotFound, ValidationError
from ila.exchange.directory import Entry, list_entries, register_entry, unregister_entry
from ila.exchange.domain import Authorisation, Operation
from ila.exchange.service import (
    authorise_context,
    institution_acting,
    read_account,
    receive_training,
    record_refusal,
)
from ila.identity.domain import EnterpriseNumber, NationalNumber
from ila.trainings.domain import TrainingData

router = APIRouter(tags=["exchange"])

InstitutionPath = Annotated[
    str,
    Path(
        description="Enterprise number of the institution: the caller's own organisation.",
        examples=["0999200463"],
        max_length=20,
    ),
]
LegalContextHeader = Annotated[
    str | None,
    Header(
        alias="ILA-Legal-Context",
        description="The id of the authorisation the exchange is made under "
        "(e.g. `ila-guidance-consultation`). Required; refused and logged without it.",
        max_length=64,
    ),
]
RoleHeader = Annotated[
    str | None,
    Header(
        alias="ILA-Role",
        description="The role of the institution's user who makes the exchange "
        "(e.g. `guidance_counsellor`); the institution answers for it.",
        max_length=40,
    ),
]
_ERRORS = problem_responses(401, 403, 404, 422, 429)
_WRITE_ERRORS = problem_responses(400, 401, 403, 404, 409, 413, 422, 429)


# --- schemas ----------------------------------------------------------------------------------


class AuthorisationRef(BaseModel):
    id: str = Field(examples=["ila-guidance-consultation"])
    version: int
    items: list[str] = Field(description="The data items the authorisation allows.")


class ExchangePerson(BaseModel):
    national_number: str
    name: str | None = Field(default=None, description="Only with the item `person.name`.")


class ExchangeTraining(AccountTraining):
    certificate: str | None = Field(
        default=None, description="Only with the item `trainings.certificates`."
    )
    certificate_valid_until: date | None = Field(
        default=None, description="Only with the item `trainings.certificates`."
    )


class ExchangeAccount(BaseModel):
    """A person's learning account reduced to the items the authorisation allows: the other
    items are **absent** (no key), never blank."""

    authorisation: AuthorisationRef
    person: ExchangePerson
    year: int
    as_of: datetime | None
    employers: list[AccountPart] | None = Field(
        default=None, description="Only with the item `rights.employers`."
    )
    totals: Totals | None = Field(default=None, description="Only with the item `rights.totals`.")
    trainings: list[ExchangeTraining] | None = Field(
        default=None, description="Only with the item `trainings`."
    )


class InboundTrainingsRequest(Strict):
    items: list[TrainingItem] = Field(min_length=1, max_length=1000)


class EntryIn(Strict):
    national_number: str = Field(max_length=20, examples=["90010190123"])
    capacity: str = Field(max_length=40, examples=["jobseeker_guidance"])
    valid_from: date
    valid_to: date | None = None


class UnregisterIn(Strict):
    end_date: date | None = Field(
        default=None, description="Last day the entry covers (default: today)."
    )


class EntryOut(BaseModel):
    id: int
    institution: str
    national_number: str
    capacity: str
    valid_from: date
    valid_to: date | None
    registered_at: datetime
    registered_by: str
    unregistered_at: datetime | None
    status: Literal["created", "unchanged", "unregistered", "listed"]


class EntryPageOut(BaseModel):
    items: list[EntryOut]
    next_cursor: str | None


# --- helpers ----------------------------------------------------------------------------------


def _institution(caller: Caller, en: str) -> str:
    """The institution of the path must be the caller's own (no mandates here); any other,
    registered or not, is the same *not found*."""
    value = EnterpriseNumber.parse(en, field="en").value
    if value != caller.organisation:
        raise NotFound("institution not found", field="en")
    return value


def _person(raw: str) -> str | None:
    try:
        return NationalNumber.parse(raw).value
    except ValidationError:
        return None


def _entry_out(entry: Entry, status: str) -> EntryOut:
    return EntryOut.model_validate({**asdict(entry), "status": status})


def _refused(
    request: Request,
    caller: Caller,
    operation: Operation,
    legal_context: str | None,
    role: str | None,
) -> Callable[[DomainError, str | None], None]:
    def log(error: DomainError, national_number: str | None) -> None:
        record_refusal(
            container_of(request),
            caller=caller,
            error=error,
            operation=operation,
            legal_context=legal_context,
            role=role,
            national_number=national_number,
            request_id=request_id_of(request),
        )

    return log


# --- a person's account -----------------------------------------------------------------------


@router.get(
    "/institutions/{en}/persons/{niss}/account",
    response_model=ExchangeAccount,
    response_model_exclude_unset=True,
    summary="Read a person's learning account under a legal context",
    responses=_ERRORS,
)
def get_person_account(
    request: Request,
    en: InstitutionPath,
    niss: Annotated[str, Path(description="NISS or BIS number of the person.", max_length=20)],
    year: YearQuery,
    caller: Annotated[Caller, Security(current_caller, scopes=[Scope.INSTITUTION_ACCOUNT_READ])],
    legal_context: LegalContextHeader = None,
    role: RoleHeader = None,
    as_of: AsOfQuery = None,
) -> Any:
    """The whole account (every employer, every source) reduced to the items the
    authorisation allows (`account.read`, e.g. `ila-guidance-consultation`). Refusals are 403
    with a specific code — `legal_context_required`, `unknown_legal_context`,
    `purpose_not_authorised`, `party_not_authorised`, `authorisation_expired`,
    `role_not_authorised`, `no_directory_entry` — and are logged like the reads."""
    institution = _institution(caller, en)
    nn = NationalNumber.parse(niss, field="niss").value
    log = _refused(request, caller, Operation.ACCOUNT_READ, legal_context, role)
    try:
        with request_transaction(container_of(request)) as tx:
            auth, account = read_account(
                tx.session,
                tx.container.rules,
                caller=institution,
                legal_context=legal_context,
                role=role,
                national_number=nn,
                year=year,
                at=utcnow(),
                as_of=utc(as_of),
            )
            record_personal_data_access(
                tx.session,
                caller=caller,
                acting=institution_acting(caller),
                action="exchange.account.read",
                subjects={"national_number": nn, "year": year, "role": role},
                request_id=request_id_of(request),
                legal_context=auth.id,
            )
    except DomainError as exc:
        log(exc, nn)
        raise
    return {**account, "authorisation": _ref(auth)}


def _ref(auth: Authorisation) -> dict[str, Any]:
    return {"id": auth.id, "version": auth.version, "items": list(auth.items)}


# --- inbound trainings ------------------------------------------------------------------------


def _data(item: TrainingItem) -> TrainingData:
    return TrainingData(
        title=item.title,
        provider=item.provider,
        start_date=item.start_date,
        end_date=item.end_date,
        duration_value=item.duration,
        duration_unit=item.duration_unit,
        nature=item.nature,
        status=item.status,
        counts_toward_right=item.counts_toward_right,
        not_counting_reason=item.not_counting_reason,
        certificate=item.certificate,
        certificate_valid_until=item.certificate_valid_until,
        financing=item.financing,
    )


@router.post(
    "/institutions/{en}/trainings",
    response_model=CreateTrainingsResponse,
    summary="Send trainings and certificates (a regional service), per-record results",
    responses=_WRITE_ERRORS,
)
def post_institution_trainings(
    request: Request,
    en: InstitutionPath,
    body: InboundTrainingsRequest,
    caller: Annotated[Caller, Security(current_caller, scopes=[Scope.INSTITUTION_TRAININGS_WRITE])],
    legal_context: LegalContextHeader = None,
    role: RoleHeader = None,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Under an authorisation for `trainings.send` (e.g. `ila-regional-trainings`): the legal
    context, party, validity and role are checked once (else 403 for the whole request); then
    each record needs a directory entry covering its person (else `rejected` with
    `no_directory_entry`). Records are stored with the source `region` and your record id: the
    same record sent again is `unchanged`. They appear in the person's account."""
    refusals: list[tuple[DomainError, str | None]] = []

    def guard(tx: Transaction) -> Authorisation:
        institution = _institution(caller, en)
        try:
            return authorise_context(
                tx.session,
                caller=institution,
                legal_context=legal_context,
                role=role,
                at=utcnow(),
                operation=Operation.TRAININGS_SEND,
            )
        except Forbidden as exc:
            refusals.append((exc, None))
            raise

    def work(tx: Transaction, auth: Authorisation) -> Outcome:
        results: list[TrainingItemResult] = []
        accepted: list[str] = []
        for index, item in enumerate(body.items):
            try:
                recorded = receive_training(
                    tx.container,
                    tx.session,
                    auth,
                    caller=caller.organisation,
                    actor=caller.actor,
                    record_id=item.record_id,
                    national_number=item.national_number,
                    data=_data(item),
                    at=utcnow(),
                )
            except DomainError as exc:
                if isinstance(exc, Forbidden):
                    refusals.append((exc, _person(item.national_number)))
                field = exc.field or "national_number"
                error = ItemError(
                    code=exc.code,
                    message=exc.message,
                    path=f"items[{index}].{'record_id' if field == 'sender_record_id' else field}",
                    field=exc.field,
                    details=dict(exc.details) or None,
                )
                results.append(
                    TrainingItemResult(
                        index=index, record_id=item.record_id, status="rejected", error=error
                    )
                )
                continue
            if recorded.created:
                accepted.append(item.national_number)
            results.append(
                TrainingItemResult(
                    index=index,
                    record_id=item.record_id,
                    status="accepted" if recorded.created else "unchanged",
                    training_id=recorded.training_id,
                    version=recorded.version,
                )
            )
        record_personal_data_access(
            tx.session,
            caller=caller,
            acting=institution_acting(caller),
            action="exchange.trainings.send",
            subjects={"national_numbers": accepted, "role": role},
            request_id=request_id_of(request),
            legal_context=auth.id,
        )
        answer = CreateTrainingsResponse(
            accepted=sum(r.status == "accepted" for r in results),
            unchanged=sum(r.status == "unchanged" for r in results),
            rejected=sum(r.status == "rejected" for r in results),
            items=results,
        )
        return Outcome.of(200, answer)

    log = _refused(request, caller, Operation.TRAININGS_SEND, legal_context, role)
    try:
        return run_post(request, caller, idempotency_key, body, guard, work)
    finally:
        for error, national_number in refusals:
            log(error, national_number)


# --- the person directory ---------------------------------------------------------------------


def _audit_directory(
    request: Request, tx: Transaction, caller: Caller, action: str, **subjects: Any
) -> None:
    record_personal_data_access(
        tx.session,
        caller=caller,
        acting=institution_acting(caller),
        action=action,
        subjects=subjects,
        request_id=request_id_of(request),
    )


@router.get(
    "/institutions/{en}/directory",
    response_model=EntryPageOut,
    summary="List the institution's person directory",
    responses=_ERRORS,
)
def get_directory(
    request: Request,
    en: InstitutionPath,
    caller: Annotated[Caller, Security(current_caller, scopes=[Scope.INSTITUTION_DIRECTORY_READ])],
    national_number: Annotated[
        str | None, Query(max_length=20, description="Only this person's entries.")
    ] = None,
    active_on: Annotated[
        date | None, Query(description="Only the entries covering this day.")
    ] = None,
    cursor: Annotated[
        str | None, Query(max_length=200, description="`next_cursor` of the previous page.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Page size.")] = 50,
) -> EntryPageOut:
    """By entry id, a page at a time; unregistered entries stay, with their shortened
    period."""
    institution = _institution(caller, en)
    with request_transaction(container_of(request)) as tx:
        page = list_entries(
            tx.session,
            institution=institution,
            national_number=national_number,
            active_on=active_on,
            cursor=cursor,
            limit=limit,
        )
        _audit_directory(
            request,
            tx,
            caller,
            "exchange.directory.list",
            national_numbers=[e.national_number for e in page.items],
        )
    return EntryPageOut(
        items=[_entry_out(e, "listed") for e in page.items], next_cursor=page.next_cursor
    )


@router.post(
    "/institutions/{en}/directory",
    response_model=EntryOut,
    status_code=201,
    summary="Register a person in the institution's directory (idempotent)",
    responses={
        200: {"model": EntryOut, "description": "Already covered: the existing entry"},
        **_WRITE_ERRORS,
    },
)
def post_directory(
    request: Request,
    en: InstitutionPath,
    body: EntryIn,
    caller: Annotated[Caller, Security(current_caller, scopes=[Scope.INSTITUTION_DIRECTORY_WRITE])],
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """201 with the new entry; 200 with the existing one when an entry of the same person and
    capacity already contains the period; 409 `overlapping_entry` when the period overlaps one
    without being contained in it (entries are never merged silently). Only a party of an
    authorisation that uses a directory keeps one (else 403 `party_not_authorised`)."""

    def guard(tx: Transaction) -> str:
        return _institution(caller, en)

    def work(tx: Transaction, institution: str) -> Outcome:
        entry, created = register_entry(
            tx.container.uow(),
            institution=institution,
            national_number=body.national_number,
            capacity=body.capacity,
            valid_from=body.valid_from,
            valid_to=body.valid_to,
            actor=caller.actor,
        )
        if created:
            _audit_directory(
                request,
                tx,
                caller,
                "exchange.directory.register",
                national_number=entry.national_number,
                entry_id=entry.id,
                capacity=entry.capacity,
            )
        return Outcome.of(
            201 if created else 200, _entry_out(entry, "created" if created else "unchanged")
        )

    return run_post(request, caller, idempotency_key, body, guard, work)


@router.post(
    "/institutions/{en}/directory/{entry_id}/unregister",
    response_model=EntryOut,
    summary="Unregister: end an entry of the directory (it is kept, with its end date)",
    responses=_WRITE_ERRORS,
)
def post_unregister(
    request: Request,
    en: InstitutionPath,
    entry_id: Annotated[int, Path(ge=1, le=2**31 - 1, description="Id of the entry.")],
    body: UnregisterIn,
    caller: Annotated[Caller, Security(current_caller, scopes=[Scope.INSTITUTION_DIRECTORY_WRITE])],
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """The entry covers the person up to `end_date` (today by default) and no longer; 409
    `already_unregistered` the second time. Another institution's entry is not found."""

    def guard(tx: Transaction) -> str:
        return _institution(caller, en)

    def work(tx: Transaction, institution: str) -> Outcome:
        entry = unregister_entry(
            tx.container.uow(),
            institution=institution,
            entry_id=entry_id,
            end_date=body.end_date,
            actor=caller.actor,
        )
        _audit_directory(
            request,
            tx,
            caller,
            "exchange.directory.unregister",
            national_number=entry.national_number,
            entry_id=entry.id,
        )
        return Outcome.of(200, _entry_out(entry, "unregistered"))

    return run_post(request, caller, idempotency_key, body, guard, work)

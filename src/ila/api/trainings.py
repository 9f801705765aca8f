"""Trainings of an employer's workers: create one or many (a group training in one call),
read, rectify (``If-Match``), cancel, history, list with filters and cursor pagination, and
the employer's verification of what a training provider sent."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request, Security
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.responses import Response

from ila.access.audit import record_personal_data_access
from ila.access.domain import Acting, Caller, ProviderKind, Scope
from ila.access.models import Mandate
from ila.access.service import acting_for
from ila.api.idempotency import Outcome, run_post
from ila.api.problems import problem_responses, request_id_of
from ila.api.rights import EnterpriseNumberPath, IdempotencyKeyHeader
from ila.api.schemas import ItemError
from ila.api.security import container_of, current_caller
from ila.api.training_schemas import (
    CancelRequest,
    CreateTrainingsRequest,
    CreateTrainingsResponse,
    RectifyRequest,
    TrainingContent,
    TrainingHistory,
    TrainingItemResult,
    TrainingOut,
    TrainingPage,
    TrainingVersionOut,
)
from ila.api.transaction import Transaction, request_transaction
from ila.db.base import utcnow
from ila.employment.models import Employment
from ila.errors import DomainError, NotFound, StaleVersion, ValidationError
from ila.identity.domain import NationalNumber
from ila.identity.models import Person
from ila.trainings.domain import Nature, Source, Status, TrainingData
from ila.trainings.models import Training, TrainingVersion
from ila.trainings.service import (
    TrainingFilter,
    cancel_training,
    current_version,
    employer_trainings,
    history,
    owned_training,
    record_training,
    rectify_training,
    to_verify,
    verify_training,
)

router = APIRouter(tags=["trainings"])

TrainingIdPath = Annotated[int, Path(ge=1, le=2**31 - 1, description="Id of the training.")]
IfMatchHeader = Annotated[
    str | None,
    Header(
        description='The ETag of the version you read (`"3"`); a newer version → 412.',
        max_length=40,
    ),
]
ReadScope = Annotated[Caller, Security(current_caller, scopes=[Scope.EMPLOYER_TRAININGS_READ])]
WriteScope = Annotated[Caller, Security(current_caller, scopes=[Scope.EMPLOYER_TRAININGS_WRITE])]
_READ_ERRORS = problem_responses(401, 403, 404, 422, 429)
_WRITE_ERRORS = problem_responses(400, 401, 403, 404, 409, 412, 413, 422, 428, 429)
_PROVIDER_STATUSES = frozenset({Status.PLANNED, Status.FOLLOWED})
_WORKER_FIELDS = {"national_number": "national_number", "sender_record_id": "record_id"}
_NO_EMPLOYMENT = "no employment of this worker with this employer"


# --- helpers -------------------------------------------------------------------------------


def _acting(tx: Transaction, caller: Caller, en: str, scope: Scope) -> Acting:
    return acting_for(tx.session, caller, en, at=utcnow(), scope=scope, field="en")


def _mandate_kind(session: Session, acting: Acting) -> ProviderKind | None:
    if acting.mandate_id is None:
        return None
    kind = session.scalar(select(Mandate.kind).where(Mandate.id == acting.mandate_id))
    return ProviderKind(kind) if kind is not None else None


def _employer_side(tx: Transaction, caller: Caller, en: str) -> Acting:
    """The employer itself or a secretariat/vendor it mandated: a training provider only
    registers trainings, and is answered like any party that may not act for the employer."""
    acting = _acting(tx, caller, en, Scope.EMPLOYER_TRAININGS_WRITE)
    if _mandate_kind(tx.session, acting) is ProviderKind.TRAINING_PROVIDER:
        raise NotFound("employer not found", field="en")
    return acting


def _data(content: TrainingContent) -> TrainingData:
    return TrainingData(
        title=content.title,
        provider=content.provider,
        start_date=content.start_date,
        end_date=content.end_date,
        duration_value=content.duration,
        duration_unit=content.duration_unit,
        nature=content.nature,
        status=content.status,
        counts_toward_right=content.counts_toward_right,
        not_counting_reason=content.not_counting_reason,
        certificate=content.certificate,
        certificate_valid_until=content.certificate_valid_until,
        financing=content.financing,
    )


def _version_fields(v: TrainingVersion) -> dict[str, Any]:
    return {
        "title": v.title,
        "provider": v.provider,
        "start_date": v.start_date,
        "end_date": v.end_date,
        "duration": v.duration_value,
        "duration_unit": v.duration_unit,
        "nature": v.nature,
        "status": v.status,
        "counts_toward_right": v.counts_toward_right,
        "not_counting_reason": v.not_counting_reason,
        "certificate": v.certificate,
        "certificate_valid_until": v.certificate_valid_until,
        "financing": v.financing,
        "version": v.version,
        "operation": v.operation,
        "cancelled": v.cancelled,
        "duration_minutes": v.duration_minutes,
        "recorded_at": v.recorded_at,
        "recorded_by": v.recorded_by,
        "superseded_at": v.superseded_at,
        "reason": v.reason,
    }


def _out(t: Training, v: TrainingVersion, national_number: str, en: str) -> TrainingOut:
    return TrainingOut.model_validate(
        {
            **_version_fields(v),
            "id": t.id,
            "national_number": national_number,
            "employer": en,
            "source": t.source,
            "sender": t.sender,
            "record_id": t.sender_record_id,
            "to_verify": to_verify(t),
            "verified_at": t.verified_at,
            "verified_by": t.verified_by,
        }
    )


def _load(session: Session, training_id: int, acting: Acting) -> TrainingOut:
    training = owned_training(session, training_id, acting.employer_id)
    version = current_version(session, training_id)
    national_number = session.scalar(
        select(Person.national_number).where(Person.id == training.person_id)
    )
    return _out(training, version, str(national_number), acting.enterprise_number)


def _etag(version: int) -> str:
    return f'"{version}"'


def _with_etag(training: TrainingOut) -> Response:
    return Response(
        training.model_dump_json(),
        media_type="application/json",
        headers={"ETag": _etag(training.version)},
    )


def _expected_version(if_match: str | None) -> int | None:
    if if_match is None:
        return None
    text = if_match.strip().removeprefix("W/").strip('"')
    if text == "*":  # any current version
        return None
    try:
        return int(text)
    except ValueError:
        raise StaleVersion(
            f"If-Match {if_match!r} is not a version of this training", field="if-match"
        ) from None


def _audit(
    request: Request, tx: Transaction, caller: Caller, acting: Acting, action: str, **subjects: Any
) -> None:
    record_personal_data_access(
        tx.session,
        caller=caller,
        acting=acting,
        action=action,
        subjects=subjects,
        request_id=request_id_of(request),
    )


# --- create --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Record:
    index: int
    national_number: str
    record_id: str
    content: TrainingContent
    worker_path: str  # items[3] / workers[3]
    content_path: str  # items[3] / training


def _records(body: CreateTrainingsRequest) -> Iterator[_Record]:
    if body.items is not None:
        for i, item in enumerate(body.items):
            yield _Record(
                i, item.national_number, item.record_id, item, f"items[{i}]", f"items[{i}]"
            )
    elif body.training is not None and body.workers is not None:
        for i, worker in enumerate(body.workers):
            yield _Record(
                i,
                worker.national_number,
                worker.record_id,
                body.training,
                f"workers[{i}]",
                "training",
            )


def _error_path(record: _Record, field: str | None) -> str:
    if field is None:
        return record.worker_path
    if field in _WORKER_FIELDS:
        return f"{record.worker_path}.{_WORKER_FIELDS[field]}"
    name = "duration" if field == "duration_value" else field
    return f"{record.content_path}.{name}"


def _check_employed(session: Session, national_number: str, employer_id: int) -> None:
    nn = NationalNumber.parse(national_number)
    employed = session.scalar(
        select(Employment.id)
        .join(Person, Person.id == Employment.person_id)
        .where(Person.national_number == nn.value, Employment.employer_id == employer_id)
        .limit(1)
    )
    if employed is None:
        # the same answer whether the person is unknown or works elsewhere
        raise NotFound(_NO_EMPLOYMENT, field="national_number")


def _create_one(
    tx: Transaction, caller: Caller, acting: Acting, source: Source, record: _Record
) -> TrainingItemResult:
    try:
        if source is Source.PROVIDER and record.content.status not in _PROVIDER_STATUSES:
            raise ValidationError(
                "a training provider registers planned or followed trainings only",
                field="status",
                code="status_not_allowed",
            )
        _check_employed(tx.session, record.national_number, acting.employer_id)
        recorded = record_training(
            tx.container.uow(),
            actor=caller.actor,
            source=source,
            sender=caller.organisation,
            sender_record_id=record.record_id,
            national_number=record.national_number,
            enterprise_number=acting.enterprise_number,
            data=_data(record.content),
        )
    except DomainError as exc:
        error = ItemError(
            code=exc.code,
            message=exc.message,
            path=_error_path(record, exc.field),
            field=exc.field,
            details=dict(exc.details) or None,
        )
        return TrainingItemResult(
            index=record.index, record_id=record.record_id, status="rejected", error=error
        )
    return TrainingItemResult(
        index=record.index,
        record_id=record.record_id,
        status="accepted" if recorded.created else "unchanged",
        training_id=recorded.training_id,
        version=recorded.version,
    )


@router.post(
    "/employers/{en}/trainings",
    response_model=CreateTrainingsResponse,
    summary="Create trainings: one, many, or a group training for many workers",
    responses=_WRITE_ERRORS,
)
def post_trainings(
    request: Request,
    en: EnterpriseNumberPath,
    body: CreateTrainingsRequest,
    caller: WriteScope,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Valid records are created and invalid ones rejected, each with a stable code, a message
    and the JSON path of the offending field (``workers[3].national_number``). A record id
    already recorded with the same content is ``unchanged``. Records sent under a training
    provider's mandate (planned or followed only) are *to verify* for the employer. Always
    200 when the request itself is valid: look at each item's ``status``."""

    def guard(tx: Transaction) -> Acting:
        return _acting(tx, caller, en, Scope.EMPLOYER_TRAININGS_WRITE)

    def work(tx: Transaction, acting: Acting) -> Outcome:
        provider = _mandate_kind(tx.session, acting) is ProviderKind.TRAINING_PROVIDER
        source = Source.PROVIDER if provider else Source.EMPLOYER
        records = list(_records(body))
        results = [_create_one(tx, caller, acting, source, r) for r in records]
        _audit(
            request,
            tx,
            caller,
            acting,
            "trainings.create",
            # the persons a training was created for (not the unchanged or rejected records)
            national_numbers=[
                r.national_number
                for r, result in zip(records, results, strict=True)
                if result.status == "accepted"
            ],
        )
        answer = CreateTrainingsResponse(
            accepted=sum(r.status == "accepted" for r in results),
            unchanged=sum(r.status == "unchanged" for r in results),
            rejected=sum(r.status == "rejected" for r in results),
            items=results,
        )
        return Outcome.of(200, answer)

    return run_post(
        request,
        caller,
        idempotency_key,
        body,
        guard,
        work,
    )


# --- one training --------------------------------------------------------------------------


@router.get(
    "/employers/{en}/trainings/{training_id}",
    response_model=TrainingOut,
    summary="Read a training (its current version); the ETag is its version",
    responses=_READ_ERRORS,
)
def get_training(
    request: Request, en: EnterpriseNumberPath, training_id: TrainingIdPath, caller: ReadScope
) -> Response:
    """Another employer's training is not found, exactly like an unknown id."""
    with request_transaction(container_of(request)) as tx:
        acting = _acting(tx, caller, en, Scope.EMPLOYER_TRAININGS_READ)
        training = _load(tx.session, training_id, acting)
        _audit(
            request,
            tx,
            caller,
            acting,
            "trainings.read",
            national_number=training.national_number,
            training_id=training_id,
        )
    return _with_etag(training)


@router.put(
    "/employers/{en}/trainings/{training_id}",
    response_model=TrainingOut,
    summary="Rectify a training (If-Match required); the earlier version stays in the history",
    responses=_WRITE_ERRORS,
)
def put_training(
    request: Request,
    en: EnterpriseNumberPath,
    training_id: TrainingIdPath,
    body: RectifyRequest,
    caller: WriteScope,
    if_match: IfMatchHeader = None,
) -> Response:
    """Send the whole content with a reason and ``If-Match: "<version>"`` (the ETag you
    read): without it → 428 ``precondition_required``; if the training changed since → 412
    ``stale_version``. Employer, secretariat or vendor only."""
    with request_transaction(container_of(request)) as tx:
        acting = _employer_side(tx, caller, en)
        owned_training(tx.session, training_id, acting.employer_id)
        if if_match is None:
            raise HTTPException(
                428, 'send If-Match with the ETag of the version you read (e.g. "1")'
            )
        rectify_training(
            tx.container.uow(),
            training_id,
            actor=caller.actor,
            reason=body.reason,
            data=_data(body),
            expected_version=_expected_version(if_match),
        )
        training = _load(tx.session, training_id, acting)
        _audit(
            request,
            tx,
            caller,
            acting,
            "trainings.rectify",
            national_number=training.national_number,
            training_id=training_id,
        )
    return _with_etag(training)


@router.post(
    "/employers/{en}/trainings/{training_id}/cancel",
    response_model=TrainingOut,
    summary="Cancel a training with a reason (a new version; nothing is deleted)",
    responses=_WRITE_ERRORS,
)
def cancel(
    request: Request,
    en: EnterpriseNumberPath,
    training_id: TrainingIdPath,
    body: CancelRequest,
    caller: WriteScope,
    if_match: IfMatchHeader = None,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """``If-Match`` is optional here; cancelling a cancelled training → 409
    ``already_cancelled``. Employer, secretariat or vendor only."""

    def guard(tx: Transaction) -> Acting:
        return _employer_side(tx, caller, en)

    def work(tx: Transaction, acting: Acting) -> Outcome:
        owned_training(tx.session, training_id, acting.employer_id)
        cancel_training(
            tx.container.uow(),
            training_id,
            actor=caller.actor,
            reason=body.reason,
            expected_version=_expected_version(if_match),
        )
        training = _load(tx.session, training_id, acting)
        _audit(
            request,
            tx,
            caller,
            acting,
            "trainings.cancel",
            national_number=training.national_number,
            training_id=training_id,
        )
        return Outcome.of(200, training)

    return run_post(
        request,
        caller,
        idempotency_key,
        body,
        guard,
        work,
    )


@router.post(
    "/employers/{en}/trainings/{training_id}/verify",
    response_model=TrainingOut,
    summary="Verify a training a training provider sent (employer or secretariat only)",
    responses=_WRITE_ERRORS,
)
def verify(
    request: Request,
    en: EnterpriseNumberPath,
    training_id: TrainingIdPath,
    caller: WriteScope,
) -> Response:
    """The record stops being *to verify*; verifying again changes nothing. A record the
    employer's side sent → 409 ``nothing_to_verify``."""
    with request_transaction(container_of(request)) as tx:
        acting = _employer_side(tx, caller, en)
        verify_training(
            tx.container.uow(), training_id, employer_id=acting.employer_id, actor=caller.actor
        )
        training = _load(tx.session, training_id, acting)
        _audit(
            request,
            tx,
            caller,
            acting,
            "trainings.verify",
            national_number=training.national_number,
            training_id=training_id,
        )
    return _with_etag(training)


@router.get(
    "/employers/{en}/trainings/{training_id}/history",
    response_model=TrainingHistory,
    summary="Every version of a training, oldest first",
    responses=_READ_ERRORS,
)
def get_history(
    request: Request, en: EnterpriseNumberPath, training_id: TrainingIdPath, caller: ReadScope
) -> TrainingHistory:
    with request_transaction(container_of(request)) as tx:
        acting = _acting(tx, caller, en, Scope.EMPLOYER_TRAININGS_READ)
        training = _load(tx.session, training_id, acting)
        versions = history(tx.session, training_id)
        _audit(
            request,
            tx,
            caller,
            acting,
            "trainings.history",
            national_number=training.national_number,
            training_id=training_id,
        )
        return TrainingHistory(
            id=training_id,
            versions=[TrainingVersionOut.model_validate(_version_fields(v)) for v in versions],
        )


# --- list ----------------------------------------------------------------------------------


def _encode_cursor(after_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": after_id}).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    invalid = ValidationError(
        "not a cursor this API returned", field="cursor", code="invalid_cursor"
    )
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise invalid from None
    after = raw.get("after") if isinstance(raw, dict) else None
    if not isinstance(after, int) or isinstance(after, bool):
        raise invalid
    return after


@router.get(
    "/employers/{en}/trainings",
    response_model=TrainingPage,
    summary="List an employer's trainings, with filters and cursor pagination",
    responses=_READ_ERRORS,
)
def list_trainings(
    request: Request,
    en: EnterpriseNumberPath,
    caller: ReadScope,
    national_number: Annotated[
        str | None, Query(max_length=20, description="Only this worker's trainings.")
    ] = None,
    from_: Annotated[
        date | None, Query(alias="from", description="Trainings ending on or after this day.")
    ] = None,
    to: Annotated[
        date | None, Query(description="Trainings starting on or before this day.")
    ] = None,
    nature: Nature | None = None,
    status: Status | None = None,
    counts_toward_right: bool | None = None,
    to_verify: Annotated[
        bool | None,
        Query(description="true: only a training provider's records not yet verified."),
    ] = None,
    include_cancelled: bool = False,
    cursor: Annotated[
        str | None, Query(max_length=200, description="next_cursor of the previous page.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> TrainingPage:
    """Current versions, in a stable order (by id). Cancelled trainings only with
    ``include_cancelled=true``."""
    with request_transaction(container_of(request)) as tx:
        acting = _acting(tx, caller, en, Scope.EMPLOYER_TRAININGS_READ)
        after_id = _decode_cursor(cursor) if cursor is not None else None
        person_id: int | None = None
        if national_number is not None:
            nn = NationalNumber.parse(national_number)
            person_id = tx.session.scalar(
                select(Person.id).where(Person.national_number == nn.value)
            )
            if person_id is None:
                person_id = -1  # nobody: an empty page, like a worker with no training here
        where = TrainingFilter(
            person_id=person_id,
            start=from_,
            end=to,
            nature=nature,
            status=status,
            counts_toward_right=counts_toward_right,
            to_verify=to_verify,
            include_cancelled=include_cancelled,
        )
        rows = employer_trainings(
            tx.session, acting.employer_id, where, after_id=after_id, limit=limit + 1
        )
        page = rows[:limit]
        items = [_out(t, v, n, acting.enterprise_number) for t, v, n in page]
        _audit(
            request,
            tx,
            caller,
            acting,
            "trainings.list",
            national_numbers=sorted({i.national_number for i in items}),
        )
    more = len(rows) > limit
    return TrainingPage(
        items=items, next_cursor=_encode_cursor(page[-1][0].id) if more and page else None
    )

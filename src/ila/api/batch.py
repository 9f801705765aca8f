"""XML batch files over the API: upload a file (a ticket is returned at once), follow its
status, fetch its result document. The batch belongs to the sender (the caller's
organisation); another sender's ticket is not found. Each record of the file is held to what
the token allows for its employer (own employer, or a mandate), exactly as in the one-record
API routes. Guide: docs/batch.md."""

from __future__ import annotations

import tempfile
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Path, Query, Request, Security
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ila.access.domain import Caller, Scope
from ila.api.problems import problem_responses
from ila.api.security import container_of, current_caller
from ila.api.streaming import spooled_response
from ila.batch.config import BatchSettings
from ila.batch.result import write_result
from ila.batch.service import BatchView, Sender, find_batch, status, submit, work

router = APIRouter(tags=["batches"])

SubmitScope = Annotated[Caller, Security(current_caller, scopes=[Scope.SENDER_BATCHES_WRITE])]
ReadScope = Annotated[Caller, Security(current_caller, scopes=[Scope.SENDER_BATCHES_READ])]
TicketPath = Annotated[
    str, Path(pattern="^[0-9a-f]{32}$", description="The ticket given at submission.")
]
FileName = Annotated[
    str,
    Query(
        max_length=255,
        pattern=r"^[\w.\- ]+$",
        description="Name of the file, kept with the batch.",
    ),
]
_XML_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The submission: a UTF-8 XML file valid against "
        "ila-batch-submission-v1.xsd (namespace urn:be:ila:batch:submission:v1).",
        "content": {"application/xml": {"schema": {"type": "string", "format": "binary"}}},
    }
}


class BatchError(BaseModel):
    code: str
    message: str
    line: int | None = None


class BatchOut(BaseModel):
    """A batch: where it is in its lifecycle (received → validating → processing → done or
    failed) and its counts so far."""

    ticket: str
    sender: str = Field(description="Enterprise number of the sender.")
    reference: str | None = Field(description="The sender's batch reference (header).")
    file_name: str
    status: str = Field(description="received, validating, processing, done or failed.")
    total: int | None = Field(description="Records in the file, once validated.")
    done: int = Field(description="Records applied or rejected so far.")
    progress: float | None = Field(description="done / total, from 0 to 1.")
    accepted: int
    unchanged: int
    rejected: int
    error: BatchError | None = Field(description="Why the whole file failed.")
    received_at: str
    started_at: str | None
    finished_at: str | None
    duplicate: bool = Field(
        description="True when this batch reference was received before: this is that batch."
    )
    result_url: str


def _out(view: BatchView) -> BatchOut:
    return BatchOut(
        ticket=view.ticket,
        sender=view.sender,
        reference=view.reference,
        file_name=view.file_name,
        status=view.status,
        total=view.total,
        done=view.done,
        progress=view.progress,
        accepted=view.accepted,
        unchanged=view.unchanged,
        rejected=view.rejected,
        error=BatchError.model_validate(view.error) if view.error else None,
        received_at=view.received_at,
        started_at=view.started_at,
        finished_at=view.finished_at,
        duplicate=view.duplicate,
        result_url=f"/api/v1/batches/{view.ticket}/result",
    )


@router.post(
    "/batches",
    status_code=202,
    response_model=BatchOut,
    summary="Submit an XML batch file; returns its ticket at once",
    responses={
        200: {
            "model": BatchOut,
            "description": "This batch reference was received "
            "before, with the same file: the earlier batch.",
        },
        **problem_responses(400, 401, 403, 404, 409, 413, 422, 429),
    },
    openapi_extra=_XML_BODY,
)
async def post_batch(
    request: Request,
    caller: SubmitScope,
    background: BackgroundTasks,
    name: FileName = "batch.xml",
) -> Response:
    """Send the file as the request body (``Content-Type: application/xml``). The answer is
    202 with the ticket, before any record is applied; follow ``GET /batches/{ticket}``. A
    file that cannot be read (not XML, a DOCTYPE, wrong encoding, no valid header) is a batch
    ``failed`` at once, with the reason. The same batch reference sent again with the same
    file returns the earlier batch (200); with another file, 409 ``batch_reference_reused``.
    Records are held to the token's scopes: ``employer:trainings:write`` for trainings and
    ``employer:rights:write`` for rights, for the caller's own employer or one that gave it a
    mandate."""
    container = container_of(request)
    settings = BatchSettings()
    sender = Sender(caller.organisation, caller.actor, caller.scopes, "api")
    with tempfile.SpooledTemporaryFile(max_size=1 << 20) as body:
        async for block in request.stream():
            body.write(block)
        body.seek(0)
        view = await run_in_threadpool(
            submit, container, settings, body, file_name=name, sender=sender
        )
    if container.settings.is_sqlite and not view.final and not view.duplicate:
        background.add_task(work, container, settings)  # in-process on SQLite
    return Response(
        _out(view).model_dump_json(),
        status_code=200 if view.duplicate else 202,
        media_type="application/json",
        headers={"Location": f"/api/v1/batches/{view.ticket}"},
        background=background,
    )


@router.get(
    "/batches/{ticket}",
    response_model=BatchOut,
    summary="Status of a batch, with its counts and progress",
    responses=problem_responses(401, 403, 404, 422, 429),
)
def get_batch(request: Request, ticket: TicketPath, caller: ReadScope) -> BatchOut:
    """Another sender's ticket is not found, exactly like an unknown one."""
    return _out(status(container_of(request), ticket, caller.organisation))


@router.get(
    "/batches/{ticket}/result",
    summary="The result document of a finished batch (XML)",
    responses={
        200: {
            "description": "Valid against ila-batch-result-v1.xsd: one <record> per record "
            "of the file, accepted, unchanged or rejected with its error code and line.",
            "content": {"application/xml": {"schema": {"type": "string"}}},
        },
        **problem_responses(401, 403, 404, 409, 422, 429),
    },
)
def get_batch_result(request: Request, ticket: TicketPath, caller: ReadScope) -> Response:
    """409 ``batch_not_finished`` while the batch is still received, validating or
    processing."""
    out = tempfile.SpooledTemporaryFile(max_size=8 << 20)  # noqa: SIM115 - closed by the response
    try:
        with container_of(request).uow() as uow:
            batch = find_batch(uow.session, ticket, caller.organisation)
            write_result(uow.session, batch, out)
    except BaseException:
        out.close()
        raise
    return spooled_response(out, "application/xml")

"""RFC 9457 problem details: the one error format of the API, and the one place where domain
errors become HTTP statuses."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from ila.api.ratelimit import RateLimited
from ila.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InsufficientScope,
    InvalidToken,
    NotFound,
    RuleNotFound,
    StaleVersion,
    Unauthenticated,
    ValidationError,
)

PROBLEM_JSON = "application/problem+json"
REALM = 'Bearer realm="ila"'
log = logging.getLogger(__name__)


class ProblemItem(BaseModel):
    """One problem with one part of the request."""

    code: str = Field(description="Stable machine code.", examples=["invalid_national_number"])
    message: str
    path: str | None = Field(
        default=None,
        description="Where: a JSON path in the body (items[2].days) or the name of a "
        "parameter (en, idempotency-key).",
        examples=["items[2].days"],
    )
    location: str | None = Field(
        default=None, description="body, path, query or header", examples=["body"]
    )


class Problem(BaseModel):
    """An error, as RFC 9457 problem details (``application/problem+json``)."""

    type: str = Field(
        description="URI of the problem type.", examples=["urn:ila:problem:not_found"]
    )
    title: str = Field(examples=["Not Found"])
    status: int = Field(examples=[404])
    detail: str = Field(examples=["employer 0403.019.261 not found"])
    code: str = Field(description="Stable machine code; branch on this.", examples=["not_found"])
    instance: str = Field(
        description="This occurrence: urn:ila:request:<request id>.",
        examples=["urn:ila:request:4f1c2a7e9b0d4a4d8c4e0f7d1e2a3b4c"],
    )
    request_id: str = Field(description="Also sent as the X-Request-ID response header.")
    errors: list[ProblemItem] | None = Field(
        default=None, description="Each problem with a part of the request."
    )
    details: dict[str, Any] | None = Field(default=None, description="Code-specific data.")


_STATUS: Sequence[tuple[type[DomainError], int]] = (
    (Unauthenticated, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (StaleVersion, 412),
    (Conflict, 409),
    (ValidationError, 422),
    (RuleNotFound, 422),
)


def status_for(exc: DomainError) -> int:
    """The HTTP status of a domain error (the only such mapping of the API)."""
    for kind, status in _STATUS:
        if isinstance(exc, kind):
            return status
    return 400


def request_id_of(request: Request) -> str:
    return str(getattr(request.state, "request_id", "-"))


def problem_body(
    status: int,
    code: str,
    detail: str,
    request_id: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"urn:ila:problem:{code}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
        "instance": f"urn:ila:request:{request_id}",
        "request_id": request_id,
    }
    if errors:
        body["errors"] = errors
    if details:
        body["details"] = details
    return body


def problem_response(
    status: int,
    code: str,
    detail: str,
    request_id: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body = problem_body(status, code, detail, request_id, errors=errors, details=details)
    return Response(
        orjson.dumps(body), status_code=status, media_type=PROBLEM_JSON, headers=headers
    )


def _authenticate_header(exc: DomainError) -> dict[str, str]:
    if isinstance(exc, InvalidToken):
        return {"WWW-Authenticate": f'{REALM}, error="invalid_token"'}
    if isinstance(exc, InsufficientScope):
        scope = exc.details.get("scope", "")
        return {"WWW-Authenticate": f'{REALM}, error="insufficient_scope", scope="{scope}"'}
    if isinstance(exc, Unauthenticated):
        return {"WWW-Authenticate": REALM}
    return {}


def domain_error_response(request: Request, exc: DomainError) -> Response:
    errors = (
        [{"code": exc.code, "message": exc.message, "path": exc.field}]
        if exc.field is not None and isinstance(exc, ValidationError)
        else None
    )
    return problem_response(
        status_for(exc),
        exc.code,
        exc.message,
        request_id_of(request),
        errors=errors,
        details=dict(exc.details) or None,
        headers=_authenticate_header(exc),
    )


def json_path(loc: Sequence[str | int]) -> str:
    """``("items", 2, "days")`` → ``items[2].days``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def _validation_response(request: Request, exc: RequestValidationError) -> Response:
    errors = []
    for error in exc.errors():
        loc = tuple(error.get("loc", ()))
        location = str(loc[0]) if loc else "body"
        errors.append(
            {
                "code": str(error.get("type", "invalid_value")),
                "message": str(error.get("msg", "invalid value")),
                "path": json_path(loc[1:]) or None,
                "location": location,
            }
        )
    return problem_response(
        422,
        "request_invalid",
        "the request does not match the API contract; see errors",
        request_id_of(request),
        errors=errors,
    )


_HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    428: "precondition_required",
}


def _http_response(request: Request, exc: HTTPException) -> Response:
    code = _HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    headers = dict(exc.headers or {})
    return problem_response(exc.status_code, code, detail, request_id_of(request), headers=headers)


def _conflict_response(request: Request, exc: IntegrityError) -> Response:
    log.warning("integrity error answered as 409: %s", exc.orig)
    return problem_response(
        409,
        "concurrent_update",
        "the data changed while this request ran; send it again",
        request_id_of(request),
    )


def _rate_limited(request: Request, exc: RateLimited) -> Response:
    return problem_response(
        429,
        "rate_limited",
        f"too many requests; retry after {exc.retry_after} s",
        request_id_of(request),
        headers={"Retry-After": str(exc.retry_after)},
    )


def _server_error(request: Request, exc: Exception) -> Response:
    request_id = request_id_of(request)
    return problem_response(
        500,
        "internal_error",
        f"unexpected error; quote request id {request_id} when reporting it",
        request_id,
        headers={"X-Request-ID": request_id},
    )


def install(app: FastAPI) -> None:
    """Every error of ``app`` answers with problem details."""

    async def on_domain(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DomainError)  # noqa: S101 - registered for this type only
        return domain_error_response(request, exc)

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)  # noqa: S101
        return _validation_response(request, exc)

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)  # noqa: S101
        return _http_response(request, exc)

    async def on_integrity(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, IntegrityError)  # noqa: S101
        return _conflict_response(request, exc)

    async def on_rate_limited(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RateLimited)  # noqa: S101
        return _rate_limited(request, exc)

    async def on_error(request: Request, exc: Exception) -> Response:
        return _server_error(request, exc)

    app.add_exception_handler(DomainError, on_domain)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(IntegrityError, on_integrity)
    app.add_exception_handler(RateLimited, on_rate_limited)
    app.add_exception_handler(Exception, on_error)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for these error statuses (schema: Problem)."""
    return {
        status: {
            "description": HTTPStatus(status).phrase,
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }

"""The ``/api/v1`` application, mounted by :func:`ila.web.app.create_app`, and its OpenAPI
document (``ila api openapi`` writes it to ``docs/openapi.json``)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

import ila
from ila.access.person_tokens import InsufficientAssurance
from ila.api import mandates, oauth, rights, trainings
from ila.api.accounts import AccountReadRoute
from ila.api.accounts import router as accounts_router
from ila.api.batch import router as batch_router
from ila.api.employers import router as employers_router
from ila.api.exchange import router as exchange_router
from ila.api.flows import router as flows_router
from ila.api.me import on_insufficient_assurance
from ila.api.me import router as me_router
from ila.api.middleware import BodyLimitMiddleware, RequestIdMiddleware
from ila.api.problems import Problem, install
from ila.api.ratelimit import TokenBucketLimiter
from ila.audit.aio import GroupAppender, postgresql_writer
from ila.batch.config import BatchSettings
from ila.bootstrap import Container
from ila.config import Settings
from ila.db.aio import AsyncDatabase

PREFIX = "/api/v1"
DESCRIPTION = """The public API of the Individual Learning Account platform.

* **Authentication**: OAuth2 client credentials; the client proves itself with a JWT signed by
  its registered key (`private_key_jwt`, RFC 7523). Tokens are short-lived bearer tokens.
* **A person's own account** (`/me/…`): the person's own access token from the platform's
  OpenID provider (an RFC 9068 JWT access token for this API, scheme `personToken`).
* **Scopes** (`audience:resource:action`) limit what a token may do; mandates limit for which
  employers a service provider may act. Data the caller may not see is *not found*.
* **Errors** are RFC 9457 problem details (`application/problem+json`) with a stable `code`.
* **Retries**: POST requests accept an `Idempotency-Key`.
* Every response carries an `X-Request-ID` (yours if you send one).

Guide: docs/api.md.
"""


def create_api(container: Container | None = None, aio: AsyncDatabase | None = None) -> FastAPI:
    """The API application. Without a container it can only describe itself (OpenAPI). With
    ``aio`` (opened and closed by the enclosing application's lifespan) the hot read routes
    run on the event loop (ADR 0021); without it, or until it is open, they use the
    synchronous engine."""
    settings = container.settings if container is not None else Settings(_env_file=None)
    api = FastAPI(
        title="ila API",
        version=ila.__version__,
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        servers=[{"url": PREFIX}],
    )
    api.state.container = container
    api.state.aio = aio or AsyncDatabase(None)
    api.state.audit_appender = GroupAppender(postgresql_writer(api.state.aio.writer))
    api.state.limiter = TokenBucketLimiter(settings.api_rate_per_second, settings.api_rate_burst)
    install(api)
    # first: the hottest route, before the FastAPI route it shortens (ADR 0021)
    api.router.routes.insert(0, AccountReadRoute())
    api.include_router(oauth.router)
    api.include_router(rights.router)
    api.include_router(mandates.router)
    api.include_router(employers_router)
    api.include_router(accounts_router)
    api.include_router(trainings.router)
    api.include_router(batch_router)
    api.include_router(exchange_router)
    api.include_router(flows_router)
    api.include_router(me_router)  # a person's own account, person tokens (ADR 0018)
    api.add_exception_handler(InsufficientAssurance, on_insufficient_assurance)
    # added last = outermost: the request id exists before anything can fail
    api.add_middleware(
        BodyLimitMiddleware,
        limit=settings.api_max_body_bytes,
        # a batch file streams to the spool directory: the batch channel's own limit
        uploads={("POST", "/batches"): BatchSettings().max_file_bytes},
    )
    api.add_middleware(RequestIdMiddleware)

    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            api.openapi_schema = _document(api)
        return api.openapi_schema

    api.openapi = openapi  # type: ignore[method-assign]
    return api


def _document(api: FastAPI) -> dict[str, Any]:
    doc = get_openapi(
        title=api.title,
        version=api.version,
        openapi_version=api.openapi_version,
        description=api.description,
        routes=api.routes,
        servers=api.servers,
    )
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(problem.pop("$defs", {}))
    schemas["Problem"] = problem
    return doc


def openapi_text() -> str:
    """The OpenAPI document as committed in docs/openapi.json."""
    return json.dumps(create_api().openapi(), indent=2, ensure_ascii=False) + "\n"

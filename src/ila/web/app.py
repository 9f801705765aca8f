"""The web application factory. Nothing is created at import time."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from sqlalchemy import func, select
from starlette.datastructures import MutableHeaders
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import ila
from ila.api.app import PREFIX, create_api
from ila.bootstrap import Container
from ila.db.aio import AsyncDatabase
from ila.identity.models import Employer, Person
from ila.rights.models import RightVersion
from ila.web import oidc, pages

STATIC = Path(__file__).parent / "static"
SESSION_COOKIE = "ila_session"


class _ApiMount(Mount):
    """The API's mount. Starlette's ``{path:path}`` is ``.*``, which stops at a newline: a path
    with an encoded ``%0A`` fell out of the API to the site's plain-JSON 404. Matched with
    DOTALL, every path under ``/api/v1`` reaches the API and gets its problem details."""

    def __init__(self, path: str, app: FastAPI) -> None:
        super().__init__(path, app=app)
        self.path_regex = re.compile(self.path_regex.pattern, re.DOTALL)


class _Site(FastAPI):
    """The site. Requests under ``/api/v1/`` go straight to the API app with the scope the
    mount would give them (``root_path`` + the prefix), past the site's own layers: its error
    pages, page headers, sessions and router, none of which an API call uses (account reads
    answered 7 % more requests without them, ADR 0022). Everything else, lifespan included, is
    the site's; the mount stays the route of record."""

    api: ASGIApp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path, root_path = scope["path"], scope.get("root_path", "")
            if root_path and path.startswith(root_path):  # as Starlette's routes see it
                path = path[len(root_path) :]
            if path.startswith(_API_PATH):
                child = {
                    **scope,
                    "app_root_path": scope.get("app_root_path", root_path),
                    "root_path": root_path + PREFIX,
                }
                await self.api(child, receive, send)
                return
        await super().__call__(scope, receive, send)


_API_PATH = PREFIX + "/"

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
_SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
}


class SecurityHeadersMiddleware:
    """The web pages' headers: no framing, no inline script or style, no sniffing (the API
    sets its own). Plain ASGI: a ``BaseHTTPMiddleware`` would cost every request, API calls
    included, a task group and a re-streamed body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or str(scope.get("path", "")).startswith(PREFIX):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in _SECURITY_HEADERS.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(container: Container) -> FastAPI:
    settings = container.settings
    aio = AsyncDatabase(container.engine)  # the API's reads on the event loop (ADR 0021)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await aio.open()
        try:
            yield
        finally:
            await aio.close()

    app = _Site(
        title="ila", version=ila.__version__, docs_url=None, redoc_url=None, lifespan=lifespan
    )
    app.state.container = container
    app.state.aio = aio
    app.api = create_api(container, aio)
    app.router.routes.append(_ApiMount(PREFIX, app.api))
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    # a signed (itsdangerous) session cookie, HttpOnly, SameSite=Lax, Secure over https
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie=SESSION_COOKIE,
        max_age=settings.web_session_max_age,
        same_site="lax",
        https_only=settings.public_url.startswith("https://"),
    )

    app.add_middleware(SecurityHeadersMiddleware)

    def counts() -> dict[str, int]:
        with container.uow() as uow:
            s = uow.session
            return {
                "employers": s.scalar(select(func.count()).select_from(Employer)) or 0,
                "persons": s.scalar(select(func.count()).select_from(Person)) or 0,
                "rights": s.scalar(
                    select(func.count())
                    .select_from(RightVersion)
                    .where(RightVersion.superseded_at.is_(None))
                )
                or 0,
            }

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        return {
            "status": "ok",
            "version": ila.__version__,
            "rules": container.rules.version,
            **counts(),
        }

    if settings.oidc_issuer is not None:
        app.include_router(oidc.build_router(settings))
    pages.install(app, container, counts)
    return app

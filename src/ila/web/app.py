"""The web application factory. Nothing is created at import time."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from sqlalchemy import func, select
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

import ila
from ila.api.app import PREFIX, create_api
from ila.bootstrap import Container
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


def create_app(container: Container) -> FastAPI:
    settings = container.settings
    app = FastAPI(title="ila", version=ila.__version__, docs_url=None, redoc_url=None)
    app.state.container = container
    app.router.routes.append(_ApiMount(PREFIX, create_api(container)))
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

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        """The web pages' headers: no framing, no inline script or style, no sniffing. The
        API sets its own."""
        response = await call_next(request)
        if not request.url.path.startswith(PREFIX):
            for name, value in _SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
        return response

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

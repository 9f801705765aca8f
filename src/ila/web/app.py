"""The web application factory. Nothing is created at import time."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select
from starlette.routing import Mount

import ila
from ila.api.app import PREFIX, create_api
from ila.bootstrap import Container
from ila.identity.models import Employer, Person
from ila.rights.models import RightVersion

_HOME = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ila — Individual Learning Account</title></head>
<body><main>
<h1>ila — Individual Learning Account</h1>
<p lang="fr">Compte individuel de formation</p>
<p lang="nl">Individuele leerrekening</p>
<p lang="de">Individuelles Lernkonto</p>
<dl>
<dt>Employers</dt><dd>{employers}</dd>
<dt>Persons</dt><dd>{persons}</dd>
<dt>Recorded yearly rights</dt><dd>{rights}</dd>
<dt>Rule set</dt><dd>{rules}</dd>
</dl>
<p><a href="/healthz">health</a> · version {version}</p>
</main></body></html>
"""


class _ApiMount(Mount):
    """The API's mount. Starlette's ``{path:path}`` is ``.*``, which stops at a newline: a path
    with an encoded ``%0A`` fell out of the API to the site's plain-JSON 404. Matched with
    DOTALL, every path under ``/api/v1`` reaches the API and gets its problem details."""

    def __init__(self, path: str, app: FastAPI) -> None:
        super().__init__(path, app=app)
        self.path_regex = re.compile(self.path_regex.pattern, re.DOTALL)


def create_app(container: Container) -> FastAPI:
    app = FastAPI(title="ila", version=ila.__version__, docs_url=None, redoc_url=None)
    app.state.container = container
    app.router.routes.append(_ApiMount(PREFIX, create_api(container)))

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

    @app.get("/", response_class=HTMLResponse)
    def home() -> str:
        return _HOME.format(version=ila.__version__, rules=container.rules.version, **counts())

    return app

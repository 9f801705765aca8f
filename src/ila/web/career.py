"""The logged-in person's career-break / time-credit possibilities (issue 6, point 7b; seed
003, deliberation CSI 24/012): the preconditions (older than 18, then a public- or
private-sector career) are checked before ONEM is asked; then, per reason and regime, the
remaining months or why none.

The rules and the calls are those of :func:`ila.flows.service.career_break_possibilities`;
this module only shows its answer. The answer is **never stored**: it lives in this request
only. The lookup itself is written to the audit trail (who, when, under the legal context of
the deliberation, whether ONEM was asked) without any of the counters."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response
from starlette.requests import Request

from ila.audit.service import PLATFORM, record_event
from ila.bootstrap import Container
from ila.errors import NotFound
from ila.flows.rules import career_break_rules
from ila.flows.service import career_break_possibilities
from ila.sources.registry import Sources, simulated_sources
from ila.web import auth, pages
from ila.web.i18n import N_

if TYPE_CHECKING:
    from ila.web.pages import Renderer

AUDIT_RESOURCE = "career_break"
AUDIT_ACTION = "lookup"
CODE_MESSAGES = (N_("action:career_break.lookup"),)
"""How the lookup appears under "who consulted my data"."""


def sources_of(request: Request) -> Sources:
    """The authentic sources the app was given (``app.state.sources``), else the simulators
    (no connection to ONEM or the DmfA exists in this repository)."""
    given = getattr(request.app.state, "sources", None)
    return given if isinstance(given, Sources) else simulated_sources()


def build_router(container: Container, render: Renderer) -> APIRouter:
    router = APIRouter()

    @router.get("/account/career-break", response_class=HTMLResponse)
    def career_break(request: Request) -> Response:
        user = auth.current_user(request)
        if user is None:
            raise pages.LoginRequired
        if not user.national_number:
            raise NotFound("this login has no learning account", field="national_number")
        sources = sources_of(request)
        view = career_break_possibilities(
            container,
            user.national_number,
            employment=sources.employment,
            career_breaks=sources.career_breaks,
            language=pages.language_of(request),
        )
        with container.uow() as uow:
            # the lookup, never its answer: no counter, reason or regime is written
            record_event(
                uow.session,
                actor=user.actor,
                action=AUDIT_ACTION,
                resource=AUDIT_RESOURCE,
                request_id=f"web-{uuid.uuid4().hex}",
                details={
                    "onem_asked": view.shown,
                    "precondition": view.precondition.value if view.precondition else None,
                },
                organisation=PLATFORM,
                subject_national_number=view.national_number,
                legal_context=career_break_rules().legal_context,
            )
            uow.commit()
        return render(request, "career_break.html", view=view)

    return router

"""Who is using the web interface: the session user, the demo personas, CSRF tokens and the
OpenID Connect relying party (authorization code + PKCE + nonce, assurance level checked).

The session lives in a signed cookie (Starlette's ``SessionMiddleware``, itsdangerous);
it holds the user, the CSRF token and, during a login, Authlib's state, nonce and PKCE
verifier. Employer roles are never taken from the cookie alone: a persona's roles are those
of the code below, looked up again on every request."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from starlette.requests import Request

from ila.demo.generator import (
    DEMO_EMPLOYER_CONSULTING,
    DEMO_EMPLOYER_PC124,
    DEMO_EMPLOYER_PC200,
    DEMO_WORKER_NISS,
)
from ila.errors import DomainError
from ila.exchange.demo import FOREM
from ila.web.i18n import N_

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class Role(StrEnum):
    ACCESS_ADMIN = "access_admin"
    ADMINISTRATOR = "administrator"
    EDITOR = "editor"
    VIEWER = "viewer"


WRITE_ROLES = frozenset({Role.ACCESS_ADMIN, Role.ADMINISTRATOR, Role.EDITOR})


class CsrfRefused(DomainError):
    code = "csrf_refused"


class LoginRefused(DomainError):
    code = "login_refused"


@dataclass(frozen=True)
class Persona:
    key: str
    label: str  # a msgid, translated on the login page
    national_number: str | None
    employers: dict[str, Role] = field(default_factory=dict)
    kind: str = "person"  # person, employer, provider, counsellor, operator
    organisation: str | None = None  # enterprise number: the provider, regional service, operator
    function: str | None = None  # the user's role there (e.g. under an authorisation)


DEMO_PROVIDER = "0999300136"  # a synthetic social secretariat and training provider (demo)
OPERATOR = "0999200760"  # Sigedis, the platform's operator (synthetic, authorisations file)
PERSONAS: dict[str, Persona] = {
    p.key: p
    for p in (
        Persona("worker", N_("Worker"), DEMO_WORKER_NISS),
        Persona(
            "employer_hr",
            N_("Employer HR"),
            None,
            {DEMO_EMPLOYER_PC200: Role.EDITOR, DEMO_EMPLOYER_CONSULTING: Role.EDITOR},
            "employer",
        ),
        Persona(
            "access_admin",
            N_("Employer access administrator"),
            None,
            {DEMO_EMPLOYER_PC200: Role.ACCESS_ADMIN, DEMO_EMPLOYER_PC124: Role.ACCESS_ADMIN},
            "employer",
        ),
        Persona("provider", N_("Service provider"), None, {}, "provider", DEMO_PROVIDER),
        Persona(
            "counsellor",
            N_("Regional counsellor"),
            None,
            {},
            "counsellor",
            FOREM,
            "guidance_counsellor",
        ),
        Persona("operator", N_("Operator"), None, {}, "operator", OPERATOR),
    )
}


@dataclass(frozen=True)
class WebUser:
    subject: str
    name: str
    national_number: str | None
    method: str  # "oidc" or "demo"
    persona: str | None = None
    acr: str | None = None
    # (kind, organisation, function) from ``web_staff``, looked up on every request by
    # :func:`current_user`; never kept in the cookie
    staff: tuple[str, str, str | None] | None = None

    @property
    def _persona(self) -> Persona | None:
        return PERSONAS.get(self.persona or "") if self.method == "demo" else None

    @property
    def employers(self) -> dict[str, Role]:
        """Enterprise number → role; personas only for now (an OIDC citizen is a worker)."""
        if self.method == "demo" and self.persona in PERSONAS:
            return dict(PERSONAS[self.persona].employers)
        return {}

    @property
    def kind(self) -> str:
        """person, employer, provider, counsellor or operator: a staff persona's, else the
        operator's assignment in ``web_staff`` (``ila staff grant``), else a person (employer
        roles come from ``web_roles``)."""
        persona = self._persona
        if persona is not None and persona.kind != "person":
            return persona.kind
        return self.staff[0] if self.staff else "person"

    @property
    def organisation(self) -> str | None:
        """The enterprise number the user works for (providers, counsellors, operators)."""
        persona = self._persona
        if persona is not None and persona.organisation:
            return persona.organisation
        return self.staff[1] if self.staff else None

    @property
    def function(self) -> str | None:
        """The user's role within the organisation (a counsellor's ``guidance_counsellor``)."""
        persona = self._persona
        if persona is not None and persona.organisation:
            return persona.function
        return self.staff[2] if self.staff else None

    @property
    def actor(self) -> str:
        """How the user is recorded in ``recorded_by`` and the audit trail."""
        return f"web:{self.method}:{self.subject}"

    def to_session(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "name": self.name,
            "national_number": self.national_number,
            "method": self.method,
            "persona": self.persona,
            "acr": self.acr,
        }


def current_user(request: Request) -> WebUser | None:
    """The session's user, with their staff assignment read from the database (once per
    request): a revocation takes effect on the next page."""
    data = request.session.get("user")
    if not isinstance(data, dict):
        return None
    try:
        user = WebUser(**{k: v for k, v in data.items() if k != "staff"})
    except TypeError:
        return None
    return _with_staff(request, user)


def _with_staff(request: Request, user: WebUser) -> WebUser:
    app = request.scope.get("app")
    container = getattr(getattr(app, "state", None), "container", None)
    if not user.national_number or container is None:
        return user
    if not hasattr(request.state, "ila_staff"):
        from ila.web.staff import active_staff  # noqa: PLC0415 - staff imports the audit trail

        with container.uow() as uow:
            found = active_staff(uow.session, user.national_number)
        request.state.ila_staff = (
            (found.kind, found.organisation, found.function) if found else None
        )
    staff: tuple[str, str, str | None] | None = request.state.ila_staff
    return replace(user, staff=staff)


def persona_user(key: str) -> WebUser:
    persona = PERSONAS[key]
    return WebUser(
        subject=f"demo-{key}",
        name=persona.label,
        national_number=persona.national_number,
        method="demo",
        persona=key,
    )


def log_in(request: Request, user: WebUser) -> None:
    """A new session for the user: the previous one (and its CSRF token) is dropped."""
    request.session.clear()
    request.session["user"] = user.to_session()
    request.session["csrf"] = secrets.token_urlsafe(32)


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def check_csrf(request: Request, submitted: object) -> None:
    """Refuse a state-changing request whose token is not the session's."""
    expected = request.session.get("csrf")
    given = submitted if isinstance(submitted, str) else request.headers.get(CSRF_HEADER, "")
    if not isinstance(expected, str) or not given or not hmac.compare_digest(expected, given):
        raise CsrfRefused("the form's security token is missing or wrong; reload the page")


def check_acr(claims: dict[str, Any], accepted: list[str]) -> str:
    acr = claims.get("acr")
    if not isinstance(acr, str) or acr not in accepted:
        raise LoginRefused(f"assurance level {acr!r} is not accepted", field="acr")
    return acr

"""The web pages: server-rendered with Jinja2, a full page or (for an HTMX request) the
fragment of the same view. Every form posts a CSRF token; every page works without
JavaScript."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import select
from starlette.requests import Request

import ila
from ila.access.domain import Acting, Caller, ProviderKind
from ila.access.service import grant_mandate, list_mandates, revoke_mandate
from ila.accounts.dashboard import ORDERS as DASHBOARD_ORDERS
from ila.accounts.dashboard import Order
from ila.accounts.service import employer_dashboard, employer_headcount, person_account
from ila.audit.service import consultations_of, record_personal_data_access
from ila.bootstrap import Container
from ila.db.base import utcnow
from ila.errors import DomainError, NotFound, ValidationError
from ila.identity.models import Employer
from ila.identity.service import find_employer
from ila.rights.service import explain
from ila.trainings.domain import DurationUnit, Nature, Source, Status, TrainingData
from ila.trainings.service import (
    TrainingFilter,
    employer_trainings,
    record_training,
    verify_training,
)
from ila.web import auth, career, contests, roles, statement
from ila.web.auth import PERSONAS, WRITE_ROLES, Role, WebUser
from ila.web.charts import Series, bar_chart
from ila.web.i18n import (
    LANGUAGE_COOKIE,
    LANGUAGE_NAMES,
    LANGUAGES,
    Translator,
    pick_language,
)

TEMPLATES = Path(__file__).parent / "templates"
MAX_BATCH = 500
FIRST_PERIOD = 2022  # the first two-year period of the headcount (2022–23)
DASHBOARD_PAGE = 50  # workers per page of the dashboard's table


class LoginRequired(Exception):
    """The page needs a logged-in user: the handler sends them to the login page."""


def environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def language_of(request: Request) -> str:
    return pick_language(
        request.cookies.get(LANGUAGE_COOKIE), request.headers.get("accept-language")
    )


def safe_next(target: str | None) -> str:
    """Only a path of this site: never another origin (open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@dataclass(frozen=True)
class Renderer:
    env: Environment
    container: Container

    def __call__(
        self,
        request: Request,
        template: str,
        status: int = 200,
        fragment: str | None = None,
        **context: Any,
    ) -> HTMLResponse:
        t = Translator(language_of(request))
        user = auth.current_user(request)
        name = fragment if fragment and request.headers.get("hx-request") else template
        body = self.env.get_template(name).render(
            _=t.gettext,
            t=t,
            lang=t.language,
            languages=LANGUAGES,
            language_names=LANGUAGE_NAMES,
            user=user,
            has_companies=bool(roles_of(self.container, user)),
            csrf=auth.csrf_token(request),
            path=request.url.path,
            here=quote(
                str(request.url.path) + (f"?{request.url.query}" if request.url.query else "")
            ),
            demo_login=self.container.settings.demo_login,
            oidc=self.container.settings.oidc_issuer is not None,
            version=ila.__version__,
            **context,
        )
        return HTMLResponse(body, status_code=status)


def _user(request: Request) -> WebUser:
    user = auth.current_user(request)
    if user is None:
        raise LoginRequired
    return user


def _year(raw: str | None) -> int:
    try:
        year = int(raw) if raw else utcnow().year
    except ValueError:
        year = utcnow().year
    return min(max(year, 2022), 2100)


def _offset(raw: str | None) -> int:
    """Where a page of a list starts: a whole number, the first page otherwise."""
    try:
        return min(max(int(raw or 0), 0), 10_000_000)
    except ValueError:
        return 0


def _dashboard_order(raw: str | None) -> Order:
    return next((o for o in DASHBOARD_ORDERS if o == raw), "national_number")


def _web_caller(user: WebUser, organisation: str) -> Caller:
    return Caller(client_pk=0, client_id=user.actor, organisation=organisation, scopes=frozenset())


def roles_of(container: Container, user: WebUser | None) -> dict[str, Role]:
    """Enterprise number → the user's role: a demo persona's, and those granted to the
    person's national number (looked up on every request, so a revocation takes effect at
    once)."""
    if user is None:
        return {}
    found: dict[str, Role] = {}
    if user.national_number:
        with container.uow() as uow:
            found = roles.active_roles(uow.session, user.national_number)
    return {**found, **user.employers}


def _employer_access(container: Container, user: WebUser, en: str) -> tuple[int, Role]:
    """The employer's id and the user's role there; anything else is as unknown."""
    role = roles_of(container, user).get(en)
    if role is None:
        raise NotFound("employer not found", field="enterprise_number")
    with container.uow() as uow:
        employer = find_employer(uow.session, en)
        return employer.id, role


def _writer(container: Container, user: WebUser, en: str) -> int:
    """The employer's id when the user may change its data (editor and above)."""
    employer_id, role = _employer_access(container, user, en)
    if role not in WRITE_ROLES:
        raise NotFound("employer not found", field="enterprise_number")
    return employer_id


def build_router(  # noqa: PLR0915
    container: Container, render: Renderer, counts: Callable[[], dict[str, int]]
) -> APIRouter:
    router = APIRouter()
    settings = container.settings

    @router.get("/", response_class=HTMLResponse)
    def home(request: Request) -> Response:
        return render(request, "home.html", rules=container.rules.version, stats=counts())

    @router.get("/lang/{code}")
    def set_language(code: str, next: str | None = None) -> Response:
        response = RedirectResponse(safe_next(next), status_code=303)
        if code in LANGUAGES:
            response.set_cookie(
                LANGUAGE_COOKIE,
                code,
                max_age=365 * 24 * 3600,
                samesite="lax",
                secure=settings.public_url.startswith("https://"),
                httponly=True,
            )
        return response

    # --- login -------------------------------------------------------------------------------

    @router.get("/login", response_class=HTMLResponse)
    def login_page(request: Request, error: str | None = None) -> Response:
        personas = list(PERSONAS.values()) if settings.demo_login else []
        return render(request, "login.html", personas=personas, error=error)

    @router.post("/login/demo")
    async def demo_login(request: Request) -> Response:
        form = await request.form()
        auth.check_csrf(request, form.get(auth.CSRF_FIELD))
        key = form.get("persona")
        if not settings.demo_login or not isinstance(key, str) or key not in PERSONAS:
            raise NotFound("no such persona", field="persona")
        auth.log_in(request, auth.persona_user(key))
        return RedirectResponse("/me", status_code=303)

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        form = await request.form()
        auth.check_csrf(request, form.get(auth.CSRF_FIELD))
        request.session.clear()
        return RedirectResponse("/", status_code=303)

    @router.get("/me")
    def me(request: Request) -> Response:
        user = _user(request)
        held = roles_of(container, user)
        if user.national_number and not held:
            return RedirectResponse("/account", status_code=303)
        if held:
            return RedirectResponse("/employer", status_code=303)
        return render(request, "me.html")

    # --- the person's side --------------------------------------------------------------------

    def _own_number(request: Request) -> str:
        user = _user(request)
        if not user.national_number:
            raise NotFound("this login has no learning account", field="national_number")
        return user.national_number

    @router.get("/account", response_class=HTMLResponse)
    def account(request: Request, year: str | None = None) -> Response:
        # the person is always the logged-in one: no identifier in the address to change
        number = _own_number(request)
        y = _year(year)
        data = person_account(container, number, y)
        with container.uow() as uow:
            contested = contests.open_contests_of(uow.session, [t["id"] for t in data["trainings"]])
        return render(request, "account.html", account=data, year=y, contested=contested)

    @router.post("/account/trainings")
    async def own_training(request: Request) -> Response:
        raw = await request.form()
        auth.check_csrf(request, raw.get(auth.CSRF_FIELD))
        number = _own_number(request)
        form = {k: str(v) for k, v in raw.items() if isinstance(v, str)}
        form.setdefault("nature", Nature.INFORMAL.value)
        form.setdefault("status", Status.FOLLOWED.value)
        try:
            data = _training_data(form, certificate=True)
            record_training(
                container.uow(),
                actor=_user(request).actor,
                source=Source.PERSON,
                sender=f"person:{number}",
                sender_record_id=f"web-{uuid.uuid4().hex}",
                national_number=number,
                enterprise_number=None,
                data=data,
            )
        except DomainError as exc:
            return render(request, "error.html", status=422, error=exc)
        return RedirectResponse(f"/account?year={data.end_date.year}", status_code=303)

    @router.post("/account/trainings/{training_id}/contest")
    async def contest(request: Request, training_id: int) -> Response:
        raw = await request.form()
        auth.check_csrf(request, raw.get(auth.CSRF_FIELD))
        number = _own_number(request)
        reason = raw.get("reason")
        contests.open_contest(
            container.uow(),
            national_number=number,
            training_id=training_id,
            reason=reason if isinstance(reason, str) else "",
        )
        year = raw.get("year")
        return RedirectResponse(f"/account?year={_year(str(year))}", status_code=303)

    @router.get("/account/explain", response_class=HTMLResponse)
    def account_explain(request: Request, employer: str, year: str | None = None) -> Response:
        number = _own_number(request)
        y = _year(year)
        data = explain(container, number, employer, y)
        return render(request, "explain.html", data=data, year=y)

    @router.get("/account/consultations", response_class=HTMLResponse)
    def consultations(request: Request, cursor: str | None = None) -> Response:
        number = _own_number(request)
        with container.uow() as uow:
            page = consultations_of(uow.session, number, limit=50, cursor=cursor)
        return render(request, "consultations.html", page=page)

    # --- the employer's side ------------------------------------------------------------------

    @router.get("/employer", response_class=HTMLResponse)
    def choose_employer(request: Request) -> Response:
        held = roles_of(container, _user(request))
        numbers = sorted(held)
        with container.uow() as uow:
            names = dict(
                uow.session.execute(
                    select(Employer.enterprise_number, Employer.name).where(
                        Employer.enterprise_number.in_(numbers)
                    )
                ).all()
            )
        companies = [
            {"enterprise_number": n, "name": names[n], "role": held[n]}
            for n in numbers
            if n in names
        ]
        return render(request, "employers.html", companies=companies)

    @router.get("/employer/{en}", response_class=HTMLResponse)
    def dashboard(
        request: Request,
        en: str,
        year: str | None = None,
        offset: str | None = None,
        order: str | None = None,
    ) -> Response:
        """The company's figures; the per-worker table is sorted and paged here, the audit
        names the workers of the page shown."""
        user = _user(request)
        employer_id, role = _employer_access(container, user, en)
        y = _year(year)
        sort = _dashboard_order(order)
        with container.uow() as uow:
            data = employer_dashboard(
                uow.session,
                container.rules,
                employer_id,
                y,
                workers_limit=DASHBOARD_PAGE,
                workers_offset=_offset(offset),
                order=sort,
            )
            # the size band of the year's two-year period (2022–23, 2024–25, …), derived
            headcount = employer_headcount(
                uow.session, container.rules, employer_id, y - (y - FIRST_PERIOD) % 2
            )
            record_personal_data_access(
                uow.session,
                caller=_web_caller(user, en),
                acting=Acting(employer_id, en, None, frozenset()),
                action="dashboard.read",
                subjects={
                    "national_numbers": [w["national_number"] for w in data["by_worker"]],
                    "year": y,
                },
                request_id=f"web-{uuid.uuid4().hex}",
            )
            uow.commit()
        t = Translator(language_of(request))
        charts = _charts(t, data)
        return render(
            request,
            "dashboard.html",
            fragment="_dashboard_body.html",
            en=en,
            role=role,
            can_write=role in WRITE_ROLES,
            data=data,
            year=y,
            charts=charts,
            order=sort,
            page_size=DASHBOARD_PAGE,
            headcount=headcount,
        )

    @router.get("/employer/{en}/trainings/new", response_class=HTMLResponse)
    def new_training(request: Request, en: str) -> Response:
        _writer(container, _user(request), en)
        return render(request, "training_form.html", en=en, form={}, results=None)

    @router.post("/employer/{en}/trainings", response_class=HTMLResponse)
    async def create_trainings(request: Request, en: str) -> Response:
        user = _user(request)
        raw = await request.form()
        auth.check_csrf(request, raw.get(auth.CSRF_FIELD))
        _writer(container, user, en)
        form = {k: str(v) for k, v in raw.items() if isinstance(v, str)}
        numbers = list(
            dict.fromkeys(n.strip() for n in form.get("workers", "").split() if n.strip())
        )
        results: list[dict[str, Any]] = []
        try:
            data = _training_data(form)
        except DomainError as exc:
            return render(
                request, "training_form.html", status=422, en=en, form=form, error=exc, results=None
            )
        if not numbers or len(numbers) > MAX_BATCH:
            return render(
                request,
                "training_form.html",
                status=422,
                en=en,
                form=form,
                error=DomainError("workers", field="workers", code="workers_required"),
                results=None,
            )
        batch = uuid.uuid4().hex[:12]
        for i, number in enumerate(numbers):
            try:
                recorded = record_training(
                    container.uow(),
                    actor=user.actor,
                    source=Source.EMPLOYER,
                    sender=en,
                    sender_record_id=f"web-{batch}-{i}",
                    national_number=number,
                    enterprise_number=en,
                    data=data,
                )
                results.append({"national_number": number, "training_id": recorded.training_id})
            except DomainError as exc:
                results.append({"national_number": number, "error": exc})
        ok = sum(1 for r in results if "training_id" in r)
        status = 201 if ok else 422
        return render(
            request, "training_form.html", status=status, en=en, form={}, results=results, ok=ok
        )

    @router.get("/employer/{en}/verify", response_class=HTMLResponse)
    def to_verify(request: Request, en: str) -> Response:
        user = _user(request)
        employer_id, role = _employer_access(container, user, en)
        with container.uow() as uow:
            rows = employer_trainings(
                uow.session, employer_id, TrainingFilter(to_verify=True), after_id=None, limit=200
            )
        items = [
            {
                "id": t.id,
                "title": v.title,
                "provider": v.provider,
                "sender": t.sender,
                "national_number": n,
                "start_date": v.start_date,
                "end_date": v.end_date,
                "duration": f"{v.duration_value} {v.duration_unit}",
            }
            for t, v, n in rows
        ]
        return render(request, "verify.html", en=en, items=items, can_write=role in WRITE_ROLES)

    @router.post("/employer/{en}/verify/{training_id}")
    async def verify(request: Request, en: str, training_id: int) -> Response:
        user = _user(request)
        raw = await request.form()
        auth.check_csrf(request, raw.get(auth.CSRF_FIELD))
        employer_id = _writer(container, user, en)
        verify_training(container.uow(), training_id, employer_id=employer_id, actor=user.actor)
        return RedirectResponse(f"/employer/{en}/verify?done={training_id}", status_code=303)

    @router.get("/employer/{en}/worker/{national_number}", response_class=HTMLResponse)
    def worker_account(
        request: Request, en: str, national_number: str, year: str | None = None
    ) -> Response:
        user = _user(request)
        employer_id, _ = _employer_access(container, user, en)
        y = _year(year)
        with container.uow() as uow:
            data = person_account(
                uow.session, national_number, y, rules=container.rules, employer_id=employer_id
            )
            record_personal_data_access(
                uow.session,
                caller=_web_caller(user, en),
                acting=Acting(employer_id, en, None, frozenset()),
                action="account.read",
                subjects={"national_number": national_number, "year": y},
                request_id=f"web-{uuid.uuid4().hex}",
            )
            uow.commit()
        return render(request, "worker.html", en=en, account=data, year=y)

    @router.get("/employer/{en}/contests", response_class=HTMLResponse)
    def employer_contests(request: Request, en: str) -> Response:
        user = _user(request)
        employer_id, role = _employer_access(container, user, en)
        with container.uow() as uow:
            items = contests.employer_contests(uow.session, employer_id)
        return render(request, "contests.html", en=en, items=items, can_write=role in WRITE_ROLES)

    @router.post("/employer/{en}/contests/{contest_id}/resolve")
    async def resolve(request: Request, en: str, contest_id: int) -> Response:
        user = _user(request)
        raw = await request.form()
        auth.check_csrf(request, raw.get(auth.CSRF_FIELD))
        employer_id = _writer(container, user, en)
        answer = raw.get("resolution")
        contests.resolve_contest(
            container.uow(),
            contest_id,
            employer_id=employer_id,
            resolution=answer if isinstance(answer, str) else "",
            actor=user.actor,
        )
        return RedirectResponse(f"/employer/{en}/contests", status_code=303)

    # --- access administration: roles and mandates -------------------------------------------

    def _admin(request: Request, en: str) -> tuple[WebUser, int]:
        user = _user(request)
        employer_id, role = _employer_access(container, user, en)
        if role is not Role.ACCESS_ADMIN:
            raise NotFound("employer not found", field="enterprise_number")
        return user, employer_id

    def _access_page(
        request: Request, en: str, employer_id: int, status: int = 200, **extra: Any
    ) -> Response:
        with container.uow() as uow:
            granted = roles.employer_roles(uow.session, employer_id)
            mandates = list_mandates(uow.session, en)
        return render(
            request,
            "access.html",
            status=status,
            en=en,
            granted=granted,
            grantable=[r.value for r in roles.GRANTABLE],
            mandates=[m for m in mandates if m.revoked_at is None],
            kinds=[k.value for k in ProviderKind],
            **extra,
        )

    @router.get("/employer/{en}/access", response_class=HTMLResponse)
    def access(request: Request, en: str) -> Response:
        _, employer_id = _admin(request, en)
        return _access_page(request, en, employer_id)

    async def _posted(request: Request, en: str) -> tuple[WebUser, int, dict[str, str]]:
        raw = await request.form()
        auth.check_csrf(request, raw.get(auth.CSRF_FIELD))
        user, employer_id = _admin(request, en)
        return user, employer_id, {k: str(v) for k, v in raw.items() if isinstance(v, str)}

    def _refused(request: Request, en: str, employer_id: int, exc: DomainError) -> Response:
        return _access_page(request, en, employer_id, status=422, error=exc)

    @router.post("/employer/{en}/access/roles")
    async def grant_role(request: Request, en: str) -> Response:
        user, employer_id, form = await _posted(request, en)
        try:
            roles.grant_role(
                container.uow(),
                employer_id=employer_id,
                national_number=form.get("national_number", ""),
                role=form.get("role", ""),
                actor=user.actor,
            )
        except DomainError as exc:
            return _refused(request, en, employer_id, exc)
        return RedirectResponse(f"/employer/{en}/access", status_code=303)

    @router.post("/employer/{en}/access/roles/{role_id}/revoke")
    async def revoke_role(request: Request, en: str, role_id: int) -> Response:
        user, employer_id, _ = await _posted(request, en)
        roles.revoke_role(container.uow(), role_id, employer_id=employer_id, actor=user.actor)
        return RedirectResponse(f"/employer/{en}/access", status_code=303)

    @router.post("/employer/{en}/access/mandates")
    async def grant_a_mandate(request: Request, en: str) -> Response:
        user, employer_id, form = await _posted(request, en)
        try:
            until = form.get("valid_to", "")
            grant_mandate(
                container.uow(),
                employer=en,
                provider=form.get("provider", "").strip(),
                kind=form.get("kind", ""),
                valid_from=_form_date(form, "valid_from"),
                valid_to=_form_date(form, "valid_to") if until else None,
                actor=user.actor,
            )
        except DomainError as exc:
            return _refused(request, en, employer_id, exc)
        return RedirectResponse(f"/employer/{en}/access", status_code=303)

    @router.post("/employer/{en}/access/mandates/{mandate_id}/revoke")
    async def revoke_a_mandate(request: Request, en: str, mandate_id: int) -> Response:
        user, employer_id, form = await _posted(request, en)
        try:
            revoke_mandate(
                container.uow(),
                mandate_id,
                actor=user.actor,
                reason=form.get("reason", ""),
                employer=en,
            )
        except DomainError as exc:
            return _refused(request, en, employer_id, exc)
        return RedirectResponse(f"/employer/{en}/access", status_code=303)

    return router


def _form_date(form: dict[str, str], name: str) -> date:
    try:
        return date.fromisoformat(form.get(name, ""))
    except ValueError:
        raise ValidationError("a date is required", field=name, code="invalid_date") from None


def _training_data(form: dict[str, str], *, certificate: bool = False) -> TrainingData:
    def day(name: str) -> date:
        return _form_date(form, name)

    try:
        duration = Decimal(form.get("duration", "").replace(",", "."))
    except InvalidOperation:
        raise ValidationError(
            "a number is required", field="duration", code="invalid_duration"
        ) from None
    try:
        unit = DurationUnit(form.get("unit", "hours"))
        nature = Nature(form.get("nature", ""))
        status = Status(form.get("status", ""))
    except ValueError:
        raise ValidationError("unknown code", field="nature", code="unknown_code") from None
    return TrainingData(
        title=form.get("title", "").strip(),
        provider=form.get("provider", "").strip() or None,
        start_date=day("start_date"),
        end_date=day("end_date"),
        duration_value=duration,
        duration_unit=unit,
        nature=nature,
        status=status,
        certificate=(form.get("certificate", "").strip() or None) if certificate else None,
    ).validate()


def _charts(t: Translator, data: dict[str, Any]) -> dict[str, str]:
    top = data["by_worker"][:20]
    committees = data["by_joint_committee"]
    return {
        "workers": bar_chart(
            t.gettext("Entitlement and days used per worker"),
            [w["name"] for w in top],
            [
                Series(t.gettext("Entitlement"), [Decimal(w["entitlement"]["days"]) for w in top]),
                Series(t.gettext("Used"), [Decimal(w["used"]["days"]) for w in top]),
            ],
        ),
        "committees": bar_chart(
            t.gettext("Entitlement and days used per joint committee"),
            [c["joint_committee"] for c in committees],
            [
                Series(
                    t.gettext("Entitlement"),
                    [Decimal(c["entitlement"]["days"]) for c in committees],
                ),
                Series(t.gettext("Used"), [Decimal(c["used"]["days"]) for c in committees]),
            ],
        ),
        "quarters": bar_chart(
            t.gettext("Days used per quarter"),
            [f"Q{q['quarter']}" for q in data["used_per_quarter"]],
            [
                Series(
                    t.gettext("Used"),
                    [Decimal(q["used"]["days"]) for q in data["used_per_quarter"]],
                )
            ],
        ),
    }


def install(app: FastAPI, container: Container, counts: Callable[[], dict[str, int]]) -> None:
    render = Renderer(environment(), container)
    app.include_router(build_router(container, render, counts))
    from ila.web import employer_records  # noqa: PLC0415 - it builds on this module

    employer_records.install(app, container, render)
    # the other sides' pages import this module's helpers: imported here, once it is loaded
    from ila.web import counsellor, operator, provider  # noqa: PLC0415

    for side in (counsellor, provider, operator):
        app.include_router(side.build_router(container, render))
    app.include_router(statement.build_router(container))
    app.include_router(career.build_router(container, render))

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        target = quote(safe_next(str(request.url.path)))
        return RedirectResponse(f"/login?next={target}", status_code=303)

    @app.exception_handler(auth.CsrfRefused)
    async def _csrf(request: Request, exc: DomainError) -> Response:
        return render(request, "error.html", status=403, error=exc)

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> Response:
        status = 404 if isinstance(exc, NotFound) else 400
        return render(request, "error.html", status=status, error=exc)

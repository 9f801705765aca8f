"""One authorisation test over every /api/v1 route found in the application: no token → 401;
a token without the route's scope → 403; another tenant's employer, or an expired or revoked
mandate, or a mandate of the wrong kind → 404 with the very body of an unknown employer; and
none of these leaves a row behind. Then the employer's own client, and a mandated provider
where the mandate's kind allows it, succeed."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from starlette.routing import Mount

from ila.access.domain import Scope
from ila.identity.service import find_employer
from ila.rights.review import list_opt_outs, opt_out, withdraw_opt_out
from ila.trainings.domain import Source, Status
from ila.trainings.service import record_training
from ila.web.app import create_app
from tests import builders
from tests.api.authorisation_elsewhere import ELSEWHERE
from tests.api.conftest import Api, World, assert_problem, make_world

PUBLIC = {("POST", "/oauth/token"), ("GET", "/openapi.json")}
# Routes of other audiences (institutions, batch senders …) are tested by their own modules,
# listed in tests/api/authorisation_elsewhere.py: add a line there rather than editing this file.


@dataclass(frozen=True)
class Case:
    scope: Scope
    path: Callable[[World, str], str]  # for an employer (its worker, its mandate)
    body: Callable[[World], dict[str, Any]] | None
    ok: int
    providers: bool  # may a social secretariat with a mandate use it?
    trainer: bool = False  # may a training provider with a mandate use it?
    headers: dict[str, str] | None = None
    prepare: Callable[[Api, World], None] | None = None  # before each call meant to succeed


def _worker(w: World, en: str) -> str:
    return w.worker_a if en == w.a else w.worker_b


def _mandate(w: World, en: str) -> int:
    return w.spare if en == w.a else w.mandate_b


TRAININGS: dict[str, int] = {}  # the training of each employer the calls use, by employer


def _training(w: World, en: str) -> int:
    return TRAININGS.get(en, 1)


def _record_training(api: Api, w: World, en: str, source: Source = Source.EMPLOYER) -> None:
    recorded = record_training(
        api.container.uow(),
        actor="test",
        source=source,
        sender=w.trainer if source is Source.PROVIDER else en,
        sender_record_id=uuid.uuid4().hex,
        national_number=_worker(w, en),
        enterprise_number=en,
        data=builders.training_data(status=Status.PLANNED),
    )
    TRAININGS[en] = recorded.training_id


def _fresh_training(api: Api, w: World) -> None:
    _record_training(api, w, w.a)


def _fresh_provider_training(api: Api, w: World) -> None:
    _record_training(api, w, w.a, Source.PROVIDER)


def _training_body(w: World) -> dict[str, Any]:
    return {
        "items": [
            {
                "national_number": w.worker_a,
                "record_id": uuid.uuid4().hex,
                "title": "Safety",
                "start_date": "2024-03-01",
                "end_date": "2024-03-01",
                "duration": "4",
                "nature": "formal_internal",
                "status": "planned",
            },
        ]
    }


OPT_OUTS: dict[str, int] = {}  # the opt-out of each employer the withdraw calls use


def _no_active_opt_out(api: Api, w: World) -> None:
    with api.container.uow() as uow:
        employer_id = find_employer(uow.session, w.a).id
        ids = [o.id for o in list_opt_outs(uow.session, employer_id, 2024) if not o.withdrawn_at]
    for opt_out_id in ids:
        withdraw_opt_out(
            api.container, enterprise_number=w.a, opt_out_id=opt_out_id, reason="t", actor="t"
        )


def _fresh_opt_out(api: Api, w: World) -> None:
    _no_active_opt_out(api, w)
    view = opt_out(
        api.container, enterprise_number=w.a, year=2024, national_number=None, reason="t", actor="t"
    )
    OPT_OUTS[w.a] = view.id


def _rectify_body(w: World) -> dict[str, Any]:
    body = _training_body(w)["items"][0]
    del body["national_number"], body["record_id"]
    return {**body, "title": "Safety, rectified", "reason": "typo"}


CASES: dict[tuple[str, str], Case] = {
    ("GET", "/employers/{en}/workers/{niss}/rights/{year}"): Case(
        Scope.EMPLOYER_RIGHTS_READ,
        lambda w, en: f"/employers/{en}/workers/{_worker(w, en)}/rights/2024",
        None,
        200,
        providers=True,
    ),
    ("POST", "/employers/{en}/rights"): Case(
        Scope.EMPLOYER_RIGHTS_WRITE,
        lambda w, en: f"/employers/{en}/rights",
        lambda w: {
            "year": 2024,
            "items": [
                {"national_number": w.worker_a, "days": "6", "reason": "policy"},
                {"national_number": w.worker_b, "days": "6", "reason": "policy"},
            ],
        },
        200,
        providers=True,
    ),
    ("GET", "/employers/{en}/rights/{year}/review"): Case(
        Scope.EMPLOYER_RIGHTS_READ,
        lambda w, en: f"/employers/{en}/rights/2024/review",
        None,
        200,
        providers=True,
    ),
    ("POST", "/employers/{en}/rights/{year}/verifications"): Case(
        Scope.EMPLOYER_RIGHTS_WRITE,
        lambda w, en: f"/employers/{en}/rights/2024/verifications",
        lambda w: {"items": [{"national_number": w.worker_a}]},
        200,
        providers=True,
    ),
    ("POST", "/employers/{en}/rights/{year}/opt-outs"): Case(
        Scope.EMPLOYER_RIGHTS_WRITE,
        lambda w, en: f"/employers/{en}/rights/2024/opt-outs",
        lambda w: {"national_number": None, "reason": "sector fund keeps the accounts"},
        201,
        providers=True,
        prepare=_no_active_opt_out,
    ),
    ("POST", "/employers/{en}/rights/{year}/opt-outs/{opt_out_id}/withdraw"): Case(
        Scope.EMPLOYER_RIGHTS_WRITE,
        lambda w, en: f"/employers/{en}/rights/2024/opt-outs/{OPT_OUTS.get(en, 1)}/withdraw",
        lambda w: {"reason": "back to the computation"},
        200,
        providers=True,
        prepare=_fresh_opt_out,
    ),
    ("GET", "/employers/{en}/mandates"): Case(
        Scope.EMPLOYER_MANDATES_READ,
        lambda w, en: f"/employers/{en}/mandates",
        None,
        200,
        providers=False,
    ),
    ("POST", "/employers/{en}/mandates"): Case(
        Scope.EMPLOYER_MANDATES_WRITE,
        lambda w, en: f"/employers/{en}/mandates",
        lambda w: {
            "provider": builders.fake_enterprise(9),
            "kind": "software_vendor",
            "valid_from": "2024-01-01",
        },
        201,
        providers=False,
    ),
    ("POST", "/employers/{en}/mandates/{mandate_id}/revoke"): Case(
        Scope.EMPLOYER_MANDATES_WRITE,
        lambda w, en: f"/employers/{en}/mandates/{_mandate(w, en)}/revoke",
        lambda w: {"reason": "no longer needed"},
        200,
        providers=False,
    ),
    ("GET", "/employers/{en}/workers"): Case(
        Scope.EMPLOYER_WORKERS_READ,
        lambda w, en: f"/employers/{en}/workers?year=2024",
        None,
        200,
        providers=True,
    ),
    ("GET", "/employers/{en}/headcount/{period_start}"): Case(
        Scope.EMPLOYER_WORKERS_READ,
        lambda w, en: f"/employers/{en}/headcount/2024",
        None,
        200,
        providers=True,
    ),
    ("GET", "/employers/{en}/dashboard"): Case(
        Scope.EMPLOYER_RIGHTS_READ,
        lambda w, en: f"/employers/{en}/dashboard?year=2024",
        None,
        200,
        providers=True,
    ),
    ("GET", "/employers/{en}/workers/{niss}/account"): Case(
        Scope.EMPLOYER_RIGHTS_READ,
        lambda w, en: f"/employers/{en}/workers/{_worker(w, en)}/account?year=2024",
        None,
        200,
        providers=True,
    ),
    ("POST", "/employers/{en}/trainings"): Case(
        Scope.EMPLOYER_TRAININGS_WRITE,
        lambda w, en: f"/employers/{en}/trainings",
        _training_body,
        200,
        providers=True,
        trainer=True,
    ),
    ("GET", "/employers/{en}/trainings"): Case(
        Scope.EMPLOYER_TRAININGS_READ,
        lambda w, en: f"/employers/{en}/trainings?status=planned",
        None,
        200,
        providers=True,
    ),
    ("GET", "/employers/{en}/trainings/{training_id}"): Case(
        Scope.EMPLOYER_TRAININGS_READ,
        lambda w, en: f"/employers/{en}/trainings/{_training(w, en)}",
        None,
        200,
        providers=True,
    ),
    ("GET", "/employers/{en}/trainings/{training_id}/history"): Case(
        Scope.EMPLOYER_TRAININGS_READ,
        lambda w, en: f"/employers/{en}/trainings/{_training(w, en)}/history",
        None,
        200,
        providers=True,
    ),
    ("PUT", "/employers/{en}/trainings/{training_id}"): Case(
        Scope.EMPLOYER_TRAININGS_WRITE,
        lambda w, en: f"/employers/{en}/trainings/{_training(w, en)}",
        _rectify_body,
        200,
        providers=True,
        headers={"If-Match": '"1"'},
        prepare=_fresh_training,
    ),
    ("POST", "/employers/{en}/trainings/{training_id}/cancel"): Case(
        Scope.EMPLOYER_TRAININGS_WRITE,
        lambda w, en: f"/employers/{en}/trainings/{_training(w, en)}/cancel",
        lambda w: {"reason": "did not take place"},
        200,
        providers=True,
        prepare=_fresh_training,
    ),
    ("POST", "/employers/{en}/trainings/{training_id}/verify"): Case(
        Scope.EMPLOYER_TRAININGS_WRITE,
        lambda w, en: f"/employers/{en}/trainings/{_training(w, en)}/verify",
        None,
        200,
        providers=True,
        prepare=_fresh_provider_training,
    ),
}


def api_routes(app: FastAPI) -> set[tuple[str, str]]:
    """Every (method, path) served under /api/v1 (FastAPI flattens included routers)."""
    mount = next(r for r in app.routes if isinstance(r, Mount) and r.path == "/api/v1")
    return {
        (method, str(route.path))
        for route in iter_route_contexts(mount.routes)
        for method in route.methods or ()
        if method != "HEAD"
    }


def test_every_route_is_covered(api: Api) -> None:
    assert api_routes(create_app(api.container)) == set(CASES) | PUBLIC | set(ELSEWHERE)
    assert not set(CASES) & set(ELSEWHERE)
    root = Path(__file__).resolve().parents[2]
    for (method, template), module in ELSEWHERE.items():
        text = (root / module).read_text(encoding="utf-8")
        assert template in text, (method, template, module)
    assert api.http.get("/api/v1/openapi.json").json()["openapi"].startswith("3.1")


def test_authorisation_on_every_route(api: Api) -> None:
    w = make_world(api.container)
    own = api.register(w.a)
    tokens = {
        org: api.auth(api.register(org)) for org in (w.provider, w.expired, w.revoked, w.trainer)
    }
    own_headers = api.auth(own)
    for en in (w.a, w.b):
        _record_training(api, w, en)

    for (method, template), case in CASES.items():
        label = f"{method} {template}"
        body = case.body(w) if case.body else None

        def call(headers: dict[str, str], en: str, probe: str | None = None) -> httpx.Response:
            extra = {"X-Request-ID": probe} if probe else {}
            extra.update(case.headers or {})  # noqa: B023
            return api.http.request(
                method,  # noqa: B023 - used at once, inside the iteration
                "/api/v1" + case.path(w, en),  # noqa: B023
                headers={**headers, **extra},
                json=body,  # noqa: B023
            )

        without_scope = api.auth(own, " ".join(s.value for s in Scope if s is not case.scope))
        before = api.row_counts()
        assert_problem(call({}, w.a), 401, "unauthenticated")
        assert_problem(call(without_scope, w.a), 403, "insufficient_scope")

        unknown = call(own_headers, w.unknown, probe="probe-1")
        assert_problem(unknown, 404, "not_found")
        other_tenant = call(own_headers, w.b, probe="probe-1")
        assert other_tenant.status_code == 404, label
        assert other_tenant.content == unknown.content, label

        refused = [w.expired, w.revoked] + ([] if case.trainer else [w.trainer])
        refused += [] if case.providers else [w.provider]
        for org in refused:
            blind = call(tokens[org], w.unknown, probe="probe-2")
            denied = call(tokens[org], w.a, probe="probe-2")
            assert denied.status_code == 404, (label, org, denied.text)
            assert denied.content == blind.content, (label, org)
        assert api.row_counts() == before, label

        allowed_orgs = [w.provider] if case.providers else []
        allowed_orgs += [w.trainer] if case.trainer else []
        for org in allowed_orgs:
            if case.prepare:
                case.prepare(api, w)
            allowed = call(tokens[org], w.a)
            assert allowed.status_code == case.ok, (label, org, allowed.text)
        if case.prepare:
            case.prepare(api, w)
        mine = call(own_headers, w.a)
        assert mine.status_code == case.ok, (label, mine.text)
        assert mine.headers["content-type"] == "application/json"

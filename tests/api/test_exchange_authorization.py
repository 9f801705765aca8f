"""Authorisation of the institution routes (listed in ``authorisation_elsewhere``): no token →
401; a token without the route's scope → 403; another institution's path, registered or not →
the same 404 body; none of these leaves a row behind; the institution's own call succeeds.

Routes: ``/institutions/{en}/persons/{niss}/account``, ``/institutions/{en}/trainings``,
``/institutions/{en}/directory``, ``/institutions/{en}/directory/{entry_id}/unregister``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx

from ila.access.domain import Scope
from ila.exchange.directory import register_entry
from ila.exchange.service import load_authorisations
from tests import builders
from tests.api.conftest import Api, assert_problem, training_content

VDAB, FOREM = "0999200166", "0999200265"
GUIDANCE = {"ILA-Legal-Context": "ila-guidance-consultation", "ILA-Role": "guidance_counsellor"}
SENDING = {"ILA-Legal-Context": "ila-regional-trainings", "ILA-Role": "training_registrar"}


@dataclass(frozen=True)
class Route:
    method: str
    scope: Scope
    path: Callable[[str, str, int], str]  # (institution, person, entry) → path
    body: dict[str, Any] | None
    ok: int
    headers: dict[str, str]


def _routes(niss: str) -> list[Route]:
    item = {
        **training_content(start_date="2026-04-01", end_date="2026-04-02"),
        "national_number": niss,
        "record_id": "R-1",
    }
    return [
        Route(
            "GET",
            Scope.INSTITUTION_ACCOUNT_READ,
            lambda en, p, _e: f"/institutions/{en}/persons/{p}/account?year=2026",
            None,
            200,
            GUIDANCE,
        ),
        Route(
            "POST",
            Scope.INSTITUTION_TRAININGS_WRITE,
            lambda en, _p, _e: f"/institutions/{en}/trainings",
            {"items": [item]},
            200,
            SENDING,
        ),
        Route(
            "GET",
            Scope.INSTITUTION_DIRECTORY_READ,
            lambda en, _p, _e: f"/institutions/{en}/directory",
            None,
            200,
            {},
        ),
        Route(
            "POST",
            Scope.INSTITUTION_DIRECTORY_WRITE,
            lambda en, _p, _e: f"/institutions/{en}/directory",
            {"national_number": niss, "capacity": "training_guidance", "valid_from": "2026-02-01"},
            201,
            {},
        ),
        Route(
            "POST",
            Scope.INSTITUTION_DIRECTORY_WRITE,
            lambda en, _p, e: f"/institutions/{en}/directory/{e}/unregister",
            {},
            200,
            {},
        ),
    ]


def test_institution_routes(api: Api) -> None:
    load_authorisations(api.container.uow(), actor="test")
    niss = builders.person(api.container, 1)
    entries = {}
    for org in (VDAB, FOREM):
        entry, _ = register_entry(
            api.container.uow(),
            institution=org,
            national_number=niss,
            capacity="jobseeker_guidance",
            valid_from=date(2026, 1, 1),
            valid_to=None,
            actor="test",
        )
        entries[org] = entry.id
    own = api.register(VDAB)
    own_headers = api.auth(own)
    unknown = builders.fake_enterprise(77)
    for route in _routes(niss):
        label = f"{route.method} {route.path('{en}', '{niss}', 0)}"

        def call(
            headers: dict[str, str],
            en: str,
            probe: str = "probe",
            route: Route = route,
        ) -> httpx.Response:
            return api.http.request(
                route.method,
                "/api/v1" + route.path(en, niss, entries.get(en, 1)),
                headers={**headers, **route.headers, "X-Request-ID": probe},
                json=route.body,
            )

        without = api.auth(own, " ".join(s.value for s in Scope if s is not route.scope))
        before = api.row_counts()
        assert_problem(call({}, VDAB), 401, "unauthenticated")
        assert_problem(call(without, VDAB), 403, "insufficient_scope")
        blind = call(own_headers, unknown)
        assert_problem(blind, 404, "not_found")
        other = call(own_headers, FOREM)
        assert other.status_code == 404, label
        assert other.content == blind.content, label
        assert api.row_counts() == before, label
        mine = call(own_headers, VDAB)
        assert mine.status_code == route.ok, (label, mine.text)
        assert mine.headers["content-type"] == "application/json"

"""The three paths of an employer's account read (ADR 0021) give the same answers, errors and
audit entries: the lean route for the everyday request (``?year=YYYY`` only), the FastAPI
route (anything else), and, underneath, the asynchronous statement on PostgreSQL or the
synchronous use case (SQLite; the web pages and the exchange everywhere)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from starlette.routing import Match

from ila.access.domain import Scope
from ila.accounts.service import person_account
from ila.api.accounts import AccountReadRoute
from ila.api.read_schemas import Account
from ila.audit.chain import verify_chain
from ila.audit.models import AuditEvent
from ila.identity.service import find_employer
from tests import builders
from tests.api.conftest import Api, assert_problem
from tests.integration.test_accounts_service import dataset


def _sync_document(api: Api, en: str, niss: str, year: int, as_of: datetime | None = None) -> Any:
    with api.container.uow() as uow:
        employer = find_employer(uow.session, en)
        account = person_account(
            uow.session, niss, year, as_of, rules=api.container.rules, employer_id=employer.id
        )
    return json.loads(Account.model_validate(account).model_dump_json())


def test_every_path_gives_the_same_account(api: Api) -> None:
    d = dataset(api.container)
    for en in (d.a, d.b):
        headers = api.auth(api.register(en))
        url = f"/api/v1/employers/{en}/workers/{d.p1}/account"
        lean = api.http.get(url, params={"year": 2024}, headers=headers)
        # an extra query parameter: declined by the lean route, served by FastAPI's
        full = api.http.get(url, params={"year": 2024, "other": "x"}, headers=headers)
        assert lean.status_code == full.status_code == 200, (lean.text, full.text)
        assert lean.headers["content-type"].startswith("application/json")
        assert lean.json() == full.json() == _sync_document(api, en, d.p1, 2024)
        assert lean.json()["trainings"], "the dataset's trainings are shown"
        # as recorded on a past moment (a datetime in the document): FastAPI's route
        as_of = datetime.now(UTC).replace(microsecond=0)
        past = api.http.get(url, params={"year": 2024, "as_of": as_of.isoformat()}, headers=headers)
        assert past.status_code == 200, past.text
        assert past.json() == _sync_document(api, en, d.p1, 2024, as_of)
        assert past.json()["as_of"] is not None


def test_a_wrong_token_is_refused_before_a_wrong_input(api: Api) -> None:
    d = dataset(api.container)
    url = f"/api/v1/employers/{d.a}/workers/12345678901/account?year=2024"
    wrong = {"Authorization": "Bearer not-a-token"}
    assert_problem(api.http.get(url, headers=wrong), 401, "invalid_token")
    assert_problem(api.http.get(url, headers={}), 401, "unauthenticated")
    right = api.auth(api.register(d.a))
    assert_problem(api.http.get(url, headers=right), 422, "invalid_national_number")
    # a valid token without the scope: 403, whatever the worker
    narrow = api.auth(api.register(d.a, scopes=(Scope.EMPLOYER_TRAININGS_WRITE,)))
    good = f"/api/v1/employers/{d.a}/workers/{d.p1}/account?year=2024"
    assert_problem(api.http.get(good, headers=narrow), 403, "insufficient_scope")
    assert_problem(api.http.get(good, headers=wrong), 401, "invalid_token")


def test_concurrent_reads_have_one_audit_entry_each(api: Api) -> None:
    """On PostgreSQL the entries of concurrent reads are committed in shared appends; each
    read still has its own entry, and the chain stays whole."""
    d = dataset(api.container)
    headers = api.auth(api.register(d.a))
    reads = 40

    def read(n: int) -> int:
        with httpx.Client(base_url=api.base, timeout=60) as http:
            return http.get(
                f"/api/v1/employers/{d.a}/workers/{d.p1}/account",
                params={"year": 2024},
                headers={**headers, "X-Request-ID": f"group-{n}"},
            ).status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        assert list(pool.map(read, range(reads))) == [200] * reads
    with api.container.uow() as uow:
        rows = uow.session.execute(
            select(AuditEvent.request_id, AuditEvent.subject_national_number, AuditEvent.action)
            .where(AuditEvent.request_id.like("group-%"))
            .order_by(AuditEvent.seq)
        ).all()
        assert sorted(r.request_id for r in rows) == sorted(f"group-{n}" for n in range(reads))
        assert {(r.subject_national_number, r.action) for r in rows} == {(d.p1, "read")}
        report = verify_chain(uow.session)
    assert report.intact, report.problems


def test_refused_reads_leave_no_audit_entry(api: Api) -> None:
    d = dataset(api.container)
    outsider = builders.person(api.container, 14)
    builders.employ(api.container, outsider, d.b)
    headers = {**api.auth(api.register(d.a)), "X-Request-ID": "refused-read"}
    for niss in (outsider, builders.fake_niss(41)):
        answer = api.http.get(
            f"/api/v1/employers/{d.a}/workers/{niss}/account?year=2024", headers=headers
        )
        assert_problem(answer, 404, "not_found")
    other = {**api.auth(api.register(d.b)), "X-Request-ID": "refused-read"}
    answer = api.http.get(
        f"/api/v1/employers/{d.a}/workers/{d.p1}/account?year=2024", headers=other
    )
    assert_problem(answer, 404, "not_found")
    with api.container.uow() as uow:
        assert not uow.session.scalars(
            select(AuditEvent.id).where(AuditEvent.request_id == "refused-read")
        ).all()


def _scope(query: bytes, available: bool, path: str | None = None) -> dict[str, Any]:
    app = SimpleNamespace(state=SimpleNamespace(aio=SimpleNamespace(available=available)))
    return {
        "type": "http",
        "method": "GET",
        "path": path or "/employers/0403019261/workers/85073003328/account",
        "root_path": "",
        "query_string": query,
        "app": app,
    }


@pytest.mark.parametrize(
    ("query", "available", "path", "taken"),
    [
        (b"year=2024", True, None, True),
        (b"year=2100", True, None, True),
        (b"year=2024", False, None, False),  # synchronous database: FastAPI's route
        (b"year=2021", True, None, False),  # out of range: FastAPI's 422
        (b"year=2024&as_of=2024-05-01T00:00:00Z", True, None, False),
        (b"year=2024&other=1", True, None, False),
        (b"", True, None, False),
        (b"year=02024", True, None, False),
        (b"year=2024", True, "/employers/0403019261/workers/" + "1" * 21 + "/account", False),
        (b"year=2024", True, "/employers/0403019261/workers/85073003328/rights", False),
    ],
)
def test_the_lean_route_takes_only_the_everyday_request(
    query: bytes, available: bool, path: str | None, taken: bool
) -> None:
    match, _ = AccountReadRoute().matches(_scope(query, available, path))
    assert (match is Match.FULL) is taken

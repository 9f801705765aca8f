"""Web pages through the ASGI app (SQLite and PostgreSQL): the paths a browser test does not
walk — refusals, empty states, settings that switch a login off, malformed input."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient
from starlette.requests import Request

from ila.bootstrap import Container
from ila.config import Environment, Settings
from ila.demo.generator import DEMO_EMPLOYER_CONSULTING, DEMO_EMPLOYER_PC200
from ila.errors import ConfigurationError
from ila.identity.service import register_employer
from ila.web import auth
from ila.web.app import create_app
from ila.web.charts import Series, bar_chart
from ila.web.pages import MAX_BATCH, safe_next


def _token(client: TestClient, path: str = "/login") -> str:
    match = re.search(r'"X-CSRF-Token": "([^"]+)"', client.get(path).text)
    assert match is not None
    return match.group(1)


def _login(client: TestClient, persona: str) -> None:
    response = client.post("/login/demo", data={"csrf_token": _token(client), "persona": persona})
    assert response.status_code == 303


@pytest.fixture
def client(container: Container) -> TestClient:
    return TestClient(
        create_app(container), follow_redirects=False, headers={"accept-language": "en"}
    )


def test_unknown_persona_and_forged_login_are_refused(client: TestClient) -> None:
    assert client.post("/login/demo", data={"persona": "worker"}).status_code == 403
    token = _token(client)
    response = client.post("/login/demo", data={"csrf_token": token, "persona": "root"})
    assert response.status_code == 404
    assert client.get("/me").status_code == 303  # still not logged in
    assert client.get("/me").headers["location"] == "/login?next=/me"


def test_demo_login_switched_off(container: Container) -> None:
    settings = container.settings.model_copy(update={"demo_login": False})
    app = create_app(replace(container, settings=settings))
    with TestClient(app, headers={"accept-language": "en"}) as client:
        page = client.get("/login")
        assert "No login method is configured." in page.text
        assert "persona" not in page.text
        response = client.post(
            "/login/demo", data={"csrf_token": _token(client), "persona": "worker"}
        )
        assert response.status_code == 404


def test_production_refuses_an_http_issuer() -> None:
    with pytest.raises(ConfigurationError, match="ILA_OIDC_ISSUER"):
        Settings(
            environment=Environment.PRODUCTION,
            demo_login=False,
            secret_key="a-real-secret-for-this-test",
            public_url="https://ila.example",
            oidc_issuer="http://idp.example",
        ).check()


def test_roles_without_pages_and_logins_without_an_account(client: TestClient) -> None:
    _login(client, "operator")
    assert client.get("/me").status_code == 200
    assert client.get("/account").status_code == 404
    assert client.get("/employer").text.count('<li><a href="/employer/') == 0


def test_the_worker_goes_to_the_account_and_an_unknown_person_is_not_found(
    client: TestClient,
) -> None:
    _login(client, "worker")
    assert client.get("/me").headers["location"] == "/account"
    # the demo dataset is not loaded here: the persona has no person record
    response = client.get("/account?year=notayear")
    assert response.status_code == 404
    assert "Not found" in response.text


def test_a_malformed_cursor_is_a_refused_request(client: TestClient) -> None:
    _login(client, "worker")
    response = client.get("/account/consultations?cursor=!!!")
    assert response.status_code == 400
    assert "invalid_cursor" in response.text


def test_employer_pages_of_an_employer_missing_from_the_database(client: TestClient) -> None:
    _login(client, "employer_hr")
    assert client.get("/me").headers["location"] == "/employer"
    assert client.get("/employer").status_code == 200
    assert client.get(f"/employer/{DEMO_EMPLOYER_PC200}").status_code == 404


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("workers", "", "workers_required"),
        ("workers", "\n".join(str(i) for i in range(MAX_BATCH + 1)), "workers_required"),
        ("duration", "a lot", "invalid_duration"),
        ("nature", "other", "unknown_code"),
        ("start_date", "2026-02-30", "invalid_date"),
    ],
)
def test_training_form_refusals(
    client: TestClient, container: Container, field: str, value: str, code: str
) -> None:
    register_employer(container.uow(), enterprise_number=DEMO_EMPLOYER_CONSULTING, name="C")
    _login(client, "employer_hr")
    form = {
        "csrf_token": _token(client, f"/employer/{DEMO_EMPLOYER_CONSULTING}/trainings/new"),
        "workers": "85073003328",
        "title": "Course",
        "start_date": "2026-02-02",
        "end_date": "2026-02-02",
        "duration": "2",
        "unit": "hours",
        "nature": "informal",
        "status": "followed",
        field: value,
    }
    response = client.post(f"/employer/{DEMO_EMPLOYER_CONSULTING}/trainings", data=form)
    assert response.status_code == 422
    assert code in response.text


def test_nothing_to_verify(client: TestClient, container: Container) -> None:
    register_employer(container.uow(), enterprise_number=DEMO_EMPLOYER_CONSULTING, name="C")
    _login(client, "employer_hr")
    page = client.get(f"/employer/{DEMO_EMPLOYER_CONSULTING}/verify")
    assert "Nothing to verify." in page.text


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/account?year=2025", "/account?year=2025"),
        ("//evil.example/", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        (None, "/"),
    ],
)
def test_language_switch_redirects_only_within_the_site(
    client: TestClient, target: str | None, expected: str
) -> None:
    params = {"next": target} if target is not None else {}
    response = client.get("/lang/de", params=params)
    assert response.headers["location"] == expected
    assert safe_next(target) == expected
    assert "ila_lang=de" in response.headers["set-cookie"]
    assert "set-cookie" not in client.get("/lang/xx").headers


def test_session_cookie_is_signed_httponly_and_lax(container: Container) -> None:
    app = create_app(container)
    with TestClient(app, follow_redirects=False) as first:
        _login(first, "worker")
        cookie = first.cookies.get("ila_session")
        assert cookie is not None
        assert first.get("/account/consultations").status_code == 200
    tampered = cookie[:-6] + ("AAAAAA" if not cookie.endswith("AAAAAA") else "BBBBBB")
    with TestClient(app, follow_redirects=False, cookies={"ila_session": tampered}) as second:
        response = second.get("/account/consultations")
        assert response.status_code == 303  # the forged session is no session
        page = second.get("/login")
        header = page.headers["set-cookie"].lower()
    assert "ila_session=" in header
    assert "httponly" in header
    assert "samesite=lax" in header


def test_a_session_with_a_malformed_user_is_no_user() -> None:
    scope = {"type": "http", "session": {"user": {"who": "me"}}}
    assert auth.current_user(Request(scope)) is None
    scope = {"type": "http", "session": {"user": "me"}}
    assert auth.current_user(Request(scope)) is None


def test_assurance_level_check() -> None:
    accepted = ["urn:be:fedict:iam:fas:Level500"]
    assert auth.check_acr({"acr": accepted[0]}, accepted) == accepted[0]
    for claims in ({}, {"acr": "urn:be:fedict:iam:fas:Level100"}, {"acr": 500}):
        with pytest.raises(auth.LoginRefused):
            auth.check_acr(claims, accepted)


def test_chart_of_nothing_and_of_values() -> None:
    from decimal import Decimal

    empty = bar_chart("Nothing", [], [Series("Used", [])])
    assert "<title>Nothing</title>" in empty
    chart = bar_chart("Two", ["A & B", "C"], [Series("Used", [Decimal(2), Decimal(1)])])
    assert "A &amp; B" in chart
    assert chart.count("<rect") == 3  # legend + two bars


def test_the_vendored_htmx_is_the_npm_package_file() -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    npm = root / "tests" / "oidc" / "node_modules" / "htmx.org" / "dist" / "htmx.min.js"
    if not npm.exists():
        pytest.skip("tests/oidc/node_modules is not installed (scripts/test installs it)")
    assert (root / "src" / "ila" / "web" / "static" / "htmx.min.js").read_bytes() == (
        npm.read_bytes()
    )


def _worker_with_role(container: Container, role: str) -> int:
    """The demo worker persona's person record, employed nowhere, with ``role`` at the
    consultancy (granted in the database, as for any login)."""
    from ila.demo.generator import DEMO_WORKER_NISS
    from ila.identity.service import register_person
    from ila.web import roles

    register_person(
        container.uow(),
        national_number=DEMO_WORKER_NISS,
        given_name="Demo",
        family_name="Worker",
    )
    employer_id = register_employer(
        container.uow(), enterprise_number=DEMO_EMPLOYER_CONSULTING, name="C"
    )
    roles.grant_role(
        container.uow(),
        employer_id=employer_id,
        national_number=DEMO_WORKER_NISS,
        role=role,
        actor="test",
    )
    return employer_id


def test_a_viewer_reads_but_changes_nothing(client: TestClient, container: Container) -> None:
    _worker_with_role(container, "viewer")
    _login(client, "worker")
    assert client.get("/me").headers["location"] == "/employer"
    en = DEMO_EMPLOYER_CONSULTING
    assert client.get(f"/employer/{en}/verify").status_code == 200
    assert client.get(f"/employer/{en}/contests").status_code == 200
    token = _token(client, f"/employer/{en}/verify")
    for path in ("/trainings", "/verify/1", "/contests/1/resolve"):
        assert client.post(f"/employer/{en}{path}", data={"csrf_token": token}).status_code == 404
    assert client.get(f"/employer/{en}/trainings/new").status_code == 404
    assert client.get(f"/employer/{en}/access").status_code == 404


def test_role_and_contest_refusals(container: Container) -> None:
    from ila.demo.generator import DEMO_WORKER_NISS
    from ila.errors import NotFound, UnknownCode, ValidationError
    from ila.web import contests, roles

    employer_id = _worker_with_role(container, "editor")
    for role in ("access_admin", "owner"):  # not grantable here; not a role at all
        with pytest.raises(UnknownCode):
            roles.grant_role(
                container.uow(),
                employer_id=employer_id,
                national_number=DEMO_WORKER_NISS,
                role=role,
                actor="test",
            )
    with container.uow() as uow:
        (granted,) = roles.employer_roles(uow.session, employer_id)
    with pytest.raises(NotFound):
        roles.revoke_role(container.uow(), granted.id, employer_id=employer_id + 1, actor="t")
    roles.revoke_role(container.uow(), granted.id, employer_id=employer_id, actor="t")
    with pytest.raises(NotFound):  # already revoked
        roles.revoke_role(container.uow(), granted.id, employer_id=employer_id, actor="t")
    with pytest.raises(ValidationError):
        contests.open_contest(
            container.uow(), national_number=DEMO_WORKER_NISS, training_id=1, reason="  "
        )
    with pytest.raises(NotFound):
        contests.open_contest(
            container.uow(), national_number=DEMO_WORKER_NISS, training_id=999_999, reason="x"
        )
    with pytest.raises(NotFound):
        contests.resolve_contest(
            container.uow(), 999_999, employer_id=employer_id, resolution="ok", actor="t"
        )
    with container.uow() as uow:
        assert contests.open_contests_of(uow.session, []) == set()


def test_an_invalid_own_training_is_refused(client: TestClient, container: Container) -> None:
    _worker_with_role(container, "viewer")
    _login(client, "worker")
    token = _token(client, "/account")
    response = client.post(
        "/account/trainings",
        data={
            "csrf_token": token,
            "title": "",
            "start_date": "2025-01-01",
            "end_date": "2025-01-01",
            "duration": "2",
        },
    )
    assert response.status_code == 422
    assert "required" in response.text


def test_an_invalid_mandate_revocation_is_refused_on_the_page(
    client: TestClient, container: Container
) -> None:
    register_employer(container.uow(), enterprise_number=DEMO_EMPLOYER_PC200, name="S")
    _login(client, "access_admin")
    token = _token(client, f"/employer/{DEMO_EMPLOYER_PC200}/access")
    response = client.post(
        f"/employer/{DEMO_EMPLOYER_PC200}/access/mandates/999999/revoke",
        data={"csrf_token": token, "reason": "gone"},
    )
    assert response.status_code == 422
    assert "not_found" in response.text
    response = client.post(
        f"/employer/{DEMO_EMPLOYER_PC200}/access/mandates",
        data={
            "csrf_token": token,
            "provider": "0999000125",
            "kind": "software_vendor",
            "valid_from": "someday",
        },
    )
    assert response.status_code == 422
    assert "invalid_date" in response.text


def test_pages_carry_security_headers_and_the_api_its_own(client: TestClient) -> None:
    page = client.get("/login")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    api = client.get("/api/v1/unknown")
    assert "x-frame-options" not in api.headers

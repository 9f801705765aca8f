"""The test OpenID provider (the npm package ``oidc-provider``, tests/oidc/provider.mjs) on
loopback, shared by the browser tests (web login) and the API tests (a person's access token),
and a person's login driven by plain HTTP: the authorization-code flow with PKCE, following the
provider's login form with httpx — no browser needed.

``scripts/test`` installs the provider with ``npm ci`` when missing; with ``CI=true`` a missing
one fails the run instead of skipping."""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import shutil
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest

from tests.conftest import IN_CI

OIDC_DIR = Path(__file__).resolve().parent / "oidc"
LEVEL_LOW = "urn:be:fedict:iam:fas:Level100"
LEVEL_HIGH = "urn:be:fedict:iam:fas:Level500"


def missing(what: str) -> None:
    if IN_CI:
        pytest.fail(f"{what} is missing while CI=true (scripts/test installs it)")
    pytest.skip(f"{what} is missing (run scripts/test to install it)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Provider:
    issuer: str


@contextmanager
def run_provider(
    *,
    client_id: str,
    client_secret: str,
    redirect_uris: list[str],
    post_logout_uri: str,
    api_client_id: str | None = None,
    api_redirect_uri: str = "http://127.0.0.1:9/callback",
    api_resources: tuple[str, ...] = (),
) -> Iterator[Provider]:
    """Start the provider with the web login's confidential client and, with
    ``api_client_id``, public clients that get JWT access tokens for ``api_resources``."""
    node = shutil.which("node")
    if node is None or not (OIDC_DIR / "node_modules" / "oidc-provider").is_dir():
        missing("node or the test OpenID provider (tests/oidc/node_modules)")
        raise AssertionError("unreachable")  # pragma: no cover - missing() always raises
    env = {
        **os.environ,
        "OIDC_PORT": str(free_port()),
        "OIDC_CLIENT_ID": client_id,
        "OIDC_CLIENT_SECRET": client_secret,
        "OIDC_REDIRECT_URIS": " ".join(redirect_uris),
        "OIDC_POST_LOGOUT_URI": post_logout_uri,
    }
    if api_client_id is not None:
        env["OIDC_API_CLIENT_ID"] = api_client_id
        env["OIDC_API_REDIRECT_URI"] = api_redirect_uri
        env["OIDC_API_RESOURCES"] = " ".join(api_resources)
    process = subprocess.Popen(  # noqa: S603 - a fixed script of this repository
        [node, "provider.mjs"],
        cwd=OIDC_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("ready "):
        process.kill()
        pytest.fail(f"the OpenID provider did not start: {line!r}")
    try:
        yield Provider(line.split()[1])
    finally:
        process.terminate()
        process.wait(10)
        process.stdout.close()


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode().rstrip("=")


def person_login(
    issuer: str,
    *,
    client_id: str,
    redirect_uri: str,
    resource: str,
    national_number: str,
    level: str = LEVEL_HIGH,
) -> dict[str, Any]:
    """A person logs in at the provider (its login form, as a browser would post it) and the
    public client exchanges the code for tokens; the access token is for ``resource``
    (RFC 8707). Returns the token response (``access_token``, ``id_token``, …)."""
    verifier, challenge = _pkce()
    state = secrets.token_urlsafe(16)
    with httpx.Client(base_url=issuer, timeout=20, follow_redirects=False) as http:
        response = http.get(
            "/auth",
            params={
                "client_id": client_id,
                "response_type": "code",
                "redirect_uri": redirect_uri,
                "scope": "openid ila.account",
                "resource": resource,
                "acr_values": level,
                "state": state,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            },
        )
        # follow the provider's redirects (interaction page, login, resume) until the callback
        for _ in range(10):
            location = response.headers.get("location")
            if response.status_code == 200 and "/interaction/" in str(response.url):
                action = str(response.url).rstrip("/") + "/login"
                response = http.post(action, data={"login": national_number, "acr": level})
                continue
            assert location is not None, (response.status_code, response.text[:500])
            if location.startswith(redirect_uri):
                break
            response = http.get(urljoin(str(response.url), location))
        else:  # pragma: no cover - the provider loops
            raise AssertionError("the provider never redirected back to the client")
        query = parse_qs(urlsplit(location).query)
        assert query.get("state") == [state], query
        assert "code" in query, query
        token = http.post(
            "/token",
            data={
                "grant_type": "authorization_code",
                "code": query["code"][0],
                "redirect_uri": redirect_uri,
                "client_id": client_id,
                "code_verifier": verifier,
                "resource": resource,
            },
        )
        assert token.status_code == 200, token.text
        body: dict[str, Any] = token.json()
        return body


def person_access_token(issuer: str, **login: Any) -> str:
    """The access token of :func:`person_login`."""
    return str(person_login(issuer, **login)["access_token"])

"""API tests over real HTTP: the app runs in uvicorn on a free loopback port, in a background
thread, against the fresh database of ``db_url``/``app_container`` (SQLite and PostgreSQL)."""

from __future__ import annotations

import socket
import threading
import time
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx
import pytest
import uvicorn
from joserfc import jwt
from joserfc.errors import SecurityWarning
from joserfc.jwk import ECKey, OKPKey, RSAKey
from sqlalchemy import func, select

from ila.access.domain import Scope
from ila.access.service import add_client, grant_mandate, revoke_mandate
from ila.access.tokens import JWT_BEARER
from ila.bootstrap import Container, bootstrap
from ila.config import Environment, Settings
from ila.db.migrate import upgrade
from ila.db.models import metadata
from ila.web.app import create_app
from tests import builders
from tests.functional.conftest import app_container, db_url

__all__ = ["app_container", "db_url"]

PrivateKey = RSAKey | ECKey | OKPKey
ALL_SCOPES = tuple(Scope)


@pytest.fixture(scope="session")
def keys() -> dict[str, PrivateKey]:
    """Generated once: RSA key generation is slow."""
    return {
        "rsa": RSAKey.generate_key(2048),
        "rsa2": RSAKey.generate_key(2048),
        "ec": ECKey.generate_key("P-256"),
        "okp": OKPKey.generate_key("Ed25519"),
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerThread:
    def __init__(self, container: Container) -> None:
        self.port = _free_port()
        config = uvicorn.Config(
            create_app(container),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="on",  # opens the API's asynchronous pool on PostgreSQL (ADR 0021)
            ws="none",
            http="h11",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                pytest.fail("the API server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(15)


@dataclass(frozen=True)
class Client:
    client_id: str
    organisation: str
    key: PrivateKey
    alg: str


@dataclass
class Api:
    """A running API and helpers to register clients and sign their assertions."""

    base: str
    container: Container
    http: httpx.Client
    keys: dict[str, PrivateKey]
    clients: list[Client] = field(default_factory=list)

    @property
    def token_url(self) -> str:
        return self.container.settings.token_endpoint

    def register(
        self,
        organisation: str,
        scopes: tuple[Scope, ...] = ALL_SCOPES,
        *,
        key: str = "ec",
        alg: str = "ES256",
    ) -> Client:
        private = self.keys[key]
        client_id = add_client(
            self.container.uow(),
            organisation=organisation,
            name=f"client {len(self.clients)}",
            public_key=private.as_pem(private=False),
            scopes=[s.value for s in scopes],
            actor="test",
        )
        client = Client(client_id, organisation, private, alg)
        self.clients.append(client)
        return client

    def assertion(
        self,
        client: Client,
        *,
        key: PrivateKey | None = None,
        alg: str | None = None,
        drop: tuple[str, ...] = (),
        **claims: Any,
    ) -> str:
        now = int(time.time())
        body: dict[str, Any] = {
            "iss": client.client_id,
            "sub": client.client_id,
            "aud": self.token_url,
            "iat": now,
            "exp": now + 60,
            "jti": uuid.uuid4().hex,
        }
        body.update(claims)
        for name in drop:
            body.pop(name)
        algorithm = alg or client.alg
        with warnings.catch_warnings():
            # joserfc warns that RFC 9864 deprecates the name "EdDSA"; clients still send it
            warnings.simplefilter("ignore", SecurityWarning)
            return jwt.encode({"alg": algorithm}, body, key or client.key, algorithms=[algorithm])

    def token_request(
        self, client: Client, scope: str | None = None, **form: str
    ) -> httpx.Response:
        data = {
            "grant_type": "client_credentials",
            "client_assertion_type": JWT_BEARER,
            "client_assertion": self.assertion(client),
        }
        if scope is not None:
            data["scope"] = scope
        data.update(form)
        return self.http.post("/api/v1/oauth/token", data=data)

    def token(self, client: Client, scope: str | None = None) -> str:
        response = self.token_request(client, scope)
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def auth(self, client: Client, scope: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(client, scope)}"}

    def row_counts(self) -> dict[str, int]:
        with self.container.uow() as uow:
            return {
                name: uow.session.scalar(select(func.count()).select_from(table)) or 0
                for name, table in metadata.tables.items()
            }


def serve(container: Container, keys: dict[str, PrivateKey]) -> Iterator[Api]:
    with ServerThread(container) as server, httpx.Client(base_url=server.base, timeout=20) as http:
        yield Api(server.base, container, http, keys)


@pytest.fixture
def api(app_container: Container, keys: dict[str, PrivateKey]) -> Iterator[Api]:
    upgrade(app_container.engine)
    yield from serve(app_container, keys)


@pytest.fixture
def api_factory(db_url: str, keys: dict[str, PrivateKey]) -> Iterator[Any]:
    """Start another server on the same fresh database with other settings."""
    stack: list[Iterator[Api]] = []
    containers: list[Container] = []

    def start(**overrides: Any) -> Api:
        container = bootstrap(
            Settings(environment=Environment.TEST, database_url=db_url, **overrides)
        )
        containers.append(container)
        upgrade(container.engine)
        generator = serve(container, keys)
        stack.append(generator)
        return next(generator)

    yield start
    for generator in reversed(stack):
        generator.close()
    for container in containers:
        container.close()


@dataclass(frozen=True)
class World:
    """Two employers, one worker each, and clients: A's own, B's own, and providers."""

    a: str
    b: str
    worker_a: str
    worker_b: str
    provider: str  # a social secretariat with an active mandate from A
    expired: str  # a provider whose mandate from A has ended
    revoked: str  # a provider whose mandate from A was revoked
    trainer: str  # a training provider with an active mandate from A
    unknown: str  # a valid enterprise number nobody registered
    spare: int  # a mandate of A nobody uses (to be revoked)
    mandate_b: int  # a mandate B granted


def make_world(container: Container) -> World:
    a = builders.employer(container, 1, fte="40")
    b = builders.employer(container, 2, fte="40")
    worker_a = builders.person(container, 1)
    worker_b = builders.person(container, 2)
    builders.employ(container, worker_a, a, start=date(2024, 1, 1))
    builders.employ(container, worker_b, b, start=date(2024, 1, 1))
    provider, expired, revoked, trainer, unknown = (
        builders.fake_enterprise(n) for n in range(3, 8)
    )
    spare_provider = builders.fake_enterprise(8)
    ids = {}
    for employer, org, kind, start, end in (
        (a, provider, "social_secretariat", date(2024, 1, 1), None),
        (a, expired, "social_secretariat", date(2023, 1, 1), date(2023, 12, 31)),
        (a, revoked, "software_vendor", date(2024, 1, 1), None),
        (a, trainer, "training_provider", date(2024, 1, 1), None),
        (a, spare_provider, "software_vendor", date(2024, 1, 1), None),
        (b, spare_provider, "software_vendor", date(2024, 1, 1), None),
    ):
        view = grant_mandate(
            container.uow(),
            employer=employer,
            provider=org,
            kind=kind,
            valid_from=start,
            valid_to=end,
            actor="test",
        )
        ids[employer, org] = view.id
    revoke_mandate(container.uow(), ids[a, revoked], actor="test", reason="ended")
    return World(
        a,
        b,
        worker_a,
        worker_b,
        provider,
        expired,
        revoked,
        trainer,
        unknown,
        spare=ids[a, spare_provider],
        mandate_b=ids[b, spare_provider],
    )


def training_content(**changes: Any) -> dict[str, Any]:
    """The content of a valid training, for request bodies; ``changes`` override fields."""
    content: dict[str, Any] = {
        "title": "Forklift safety",
        "provider": "Safety Academy",
        "start_date": "2024-03-04",
        "end_date": "2024-03-05",
        "duration": "8",
        "duration_unit": "hours",
        "nature": "formal_external",
        "status": "followed",
    }
    content.update(changes)
    return content


def assert_problem(
    response: httpx.Response, status: int, code: str | None = None
) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    for name in ("type", "title", "status", "detail", "code", "instance", "request_id"):
        assert name in body, (name, body)
    assert body["status"] == status
    assert body["type"] == f"urn:ila:problem:{body['code']}"
    assert body["request_id"] == response.headers["x-request-id"]
    if code is not None:
        assert body["code"] == code, body
    return body

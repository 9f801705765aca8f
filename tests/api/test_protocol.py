"""HTTP-level behaviour of /api/v1: problem details everywhere, request ids, body limit, rate
limit."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any

from tests import builders
from tests.api.conftest import Api, assert_problem

ORG = builders.fake_enterprise(21)


def test_request_ids_and_problems_for_unknown_routes(api: Api) -> None:
    chosen = api.http.get("/api/v1/nowhere", headers={"X-Request-ID": "trace-42.a:b"})
    body = assert_problem(chosen, 404, "not_found")
    assert chosen.headers["x-request-id"] == "trace-42.a:b"
    assert body["instance"] == "urn:ila:request:trace-42.a:b"

    for unusable in ("has space", "x" * 129, "é"):
        response = api.http.get("/api/v1/nowhere", headers={"X-Request-ID": unusable.encode()})
        assert response.headers["x-request-id"] != unusable
        assert len(response.headers["x-request-id"]) == 32

    assert_problem(api.http.delete("/api/v1/oauth/token"), 405, "method_not_allowed")
    # the web pages outside the API keep their own format
    assert api.http.get("/healthz").json()["status"] == "ok"


def test_oversized_bodies_are_refused_before_being_read(api_factory: Callable[..., Api]) -> None:
    api = api_factory(api_max_body_bytes=4096)
    builders.employer(api.container, 21, fte="12")
    headers = api.auth(api.register(ORG))
    url = f"/api/v1/employers/{ORG}/rights"

    declared = api.http.post(url, headers=headers, content=b"{" + b" " * 5000 + b"}")
    assert_problem(declared, 413, "payload_too_large")

    def chunks() -> Iterator[bytes]:
        yield b'{"year": 2024, "items": ['
        for _ in range(10):
            yield b'{"national_number": "x", "days": 1, "reason": "' + b"r" * 1000 + b'"},'
        yield b"]}"

    chunked = api.http.post(
        url, headers={**headers, "Content-Type": "application/json"}, content=chunks()
    )
    assert_problem(chunked, 413, "payload_too_large")

    # a client announcing a huge body gets its answer without sending a byte of it
    host, port = api.base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        raw.sendall(
            f"POST {url} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: 1000000000\r\n\r\n".encode()
        )
        head = raw.recv(65536).decode()
    assert head.startswith("HTTP/1.1 413")
    assert "application/problem+json" in head

    small = api.http.post(url, headers=headers, json={"year": 2024, "items": []})
    assert_problem(small, 422, "request_invalid")


def test_rate_limit_answers_429_with_retry_after(api_factory: Callable[..., Api]) -> None:
    # a slow refill (one request per 100 s): a slow machine cannot refill the bucket mid-test
    api = api_factory(api_rate_per_second=0.01, api_rate_burst=3)
    builders.employer(api.container, 21, fte="12")
    client = api.register(ORG)
    headers = api.auth(client)
    url = f"/api/v1/employers/{ORG}/mandates"
    statuses = [api.http.get(url, headers=headers).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = api.http.get(url, headers=headers)
    body = assert_problem(limited, 429, "rate_limited")
    retry = int(limited.headers["retry-after"])
    assert 60 <= retry <= 100  # the time until one request's worth of refill
    assert f"retry after {retry} s" in body["detail"]

    # before a client is known, the limit applies per address: token requests, bad tokens
    for _ in range(2):
        api.token_request(client)
    assert_problem(api.token_request(client), 429, "rate_limited")
    assert_problem(
        api.http.get(url, headers={"Authorization": "Bearer guess"}), 429, "rate_limited"
    )


def test_validation_problems_name_the_fields(api: Api) -> None:
    builders.employer(api.container, 21, fte="12")
    headers = api.auth(api.register(ORG))
    cases: list[tuple[str, dict[str, Any]]] = [
        (f"/api/v1/employers/{ORG}/rights", {"year": 2024, "items": "none"}),
        (f"/api/v1/employers/{ORG}/mandates", {"provider": 1}),
        (f"/api/v1/employers/{ORG}/mandates/1/revoke", {"reason": ""}),
    ]
    for path, payload in cases:
        response = api.http.post(path, headers=headers, json=payload)
        problem = assert_problem(response, 422, "request_invalid")
        assert all(e["location"] == "body" and e["code"] for e in problem["errors"]), path
        too_long = {**headers, "Idempotency-Key": "k" * 201}
        idempotency = api.http.post(path, json=payload, headers=too_long)
        paths = {(e["location"], e["path"]) for e in assert_problem(idempotency, 422)["errors"]}
        assert ("header", "idempotency-key") in paths, path

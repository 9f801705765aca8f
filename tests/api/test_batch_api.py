"""The batch routes over real HTTP (SQLite and PostgreSQL): upload, status, result; the
sender's own batches only; the same OAuth scopes mechanism as every other route.

Authorisation of ("POST", "/batches"), ("GET", "/batches/{ticket}") and
("GET", "/batches/{ticket}/result") is tested here (listed in authorisation_elsewhere.py):
no token → 401, a token without the scope → 403, another sender's ticket → 404 with the very
body of an unknown ticket, and no row left behind by a refused call."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from lxml import etree

from ila.access.domain import Scope
from ila.batch.config import BatchSettings
from ila.batch.service import work
from ila.batch.xmlfile import RESULT_XSD, schema
from tests.api.conftest import Api, World, assert_problem, make_world

RES = "{urn:be:ila:batch:result:v1}"
XML = {"Content-Type": "application/xml"}
SEND = (Scope.SENDER_BATCHES_WRITE, Scope.SENDER_BATCHES_READ, Scope.EMPLOYER_TRAININGS_WRITE)


@pytest.fixture(autouse=True)
def spool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ILA_BATCH_SPOOL_DIR", str(tmp_path / "spool"))
    return tmp_path / "spool"


def file(sender: str, reference: str, *creates: tuple[str, str, str]) -> bytes:
    records = "".join(
        f'<trainingCreate recordId="{rid}"><employer>{en}</employer><worker>{worker}</worker>'
        "<title>Safety</title><startDate>2024-03-01</startDate><endDate>2024-03-01</endDate>"
        "<duration>4</duration><durationUnit>hours</durationUnit>"
        "<nature>formal_internal</nature><status>planned</status></trainingCreate>"
        for rid, en, worker in creates
    )
    employers = "".join(f"<employer>{en}</employer>" for en in sorted({c[1] for c in creates}))
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<submission xmlns="urn:be:ila:batch:submission:v1">'
        f"<header><sender>{sender}</sender><reference>{reference}</reference>"
        f"<created>2026-11-23T10:00:00Z</created><employers>{employers}</employers></header>"
        f"<records>{records}</records></submission>"
    ).encode()


def finish(api: Api, headers: dict[str, str], ticket: str) -> dict[str, Any]:
    """Wait for the batch: processed in the server's process on SQLite, by a worker here on
    PostgreSQL (as ``ila batch work`` would)."""
    if not api.container.settings.is_sqlite:
        work(api.container, BatchSettings())
    for _ in range(100):
        body: dict[str, Any] = api.http.get(f"/api/v1/batches/{ticket}", headers=headers).json()
        if body["status"] in {"done", "failed"}:
            return body
        time.sleep(0.1)
    raise AssertionError(body)


def result(api: Api, headers: dict[str, str], ticket: str) -> etree._Element:
    response = api.http.get(f"/api/v1/batches/{ticket}/result", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/xml"
    doc = etree.fromstring(response.content)
    schema(RESULT_XSD).assertValid(doc)
    return doc


def test_upload_follow_and_result(api: Api) -> None:
    w = make_world(api.container)
    provider = api.auth(api.register(w.provider, SEND))
    data = file(w.provider, "P-1", ("1", w.a, w.worker_a), ("2", w.b, w.worker_b))
    response = api.http.post(
        "/api/v1/batches?name=monday.xml", headers=provider | XML, content=data
    )
    assert response.status_code == 202, response.text
    queued = response.json()
    assert response.headers["location"] == f"/api/v1/batches/{queued['ticket']}"
    assert (queued["file_name"], queued["reference"], queued["sender"]) == (
        "monday.xml",
        "P-1",
        w.provider,
    )
    body = finish(api, provider, queued["ticket"])
    assert (body["status"], body["total"], body["progress"]) == ("done", 2, 1.0)
    assert (body["accepted"], body["rejected"]) == (1, 1)  # no mandate from B
    doc = result(api, provider, queued["ticket"])
    codes = [r.find(RES + "error") for r in doc.iter(RES + "record")]
    assert codes[0] is None
    assert codes[1] is not None
    assert codes[1].get("code") == "not_found"
    again = api.http.post("/api/v1/batches", headers=provider | XML, content=data)
    assert again.status_code == 200
    assert (again.json()["ticket"], again.json()["duplicate"]) == (queued["ticket"], True)
    other = file(w.provider, "P-1", ("3", w.a, w.worker_a))
    assert_problem(
        api.http.post("/api/v1/batches", headers=provider | XML, content=other),
        409,
        "batch_reference_reused",
    )


def test_failed_file_and_unfinished_result(api: Api) -> None:
    w = make_world(api.container)
    own = api.auth(api.register(w.a, SEND))
    broken = api.http.post(
        "/api/v1/batches", headers=own | XML, content=b"<?xml version='1.0'?><!DOCTYPE a><a/>"
    )
    assert broken.status_code == 202
    assert broken.json()["status"] == "failed"
    assert broken.json()["error"]["code"] == "xml_dtd_forbidden"
    doc = result(api, own, broken.json()["ticket"])
    assert doc.find(RES + "fileError") is not None
    if not api.container.settings.is_sqlite:  # on SQLite the server processes it at once
        queued = api.http.post(
            "/api/v1/batches", headers=own | XML, content=file(w.a, "A-1", ("1", w.a, w.worker_a))
        ).json()
        assert queued["status"] == "received"
        assert_problem(
            api.http.get(f"/api/v1/batches/{queued['ticket']}/result", headers=own),
            409,
            "batch_not_finished",
        )
        assert finish(api, own, queued["ticket"])["accepted"] == 1


def test_authorisation(api: Api) -> None:
    w: World = make_world(api.container)
    mine = api.register(w.a, SEND)
    own = api.auth(mine)
    data = file(w.a, "A-1", ("1", w.a, w.worker_a))
    ticket = api.http.post("/api/v1/batches", headers=own | XML, content=data).json()["ticket"]
    finish(api, own, ticket)
    stranger = api.auth(api.register(w.b, SEND))
    unknown_ticket = "0" * 32
    lacking = {s: api.auth(mine, " ".join(o.value for o in SEND if o is not s)) for s in SEND}
    before = api.row_counts()
    routes: list[tuple[str, str, Scope, bytes | None]] = [
        ("POST", "/batches", Scope.SENDER_BATCHES_WRITE, data),
        ("GET", "/batches/{ticket}", Scope.SENDER_BATCHES_READ, None),
        ("GET", "/batches/{ticket}/result", Scope.SENDER_BATCHES_READ, None),
    ]
    for method, template, scope, content in routes:

        def call(headers: dict[str, str], t: str, probe: str = "p") -> httpx.Response:
            return api.http.request(
                method,  # noqa: B023 - used at once, inside the iteration
                "/api/v1" + template.replace("{ticket}", t),  # noqa: B023
                headers=headers | XML | {"X-Request-ID": probe},
                content=content,  # noqa: B023
            )

        assert_problem(call({}, ticket), 401, "unauthenticated")
        assert_problem(call(lacking[scope], ticket), 403, "insufficient_scope")
        if method == "GET":
            blind = call(stranger, unknown_ticket)
            assert_problem(blind, 404, "not_found")
            denied = call(stranger, ticket)
            assert denied.status_code == 404
            assert denied.content == blind.content
            assert call(own, ticket).status_code == 200
    assert api.row_counts() == before
    # a token without the trainings scope: every record is refused as not found
    no_trainings = api.auth(
        api.register(w.a, (Scope.SENDER_BATCHES_WRITE, Scope.SENDER_BATCHES_READ))
    )
    other = file(w.a, "A-2", ("2", w.a, w.worker_a))
    t2 = api.http.post("/api/v1/batches", headers=no_trainings | XML, content=other).json()
    assert finish(api, no_trainings, t2["ticket"])["rejected"] == 1


def test_a_file_larger_than_the_api_body_limit_is_accepted(
    api_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """POST /batches streams to disk under the batch channel's limit, not the 1 MiB of JSON
    bodies; above the batch limit it is 413 like any other route."""
    monkeypatch.setenv("ILA_BATCH_MAX_FILE_BYTES", str(3 * 2**20))
    api: Api = api_factory(api_max_body_bytes=64 * 1024)
    w = make_world(api.container)
    own = api.auth(api.register(w.a, SEND))
    data = file(w.a, "BIG-1", ("1", w.a, w.worker_a))
    padded = data.replace(b"<records>", b"<!--" + b"x" * (2 * 2**20) + b"--><records>", 1)
    response = api.http.post("/api/v1/batches", headers=own | XML, content=padded)
    assert response.status_code == 202, response.text
    body = finish(api, own, response.json()["ticket"])
    assert (body["status"], body["accepted"]) == ("done", 1)
    too_big = padded.replace(b"<records>", b"<!--" + b"y" * (2 * 2**20) + b"--><records>", 1)
    assert_problem(
        api.http.post("/api/v1/batches", headers=own | XML, content=too_big),
        413,
        "payload_too_large",
    )
    json_too_big = api.http.post(
        f"/api/v1/employers/{w.a}/rights", headers=own, content=b"{" + b" " * 70_000 + b"}"
    )
    assert_problem(json_too_big, 413, "payload_too_large")

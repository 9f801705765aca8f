"""The committed OpenAPI document is the one the code generates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ila.access.domain import Scope
from ila.api.app import openapi_text
from ila.cli.main import app

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_committed_openapi_matches_the_code() -> None:
    if COMMITTED.read_text(encoding="utf-8") != openapi_text():
        pytest.fail(
            "docs/openapi.json differs from the API in the code: run `ila api openapi` "
            "(it rewrites docs/openapi.json) and commit the result"
        )


def test_document_describes_security_and_errors() -> None:
    doc = json.loads(openapi_text())
    assert doc["openapi"].startswith("3.1")
    assert doc["servers"] == [{"url": "/api/v1"}]
    flows = doc["components"]["securitySchemes"]["clientCredentials"]["flows"]
    assert set(flows["clientCredentials"]["scopes"]) == {s.value for s in Scope}
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            assert "429" in responses, (method, path)
            if path == "/oauth/token":
                assert "security" not in operation
                continue
            if "requestBody" in operation:  # a body that is not JSON is 400 bad_request
                assert "400" in responses, (method, path)
            (requirement,) = operation["security"]
            if path.startswith("/me/"):  # the person's own token, no scopes (ADR 0018)
                assert requirement == {"personToken": []}, (method, path)
            else:
                assert [Scope(s) for s in requirement["clientCredentials"]]
            for status in ("401", "403", "404", "422"):
                content = responses[status]["content"]
                assert content == {
                    "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
                }, (method, path, status)


def test_cli_writes_the_document(tmp_path: Path) -> None:
    runner = CliRunner()
    target = tmp_path / "openapi.json"
    result = runner.invoke(app, ["api", "openapi", "--output", str(target)])
    assert result.exit_code == 0, result.output
    assert target.read_text(encoding="utf-8") == openapi_text()
    printed = runner.invoke(app, ["api", "openapi", "--output", "-"])
    assert printed.stdout == openapi_text()

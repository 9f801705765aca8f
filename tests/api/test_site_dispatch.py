"""The site hands API calls straight to the API app (``ila.web.app._Site``, ADR 0022): with or
without a root path, under ``/api/v1/`` the API answers (problem details), elsewhere the site."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from ila.bootstrap import Container
from ila.web.app import create_app


@pytest.mark.parametrize("root", ["", "/ila"])
def test_api_calls_reach_the_api_and_pages_the_site(app_container: Container, root: str) -> None:
    from ila.db.migrate import upgrade

    upgrade(app_container.engine)
    with TestClient(create_app(app_container), root_path=root) as client:
        missing = client.get(f"{root}/api/v1/no-such-resource")
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"
        assert "x-request-id" in missing.headers  # the API's own layers ran
        assert "content-security-policy" not in missing.headers  # not the site's
        schema = client.get(f"{root}/api/v1/openapi.json")
        assert {"url": f"{root}/api/v1"} in schema.json()["servers"]  # the mount's root path
        health = client.get(f"{root}/healthz")
        assert health.json()["status"] == "ok"
        page = client.get(f"{root}/no-such-page")
        assert page.status_code == 404
        assert page.headers["content-type"] != "application/problem+json"
        assert "content-security-policy" in page.headers

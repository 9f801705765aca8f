from __future__ import annotations

from fastapi.testclient import TestClient

from ila.bootstrap import Container
from ila.web.app import create_app
from tests import builders


def test_health_and_home_count_what_is_recorded(container: Container) -> None:
    builders.employer(container, fte="12")
    builders.person(container)
    with TestClient(create_app(container)) as client:
        health = client.get("/healthz").json()
        assert (health["employers"], health["persons"], health["rights"]) == (1, 1, 0)
        assert health["rules"] == container.rules.version
        page = client.get("/")
    assert page.status_code == 200
    assert "<dd>1</dd>" in page.text
    assert 'lang="de"' in page.text

"""Browser tests: Debian's Chromium driven by Playwright for Python, against the app served by
uvicorn on loopback (SQLite and PostgreSQL, the synthetic demo dataset loaded once per backend),
and a real OpenID provider (the npm package ``oidc-provider``, tests/oidc/provider.mjs, started
by tests/oidc_fixture.py).

``scripts/test`` installs Chromium with apt-get and the provider with ``npm ci`` when missing;
with ``CI=true`` a missing one fails the run instead of skipping."""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from sqlalchemy import text
from sqlalchemy.engine import make_url

from ila.bootstrap import Container, bootstrap
from ila.config import Environment, Settings
from ila.db.migrate import upgrade
from ila.demo import DEMO_MULTI_EMPLOYER_NISS, DEMO_REHIRED_NISS, DEMO_WORKER_NISS
from ila.demo.generator import load_demo
from ila.exchange.demo import load_exchange_demo
from ila.rights.service import compute_year
from ila.web.app import create_app
from ila.web.provider import load_demo_mandates
from tests.conftest import BACKENDS, PG_URL, pg_engine_or_skip
from tests.oidc_fixture import LEVEL_HIGH, OIDC_DIR, Provider, run_provider
from tests.oidc_fixture import free_port as _free_port
from tests.oidc_fixture import missing as _missing

CHROMIUM = Path("/usr/bin/chromium")
CLIENT_ID = "ila-web-test"
CLIENT_SECRET = "test-only-client-secret-not-a-real-one"
BROWSER_DB = f"ila_browser_{os.getpid()}"
AXE = OIDC_DIR / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture(scope="session")
def ports() -> dict[str, int]:
    """One fixed loopback port per backend, known before the provider starts (its client's
    redirect URIs name them)."""
    return {"sqlite": _free_port(), "postgresql": _free_port()}


@pytest.fixture(scope="session")
def oidc_provider(ports: dict[str, int]) -> Iterator[Provider]:
    with run_provider(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_uris=[f"http://127.0.0.1:{p}/auth/callback" for p in ports.values()],
        post_logout_uri=f"http://127.0.0.1:{ports['sqlite']}/",
    ) as provider:
        yield provider


class Server:
    def __init__(self, container: Container, port: int) -> None:
        self.port = port
        config = uvicorn.Config(
            create_app(container),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="off",
            ws="none",
            http="h11",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                pytest.fail("the web server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(15)


@dataclass(frozen=True)
class Site:
    base: str
    container: Container
    backend: str


def _database(backend: str, tmp: Path) -> tuple[str, object]:
    if backend == "sqlite":
        return f"sqlite:///{tmp / 'browser.sqlite3'}", None
    admin = pg_engine_or_skip(PG_URL).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {BROWSER_DB} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {BROWSER_DB}"))
    url = make_url(PG_URL).set(database=BROWSER_DB).render_as_string(hide_password=False)
    return url, admin


@pytest.fixture(scope="session", params=BACKENDS)
def site(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    ports: dict[str, int],
    oidc_provider: Provider,
) -> Iterator[Site]:
    """The demo dataset as `ila demo load` gives it (persons, employers, trainings; the regions'
    authorisations and directories; the provider persona's mandates) with its 2024–2026
    rights, served on this backend's port with the demo login and the OpenID login enabled."""
    backend = str(request.param)
    url, admin = _database(backend, tmp_path_factory.mktemp(f"web-{backend}"))
    port = ports[backend]
    settings = Settings(
        environment=Environment.TEST,
        database_url=url,
        public_url=f"http://127.0.0.1:{port}",
        oidc_issuer=oidc_provider.issuer,
        oidc_client_id=CLIENT_ID,
        oidc_client_secret=CLIENT_SECRET,
    )
    container = bootstrap(settings)
    upgrade(container.engine)
    load_demo(container)
    load_exchange_demo(
        container,
        guided=DEMO_REHIRED_NISS,
        trainee=DEMO_MULTI_EMPLOYER_NISS,
        fpie_candidate=DEMO_WORKER_NISS,
    )
    load_demo_mandates(container)
    for year in (2024, 2025, 2026):
        compute_year(container, year)
    try:
        with Server(container, port):
            yield Site(f"http://127.0.0.1:{port}", container, backend)
    finally:
        container.close()
        if admin is not None:
            with admin.connect() as conn:  # type: ignore[attr-defined]
                conn.execute(text(f"DROP DATABASE IF EXISTS {BROWSER_DB} WITH (FORCE)"))
            admin.dispose()  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        _missing(str(CHROMIUM))
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(15_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


def choose_language(page: Page, site: Site, language: str) -> None:
    """Through the language switch, as a person would."""
    page.goto(f"{site.base}/")
    names = {"fr": "Français", "nl": "Nederlands", "de": "Deutsch", "en": "English"}
    page.get_by_role("navigation", name=re.compile(".")).first.get_by_role(
        "link", name=names[language]
    ).click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == language


def demo_login(page: Page, site: Site, persona_button: str) -> None:
    page.goto(f"{site.base}/login")
    page.get_by_role("button", name=persona_button).click()
    page.wait_for_load_state()


def oidc_login(
    page: Page,
    site: Site,
    national_number: str,
    level: str = LEVEL_HIGH,
    link: str = "Log in with the federal authentication service",
) -> None:
    """Through the login page to the test provider, signing in there at ``level``."""
    page.goto(f"{site.base}/login")
    page.get_by_role("link", name=link).click()
    page.get_by_label("National number").fill(national_number)
    page.get_by_label("Assurance level").select_option(level)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def axe_violations(page: Page) -> list[dict[str, object]]:
    """Serious and critical axe-core violations of the page (axe-core from npm, injected)."""
    if not AXE.exists():
        _missing("axe-core (tests/oidc/node_modules)")
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "async () => await axe.run(document, {runOnly: {type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"
    )
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The browser journeys run on SQLite; a module marked ``both_backends`` (login, the
    person's account) runs on PostgreSQL too. The pages call the same use cases whose data
    access the integration and API tests run on both databases; driving Chromium through every
    page twice would double the slowest part of the suite for no other code covered."""
    kept, dropped = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_pg = callspec is not None and callspec.params.get("site") == "postgresql"
        browser = item.path.parent.name == "browser"
        if browser and on_pg and item.get_closest_marker("both_backends") is None:
            dropped.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept

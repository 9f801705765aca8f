"""Accessibility and languages in Chromium: axe-core (from npm, injected into the page) finds
no serious or critical WCAG 2.1 A/AA violation on the main pages, in each language; the
language switch sticks across pages; the pages are usable at phone width; screenshots of the
main pages are written (into docs/screenshots/ with ILA_SCREENSHOTS=1)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from ila.demo.generator import DEMO_EMPLOYER_PC200
from ila.web.i18n import LANGUAGES, Translator
from tests.browser.conftest import Site, axe_violations, choose_language, demo_login

PERSON_PAGES = (
    "/",
    "/login",
    "/account?year=2025",
    "/account/consultations",
    f"/account/explain?employer={DEMO_EMPLOYER_PC200}&year=2025",
    "/account/career-break",
)
EMPLOYER_PAGES = (
    "/employer",
    f"/employer/{DEMO_EMPLOYER_PC200}/contests",
    f"/employer/{DEMO_EMPLOYER_PC200}?year=2025",
    f"/employer/{DEMO_EMPLOYER_PC200}/trainings/new",
    f"/employer/{DEMO_EMPLOYER_PC200}/verify",
    f"/employer/{DEMO_EMPLOYER_PC200}/rights?year=2025",
    f"/employer/{DEMO_EMPLOYER_PC200}/trainings",
    f"/employer/{DEMO_EMPLOYER_PC200}/batches",
)
OTHER_PAGES = (  # persona → its pages
    ("Regional counsellor", ("/counsellor",)),
    ("Service provider", ("/provider", f"/provider/{DEMO_EMPLOYER_PC200}")),
    ("Operator", ("/operator/access",)),
)
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.mark.parametrize("language", ["en", "nl"])
def test_main_pages_have_no_serious_accessibility_violation(
    browser: Browser, site: Site, language: str
) -> None:
    # axe-core is injected as an inline script, which the pages' CSP forbids: this context
    # alone bypasses the CSP (the other tests run with it enforced)
    context = browser.new_context(bypass_csp=True)
    try:
        _check_pages(context.new_page(), site, language)
    finally:
        context.close()


def _check_pages(page: Page, site: Site, language: str) -> None:
    choose_language(page, site, language)
    t = Translator(language)
    found = {}
    for path in PERSON_PAGES[:2]:
        page.goto(f"{site.base}{path}")
        found[path] = axe_violations(page)
    demo_login(page, site, f"{t.gettext('Demo')}: {t.gettext('Worker')}")
    for path in PERSON_PAGES[2:]:
        page.goto(f"{site.base}{path}")
        found[path] = axe_violations(page)
    page.context.clear_cookies()
    choose_language(page, site, language)
    demo_login(page, site, f"{t.gettext('Demo')}: {t.gettext('Employer HR')}")
    for path in EMPLOYER_PAGES:
        page.goto(f"{site.base}{path}")
        found[path] = axe_violations(page)
    for persona, paths in OTHER_PAGES:
        page.context.clear_cookies()
        choose_language(page, site, language)
        demo_login(page, site, f"{t.gettext('Demo')}: {t.gettext(persona)}")
        for path in paths:
            response = page.goto(f"{site.base}{path}")
            assert response is not None
            assert response.ok, (persona, path)
            found[path] = axe_violations(page)
    assert {path: v for path, v in found.items() if v} == {}


def test_every_language_renders_and_the_choice_sticks(page: Page, site: Site) -> None:
    for language in LANGUAGES:
        t = Translator(language)
        choose_language(page, site, language)
        page.goto(f"{site.base}/login")  # another page: the cookie keeps the language
        assert page.locator("html").get_attribute("lang") == language
        assert page.get_by_role("heading", level=1).inner_text() == t.gettext("Log in")


def test_the_language_of_the_browser_is_the_default(browser, site: Site) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(locale="de-BE")
    try:
        page = context.new_page()
        page.goto(f"{site.base}/")
        assert page.locator("html").get_attribute("lang") == "de"
    finally:
        context.close()


def test_screenshots_of_the_main_pages(page: Page, site: Site, tmp_path: Path) -> None:
    """Desktop and phone width; at phone width nothing overflows the viewport sideways."""
    target = SHOTS if os.environ.get("ILA_SCREENSHOTS") == "1" else tmp_path
    target.mkdir(parents=True, exist_ok=True)
    shots = [
        ("home", None, "/"),
        ("login", None, "/login"),
        ("account", "Demo: Worker", "/account?year=2025"),
        ("explain", "Demo: Worker", f"/account/explain?employer={DEMO_EMPLOYER_PC200}&year=2025"),
        ("consultations", "Demo: Worker", "/account/consultations"),
        ("dashboard", "Demo: Employer HR", f"/employer/{DEMO_EMPLOYER_PC200}?year=2025"),
        (
            "access",
            "Demo: Employer access administrator",
            f"/employer/{DEMO_EMPLOYER_PC200}/access",
        ),
        (
            "register-training",
            "Demo: Employer HR",
            f"/employer/{DEMO_EMPLOYER_PC200}/trainings/new",
        ),
        ("rights", "Demo: Employer HR", f"/employer/{DEMO_EMPLOYER_PC200}/rights?year=2025"),
        ("trainings", "Demo: Employer HR", f"/employer/{DEMO_EMPLOYER_PC200}/trainings"),
        ("batches", "Demo: Employer HR", f"/employer/{DEMO_EMPLOYER_PC200}/batches"),
        ("career-break", "Demo: Worker", "/account/career-break"),
        ("counsellor", "Demo: Regional counsellor", "/counsellor"),
        ("provider", "Demo: Service provider", f"/provider/{DEMO_EMPLOYER_PC200}"),
        ("operator", "Demo: Operator", "/operator/access"),
    ]
    choose_language(page, site, "en")
    for width, suffix in ((1280, "desktop"), (390, "phone")):
        page.set_viewport_size({"width": width, "height": 900})
        for name, persona, path in shots:
            if persona:
                demo_login(page, site, persona)
            page.goto(f"{site.base}{path}")
            overflow = page.evaluate(
                "() => document.documentElement.scrollWidth - window.innerWidth"
            )
            assert overflow <= 1, (name, suffix, overflow)  # wide tables scroll in their box
            if site.backend == "sqlite":
                page.screenshot(path=str(target / f"{name}-{suffix}.png"), full_page=False)
    if site.backend == "sqlite":
        assert len(list(target.glob("*.png"))) >= 2 * len(shots)

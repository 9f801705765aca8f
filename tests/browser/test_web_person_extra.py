"""The person's side in Chromium, continued: the worker downloads the PDF statement of the
learning account in Dutch, and opens the career-break / time-credit page in German."""

from __future__ import annotations

import io
from pathlib import Path

from playwright.sync_api import Browser, Page
from pypdf import PdfReader

from ila.demo.generator import DEMO_WORKER_NISS
from ila.flows.rules import career_break_rules
from ila.web.i18n import Translator
from tests.browser.conftest import Site, axe_violations, choose_language, demo_login

YEAR = 2025


def test_the_worker_downloads_the_statement_in_dutch(page: Page, site: Site) -> None:
    choose_language(page, site, "de")  # the page in German, the statement chosen in Dutch
    demo_login(page, site, "Demo: Arbeitnehmer")
    page.goto(f"{site.base}/account?year={YEAR}")
    page.get_by_label("Sprache des Auszugs").select_option("nl")
    with page.expect_download() as info:
        page.get_by_role("button", name="Meinen Auszug herunterladen (PDF)").click()
    download = info.value
    assert download.suggested_filename == f"ila-statement-{YEAR}-nl.pdf"
    body = Path(download.path()).read_bytes()
    assert body.startswith(b"%PDF-")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(body)).pages)
    assert f"Overzicht van de individuele leerrekening — {YEAR}" in text
    assert DEMO_WORKER_NISS in text
    # the same address, as the browser asks it: a PDF
    response = page.context.request.get(f"{site.base}/account/statement.pdf?year={YEAR}&lang=nl")
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"


def test_the_worker_opens_the_career_break_page_in_german(browser: Browser, site: Site) -> None:
    t = Translator("de")
    # axe-core is injected as an inline script, which the pages' CSP forbids: this context
    # alone bypasses the CSP (as in test_web_accessibility.py)
    context = browser.new_context(bypass_csp=True)
    try:
        page = context.new_page()
        choose_language(page, site, "de")
        demo_login(page, site, "Demo: Arbeitnehmer")
        page.goto(f"{site.base}/account?year={YEAR}")
        assert axe_violations(page) == []  # the statement form and the link included
        link = t.gettext("My career-break and time-credit possibilities")
        page.get_by_role("link", name=link).click()
        page.wait_for_load_state()
        assert page.get_by_role("heading", level=1).inner_text() == t.gettext(
            "Career break and time credit"
        )
        # the demo worker's private-sector employment is known to the simulated source:
        # ONEM is asked and every reason is shown, in German
        content = page.content()
        rules = career_break_rules()
        for reason in ("sick_minor_child", "child_under_8", "training"):
            assert rules.label("reason", reason, "de") in content
        assert "Keine Beschäftigung im öffentlichen oder privaten Sektor bekannt" not in content
        assert axe_violations(page) == []
    finally:
        context.close()

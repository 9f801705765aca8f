"""The employer's side in Chromium: choose the company, the dashboard with its charts (with and
without JavaScript), register a training for many workers, verify providers' trainings, and
that a role with company A opens nothing of company B."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import select

from ila.accounts.service import employer_dashboard, person_account
from ila.demo.generator import (
    DEMO_EMPLOYER_BAKERY,
    DEMO_EMPLOYER_CONSULTING,
    DEMO_EMPLOYER_PC124,
    DEMO_EMPLOYER_PC200,
    DEMO_WORKER_NISS,
)
from ila.identity.service import find_employer
from ila.trainings.models import Training
from ila.web.i18n import Translator
from ila.web.pages import DASHBOARD_PAGE
from tests.browser.conftest import Site, choose_language, demo_login

YEAR = 2025


def _dashboard(site: Site, en: str, year: int) -> Any:
    with site.container.uow() as uow:
        employer_id = find_employer(uow.session, en).id
        return employer_dashboard(
            uow.session, site.container.rules, employer_id, year, workers_limit=1000
        )


def test_choose_a_company_among_several(page: Page, site: Site) -> None:
    choose_language(page, site, "de")
    demo_login(page, site, "Demo: Personalabteilung des Arbeitgebers")
    assert page.get_by_role("heading", level=1).inner_text() == "Unternehmen wählen"
    with site.container.uow() as uow:
        consulting = find_employer(uow.session, DEMO_EMPLOYER_CONSULTING).name
        software = find_employer(uow.session, DEMO_EMPLOYER_PC200).name
    links = page.locator("ul.companies a")
    assert sorted(links.all_inner_texts()) == sorted([consulting, software])
    page.get_by_role("link", name=consulting).click()
    assert page.url.endswith(f"/employer/{DEMO_EMPLOYER_CONSULTING}")


@pytest.mark.parametrize("language", ["en", "fr"])
def test_dashboard_shows_the_year_with_charts(page: Page, site: Site, language: str) -> None:
    refused: list[str] = []  # the pages' CSP is enforced here: nothing may be blocked
    page.on(
        "console",
        lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None,
    )
    choose_language(page, site, language)
    demo_login(page, site, "Demo: Employer HR" if language == "en" else "Démo: RH de l'employeur")
    page.goto(f"{site.base}/employer/{DEMO_EMPLOYER_PC200}?year={YEAR}")
    data = _dashboard(site, DEMO_EMPLOYER_PC200, YEAR)
    t = Translator(language)
    totals = page.locator("dl.totals").inner_text()
    assert str(data["workers"]) in totals
    assert t.number(data["totals"]["used"]["days"]) in totals
    assert page.locator("svg.chart").count() == 3
    rows = page.locator("table.workers tbody tr")
    assert rows.count() == min(data["by_worker_total"], DASHBOARD_PAGE)
    # HTMX: changing the year swaps only the dashboard and keeps the address in step
    page.get_by_label(t.gettext("Year")).select_option("2024")
    page.wait_for_url(f"**/employer/{DEMO_EMPLOYER_PC200}?year=2024")
    page.wait_for_function(
        "() => document.querySelector('#dashboard h2').textContent.includes('2024')"
    )
    assert page.locator("header.top").count() == 1  # the fragment did not nest a page
    older = _dashboard(site, DEMO_EMPLOYER_PC200, 2024)
    assert rows.count() == min(older["by_worker_total"], DASHBOARD_PAGE)
    # the demo company has more workers than a page: the next page, as an HTMX fragment too
    assert older["by_worker_total"] > DASHBOARD_PAGE
    page.get_by_role("link", name=t.gettext("Next")).click()
    page.wait_for_url(f"**/employer/{DEMO_EMPLOYER_PC200}?year=2024&offset={DASHBOARD_PAGE}")
    page.get_by_role("link", name=t.gettext("Previous")).wait_for()
    assert rows.count() == older["by_worker_total"] - DASHBOARD_PAGE
    assert page.locator("header.top").count() == 1
    assert refused == []


def test_dashboard_year_switch_works_without_javascript(browser: Browser, site: Site) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        demo_login(page, site, "Demo: Employer HR")
        page.goto(f"{site.base}/employer/{DEMO_EMPLOYER_PC200}?year={YEAR}")
        page.get_by_label("Year").select_option("2024")
        page.get_by_role("button", name="Show").click()
        page.wait_for_load_state()
        assert page.url.endswith("?year=2024")
        assert "Dashboard 2024" in page.locator("#dashboard h2").inner_text()
    finally:
        context.close()


def test_register_a_training_for_many_workers(page: Page, site: Site) -> None:
    data = _dashboard(site, DEMO_EMPLOYER_PC200, 2026)
    numbers = [w["national_number"] for w in data["by_worker"][:3]]
    assert DEMO_WORKER_NISS in [w["national_number"] for w in data["by_worker"]]
    if DEMO_WORKER_NISS not in numbers:
        numbers[-1] = DEMO_WORKER_NISS
    title = f"First aid refresher {site.backend}"
    choose_language(page, site, "nl")
    demo_login(page, site, "Demo: HR van de werkgever")
    page.goto(f"{site.base}/employer/{DEMO_EMPLOYER_PC200}")
    page.get_by_role("link", name="Een opleiding registreren").click()
    page.get_by_label("Rijksregisternummers").fill("\n".join([*numbers, "12345678901"]))
    page.get_by_label("Titel").fill(title)
    page.get_by_label("Begindatum").fill("2026-03-02")
    page.get_by_label("Einddatum").fill("2026-03-03")
    page.get_by_label("Duur").fill("7,5")
    page.get_by_label("Soort opleiding").select_option("formal_external")
    page.get_by_role("button", name="Registreren").click()
    status = page.get_by_role("status").inner_text()
    assert f"3 van {len(numbers) + 1} opleidingen geregistreerd." == status
    assert "invalid_national_number" in page.content()
    # the worker sees it in the timeline, marked as sent by the employer
    account = person_account(site.container, DEMO_WORKER_NISS, 2026)
    mine = [tr for tr in account["trainings"] if tr["title"] == title]
    assert len(mine) == 1
    assert mine[0]["source"] == "employer"
    assert mine[0]["duration_minutes"] == 450


def test_an_invalid_training_form_is_shown_again(page: Page, site: Site) -> None:
    demo_login(page, site, "Demo: Employer HR")
    page.goto(f"{site.base}/employer/{DEMO_EMPLOYER_PC200}/trainings/new")
    page.get_by_label("National numbers").fill(DEMO_WORKER_NISS)
    page.get_by_label("Title", exact=True).fill("Backwards course")
    page.get_by_label("Start date").fill("2026-03-05")
    page.get_by_label("End date").fill("2026-03-02")
    page.get_by_label("Duration").fill("2")
    page.get_by_role("button", name="Register", exact=True).click()
    assert "invalid_period" in page.get_by_role("alert").inner_text()
    assert page.get_by_label("Title", exact=True).input_value() == "Backwards course"


def test_verify_a_providers_training(page: Page, site: Site) -> None:
    demo_login(page, site, "Demo: Employer HR")
    page.goto(f"{site.base}/employer/{DEMO_EMPLOYER_PC200}/verify")
    rows = page.locator("table tbody tr")
    before = rows.count()
    assert before > 0
    button = rows.first.get_by_role("button")
    label = button.get_attribute("aria-label") or ""
    button.click()
    page.wait_for_load_state()
    assert page.locator("table tbody tr").count() == before - 1
    title = label.split(": ", 1)[1]
    with site.container.uow() as uow:
        verified = uow.session.scalars(
            select(Training.verified_by).where(Training.verified_at.is_not(None))
        ).all()
    assert "web:demo:demo-employer_hr" in verified
    assert title  # the button named the training it confirms


@pytest.mark.parametrize(
    "other", [DEMO_EMPLOYER_PC124, DEMO_EMPLOYER_BAKERY, "0999999999"], ids=str
)
def test_a_role_with_company_a_opens_nothing_of_company_b(
    page: Page, site: Site, other: str
) -> None:
    demo_login(page, site, "Demo: Employer HR")
    for path in ("", "/verify", "/trainings/new", f"/worker/{DEMO_WORKER_NISS}"):
        response = page.goto(f"{site.base}/employer/{other}{path}")
        assert response is not None
        assert response.status == 404, path
    posted = page.request.post(
        f"{site.base}/employer/{other}/verify/1",
        form={"csrf_token": page.locator("input[name=csrf_token]").first.input_value()},
    )
    assert posted.status == 404

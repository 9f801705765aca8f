"""The person's side in Chromium: the learning account with the explanation of each figure,
the trainings timeline with its sources, who consulted my data, and that a worker cannot reach
another person's account by changing an identifier."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page

from ila.accounts.service import person_account
from ila.demo.generator import (
    DEMO_EMPLOYER_PC200,
    DEMO_MULTI_EMPLOYER_NISS,
    DEMO_WORKER_NISS,
)
from ila.web.i18n import Translator
from tests.browser.conftest import Site, choose_language, demo_login, oidc_login

pytestmark = pytest.mark.both_backends  # see tests/browser/conftest.py

YEAR = 2025


@pytest.mark.parametrize(
    ("language", "persona", "title", "balance"),
    [
        ("nl", "Demo: Werknemer", "Mijn leerrekening", "Saldo"),
        ("de", "Demo: Arbeitnehmer", "Mein Lernkonto", "Saldo"),
    ],
)
def test_the_account_shows_every_figure_with_its_explanation(
    page: Page, site: Site, language: str, persona: str, title: str, balance: str
) -> None:
    choose_language(page, site, language)
    demo_login(page, site, persona)
    page.goto(f"{site.base}/account?year={YEAR}")
    assert page.get_by_role("heading", level=1).inner_text() == title
    expected = person_account(site.container, DEMO_WORKER_NISS, YEAR)
    t = Translator(language)
    card = page.locator("section.card").first
    part = expected["employers"][0]
    assert part["employer"]["name"] in card.inner_text()
    figures = card.locator("dl.figures > div")
    assert figures.count() == 5  # entitlement, carried over, used, balance, expiring
    text = figures.nth(3).inner_text()
    assert balance in text
    assert t.gettext("%(days)s days", days=t.number(part["balance"]["days"])) in text
    assert t.gettext("Entitlement plus carried over minus used.") in text
    # the timeline lists every training with its source in words
    items = page.locator("ol.timeline > li")
    assert items.count() == len(expected["trainings"]) > 0
    sources = {tr["source"] for tr in expected["trainings"]}
    for source in sources:
        assert t.code("source", source) in page.locator("ol.timeline").inner_text()
    # and the derivation behind the figures
    page.get_by_role("link", name=t.gettext("How these figures are computed")).click()
    assert t.gettext("Formula") in page.content()
    assert page.locator("table tbody tr").count() >= 1


def test_a_person_with_two_employers_sees_both(page: Page, site: Site) -> None:
    expected = person_account(site.container, DEMO_MULTI_EMPLOYER_NISS, YEAR)
    assert len(expected["employers"]) == 2
    oidc_login(page, site, DEMO_MULTI_EMPLOYER_NISS)
    page.goto(f"{site.base}/account?year={YEAR}")
    cards = page.locator("section.card")
    assert cards.count() == 2
    for card, part in zip(cards.all(), expected["employers"], strict=True):
        assert part["employer"]["enterprise_number"] in card.inner_text()
    assert "All employers" in page.content()


def test_who_consulted_my_data_shows_the_employer_reading_it(page: Page, site: Site) -> None:
    choose_language(page, site, "fr")
    demo_login(page, site, "Démo: RH de l'employeur")
    page.goto(f"{site.base}/employer/{DEMO_EMPLOYER_PC200}/worker/{DEMO_WORKER_NISS}?year={YEAR}")
    assert page.get_by_role("heading", level=1).count() == 1
    page.context.clear_cookies()
    choose_language(page, site, "fr")
    demo_login(page, site, "Démo: Travailleur")
    page.get_by_role("link", name="Qui a consulté mes données").click()
    table = page.get_by_role("table")
    first = table.locator("tbody tr").first.inner_text()
    assert "web:demo:demo-employer_hr" in first
    assert DEMO_EMPLOYER_PC200 in first
    assert "a consulté le compte" in first


def test_a_worker_cannot_open_another_persons_account(page: Page, site: Site) -> None:
    demo_login(page, site, "Demo: Worker")
    # the account page takes no identifier: a forged one is ignored
    page.goto(f"{site.base}/account?national_number={DEMO_MULTI_EMPLOYER_NISS}&year={YEAR}")
    own = person_account(site.container, DEMO_WORKER_NISS, YEAR)["person"]["name"]
    other = person_account(site.container, DEMO_MULTI_EMPLOYER_NISS, YEAR)["person"]["name"]
    assert own in page.content()
    assert other not in page.content()
    # the employer's view of a worker needs a role with that employer
    response = page.goto(
        f"{site.base}/employer/{DEMO_EMPLOYER_PC200}/worker/{DEMO_MULTI_EMPLOYER_NISS}"
    )
    assert response is not None
    assert response.status == 404
    assert other not in page.content()


def test_pages_need_a_login(page: Page, site: Site) -> None:
    for path in ("/account", "/account/consultations", f"/employer/{DEMO_EMPLOYER_PC200}"):
        page.goto(f"{site.base}{path}")
        assert urlsplit(page.url).path == "/login"

"""Access management in Chromium: the access administrator grants a colleague a role (who then
logs in with OpenID Connect and acts for that company only), changes and revokes it, and grants
and revokes a service provider's mandate; other roles cannot open the page."""

from __future__ import annotations

from playwright.sync_api import Browser, Page

from ila.access.service import list_mandates
from ila.demo.generator import (
    DEMO_EMPLOYER_BAKERY,
    DEMO_EMPLOYER_PC124,
    DEMO_EMPLOYER_PC200,
    DEMO_MULTI_EMPLOYER_NISS,
)
from tests.browser.conftest import Site, choose_language, demo_login, oidc_login


def _status(page: Page, url: str) -> int:
    response = page.goto(url)
    assert response is not None
    return response.status


def test_a_granted_role_opens_that_company_only(page: Page, browser: Browser, site: Site) -> None:
    choose_language(page, site, "nl")
    demo_login(page, site, "Demo: Toegangsbeheerder van de werkgever")
    page.goto(f"{site.base}/employer/{DEMO_EMPLOYER_PC200}")
    page.get_by_role("link", name="Toegangsbeheer").click()
    page.get_by_label("Rijksregisternummer").fill(DEMO_MULTI_EMPLOYER_NISS)
    page.get_by_label("Rol", exact=True).select_option("editor")
    page.get_by_role("button", name="Toekennen").first.click()
    roles = page.get_by_role("table", name="Collega's en hun rollen")
    assert DEMO_MULTI_EMPLOYER_NISS in roles.inner_text()
    assert "redacteur" in roles.inner_text()

    colleague = browser.new_context()
    other = colleague.new_page()
    try:
        oidc_login(other, site, DEMO_MULTI_EMPLOYER_NISS)
        assert other.url == f"{site.base}/employer"
        assert other.locator("ul.companies a").count() == 1
        base = f"{site.base}/employer"
        assert _status(other, f"{base}/{DEMO_EMPLOYER_PC200}/trainings/new") == 200
        assert _status(other, f"{base}/{DEMO_EMPLOYER_PC124}") == 404
        assert _status(other, f"{base}/{DEMO_EMPLOYER_PC200}/access") == 404  # not an admin

        # a new role replaces the old one: a viewer sees the dashboard, registers nothing
        page.get_by_label("Rijksregisternummer").fill(DEMO_MULTI_EMPLOYER_NISS)
        page.get_by_label("Rol", exact=True).select_option("viewer")
        page.get_by_role("button", name="Toekennen").first.click()
        assert roles.locator("tbody tr").count() == 1
        assert _status(other, f"{base}/{DEMO_EMPLOYER_PC200}?year=2025") == 200
        assert _status(other, f"{base}/{DEMO_EMPLOYER_PC200}/trainings/new") == 404

        page.get_by_role("button", name=f"Intrekken: {DEMO_MULTI_EMPLOYER_NISS}").click()
        assert "Nog geen rol toegekend." in page.content()
        assert _status(other, f"{base}/{DEMO_EMPLOYER_PC200}?year=2025") == 404
    finally:
        colleague.close()


def test_an_invalid_grant_is_refused_on_the_page(page: Page, site: Site) -> None:
    demo_login(page, site, "Demo: Employer access administrator")
    page.goto(f"{site.base}/employer/{DEMO_EMPLOYER_PC200}/access")
    page.get_by_label("National number").fill("12345678901")
    page.get_by_role("button", name="Grant").first.click()
    assert "invalid_national_number" in page.get_by_role("alert").inner_text()


def test_grant_and_revoke_a_mandate(page: Page, site: Site) -> None:
    choose_language(page, site, "fr")
    demo_login(page, site, "Démo: Gestionnaire des accès de l'employeur")
    page.goto(f"{site.base}/employer/{DEMO_EMPLOYER_PC124}/access")
    page.get_by_label("Numéro d'entreprise du prestataire").fill(DEMO_EMPLOYER_BAKERY)
    page.get_by_label("Type", exact=True).select_option("training_provider")
    page.get_by_label("Du", exact=True).fill("2026-01-01")
    page.get_by_role("button", name="Accorder").last.click()
    table = page.get_by_role("table", name="Mandats des prestataires de services")
    assert DEMO_EMPLOYER_BAKERY in table.inner_text()
    assert "organisme de formation" in table.inner_text()
    with site.container.uow() as uow:
        granted = [m for m in list_mandates(uow.session, DEMO_EMPLOYER_PC124) if m.active]
    assert [m.provider for m in granted] == [DEMO_EMPLOYER_BAKERY]
    assert granted[0].granted_by == "web:demo:demo-access_admin"
    # the same provider again for an overlapping period is refused, and said so
    page.get_by_label("Numéro d'entreprise du prestataire").fill(DEMO_EMPLOYER_BAKERY)
    page.get_by_label("Du", exact=True).fill("2026-06-01")
    page.get_by_role("button", name="Accorder").last.click()
    assert "mandate_overlaps" in page.get_by_role("alert").inner_text()
    row = page.get_by_role("table", name="Mandats des prestataires de services")
    row.get_by_label("Motif").fill("contrat terminé")
    row.get_by_role("button", name=f"Retirer: {DEMO_EMPLOYER_BAKERY}").click()
    assert "Aucun mandat." in page.content()
    with site.container.uow() as uow:
        revoked = list_mandates(uow.session, DEMO_EMPLOYER_PC124)
    assert revoked[-1].revoke_reason == "contrat terminé"


def test_only_the_access_administrator_opens_access_management(page: Page, site: Site) -> None:
    demo_login(page, site, "Demo: Employer HR")
    assert _status(page, f"{site.base}/employer/{DEMO_EMPLOYER_PC200}/access") == 404
    page.goto(f"{site.base}/employer/{DEMO_EMPLOYER_PC200}")
    assert page.get_by_role("link", name="Access management").count() == 0

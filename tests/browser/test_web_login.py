"""Login journeys in Chromium: OpenID Connect against the real provider (code + PKCE + nonce,
assurance level), the demo personas, logout, and CSRF refusal of a forged form."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, Request

from ila.demo.generator import DEMO_EMPLOYER_PC200, DEMO_WORKER_NISS
from tests.browser.conftest import LEVEL_HIGH as HIGH
from tests.browser.conftest import Site, choose_language, demo_login, oidc_login

pytestmark = pytest.mark.both_backends  # see tests/browser/conftest.py

LOW = "urn:be:fedict:iam:fas:Level100"


def _oidc_login(page: Page, site: Site, link: str, level: str) -> list[str]:
    """Sign in at the provider; returns the authorization request URLs the browser sent."""
    sent: list[str] = []

    def watch(request: Request) -> None:
        if "/auth?" in request.url:
            sent.append(request.url)

    page.on("request", watch)
    oidc_login(page, site, DEMO_WORKER_NISS, level, link)
    return sent


def test_oidc_login_in_french_opens_the_account_then_logout(page: Page, site: Site) -> None:
    choose_language(page, site, "fr")
    sent = _oidc_login(page, site, "Se connecter via le service d'authentification fédéral", HIGH)
    # the authorization request carried PKCE (S256), a nonce, a state and the level asked
    query = parse_qs(urlsplit(sent[0]).query)
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) >= 43
    assert query["nonce"][0]
    assert query["state"][0]
    assert query["acr_values"] == [HIGH]
    assert page.url == f"{site.base}/account"
    assert page.get_by_role("heading", level=1).inner_text() == "Mon compte formation"
    assert "Demo Software SA" in page.content()
    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_load_state()
    assert page.get_by_role("button", name="Se déconnecter").count() == 0
    page.goto(f"{site.base}/account")
    assert urlsplit(page.url).path == "/login"


def test_oidc_login_below_the_required_assurance_level_is_refused(page: Page, site: Site) -> None:
    choose_language(page, site, "en")
    _oidc_login(page, site, "Log in with the federal authentication service", LOW)
    assert urlsplit(page.url).path == "/login"
    assert "required assurance level" in page.get_by_role("alert").inner_text()
    page.goto(f"{site.base}/account")
    assert urlsplit(page.url).path == "/login"  # no session was opened


def test_an_identity_without_a_valid_national_number_is_refused(page: Page, site: Site) -> None:
    oidc_login(page, site, "12345678901")
    assert urlsplit(page.url).path == "/login"
    assert page.get_by_role("alert").count() == 1
    page.goto(f"{site.base}/account")
    assert urlsplit(page.url).path == "/login"


def test_callback_without_a_login_in_progress_is_refused(page: Page, site: Site) -> None:
    page.goto(f"{site.base}/auth/callback?code=forged&state=forged")
    assert urlsplit(page.url).path == "/login"
    assert page.get_by_role("alert").count() == 1


def test_demo_personas_are_marked_and_lead_to_their_side(page: Page, site: Site) -> None:
    choose_language(page, site, "nl")
    page.goto(f"{site.base}/login")
    demo = page.get_by_role("region", name="Demo-aanmelding (fictieve personages")
    assert demo.get_by_role("button").count() == 6
    demo_login(page, site, "Demo: HR van de werkgever")
    assert page.url == f"{site.base}/employer"
    assert "fictieve gegevens" in page.get_by_role("note").inner_text()
    page.get_by_role("link", name="Demo Software SA").click()
    assert page.url == f"{site.base}/employer/{DEMO_EMPLOYER_PC200}"


def test_a_forged_form_is_refused(page: Page, site: Site) -> None:
    choose_language(page, site, "en")
    demo_login(page, site, "Demo: Employer HR")
    page.goto(f"{site.base}/employer/{DEMO_EMPLOYER_PC200}/trainings/new")
    page.get_by_label("National numbers").fill(DEMO_WORKER_NISS)
    page.get_by_label("Title", exact=True).fill("Forged course")
    page.get_by_label("Start date").fill("2026-03-02")
    page.get_by_label("End date").fill("2026-03-02")
    page.get_by_label("Duration").fill("3")
    # what another site's copy of the form would send: the right fields, not the token
    page.eval_on_selector("form.stack input[name=csrf_token]", "e => e.value = 'forged-token'")
    page.get_by_role("button", name="Register", exact=True).click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text() == "This form has expired"
    page.goto(f"{site.base}/account")  # nothing was recorded (HR has no account: 404)
    with site.container.uow() as uow:
        from sqlalchemy import func, select

        from ila.trainings.models import TrainingVersion

        count = uow.session.scalar(
            select(func.count())
            .select_from(TrainingVersion)
            .where(TrainingVersion.title == "Forged course")
        )
    assert count == 0


def test_logout_without_the_token_is_refused(page: Page, site: Site) -> None:
    demo_login(page, site, "Demo: Worker")
    response = page.request.post(f"{site.base}/logout", form={"csrf_token": "nope"})
    assert response.status == 403
    page.goto(f"{site.base}/account")
    assert urlsplit(page.url).path == "/account"  # still logged in

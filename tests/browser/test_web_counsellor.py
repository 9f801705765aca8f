"""The counsellor and the service provider in Chromium: a Le Forem counsellor finds a demo
person whose dossier the service holds and reads the account with only the items the guidance
authorisation allows (French); a training provider registers a training for a mandating
employer, which the employer then has to verify (Dutch)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from ila.accounts.service import person_account
from ila.demo.generator import (
    DEMO_EMPLOYER_CONSULTING,
    DEMO_MULTI_EMPLOYER_NISS,
    DEMO_REHIRED_NISS,
)
from ila.identity.service import find_employer
from ila.trainings.service import TrainingFilter, employer_trainings
from ila.web.auth import FOREM
from ila.web.i18n import Translator
from ila.web.staff import grant_staff, revoke_staff
from tests.browser.conftest import Site, choose_language, demo_login, oidc_login
from tests.builders import fake_niss

YEAR = 2026


@pytest.fixture
def demo(site: Site) -> Site:
    """The site holds the whole demo (``site`` loads what `ila demo load` does)."""
    return site


def test_the_counsellor_opens_a_dossier_and_sees_the_allowed_items(page: Page, demo: Site) -> None:
    choose_language(page, demo, "fr")
    demo_login(page, demo, "Démo: Conseiller régional")
    page.get_by_role("link", name="Dossiers").click()
    dossiers = page.get_by_role("table", name="Dossiers ouverts de votre service")
    assert DEMO_MULTI_EMPLOYER_NISS in dossiers.inner_text()
    assert DEMO_REHIRED_NISS not in dossiers.inner_text()  # guided by VDAB and Actiris only

    # a person without a dossier of Le Forem: the neutral answer
    page.get_by_label("Numéro de registre national").fill(DEMO_REHIRED_NISS)
    page.get_by_role("button", name="Rechercher").click()
    assert "Aucun dossier ouvert de votre service" in page.get_by_role("alert").inner_text()

    dossiers.get_by_role(
        "button", name=f"Ouvrir le compte: {DEMO_MULTI_EMPLOYER_NISS}"
    ).first.click()
    whole = person_account(demo.container, DEMO_MULTI_EMPLOYER_NISS, YEAR)
    heading = page.get_by_role("heading", level=1).inner_text()
    assert heading == whole["person"]["name"]
    text = page.locator("main").inner_text()
    assert "ila-guidance-consultation" in text
    assert "Certificat de compétence soudeur MIG-MAG (démo)" in text  # a certificate: allowed
    # the employers are not an item of the authorisation: none is named
    assert whole["employers"]
    for part in whole["employers"]:
        assert part["employer"]["name"] not in text
        assert part["employer"]["enterprise_number"] not in text


def test_a_training_provider_registers_a_training_to_verify(page: Page, demo: Site) -> None:
    choose_language(page, demo, "nl")
    demo_login(page, demo, "Demo: Dienstverlener")
    page.get_by_role("link", name="Mandaten").click()
    mandates = page.get_by_role("table", name="Mandaten die vandaag gelden")
    assert "opleidingsverstrekker" in mandates.inner_text().lower()
    mandates.locator(f'a[href="/provider/{DEMO_EMPLOYER_CONSULTING}"]').click()
    page.get_by_role("link", name="Een opleiding registreren").click()
    page.get_by_label("Rijksregisternummers van de werknemers").fill(DEMO_MULTI_EMPLOYER_NISS)
    page.get_by_label("Titel").fill("Veilig werken met ladders")
    page.get_by_label("Begindatum").fill("2026-10-05")
    page.get_by_label("Einddatum").fill("2026-10-05")
    page.get_by_label("Duur").fill("7")
    page.get_by_label("Status").select_option("planned")
    page.get_by_role("button", name="Registreren").click()
    assert "1 van 1" in page.get_by_role("status").inner_text()
    with demo.container.uow() as uow:
        employer = find_employer(uow.session, DEMO_EMPLOYER_CONSULTING)
        to_verify = employer_trainings(
            uow.session, employer.id, TrainingFilter(to_verify=True), after_id=None, limit=500
        )
    assert "Veilig werken met ladders" in [v.title for _, v, _ in to_verify]


def test_a_counsellor_logging_in_with_openid_connect_is_the_operators_assignment(
    page: Page, demo: Site
) -> None:
    """Not a persona: a citizen login (real OpenID provider) whose national number the
    operator recorded as a Le Forem counsellor (``ila staff grant``) opens the counsellor
    pages; once revoked, the next page is as unknown."""
    counsellor = fake_niss(731, birth="800101")
    staff_id = grant_staff(
        demo.container.uow(),
        national_number=counsellor,
        kind="counsellor",
        organisation=FOREM,
        function="guidance_counsellor",
        actor="test:operator",
    )
    choose_language(page, demo, "en")
    oidc_login(page, demo, counsellor)
    page.goto(f"{demo.base}/counsellor")
    dossiers = page.get_by_role("table", name="Open dossiers of your service")
    assert DEMO_MULTI_EMPLOYER_NISS in dossiers.inner_text()
    revoke_staff(demo.container.uow(), staff_id, actor="test:operator")
    assert page.goto(f"{demo.base}/counsellor").status == 404


@pytest.mark.parametrize("language", ["de", "fr"])
def test_the_operator_names_a_first_access_administrator_who_logs_in(
    page: Page, demo: Site, language: str
) -> None:
    """The operator (demo persona) names the access administrator of a company; that person,
    logging in through the real OpenID provider, manages the company's access; once revoked,
    the page is as unknown."""
    t = Translator(language)
    admin = fake_niss(741 if language == "de" else 742, birth="810101")
    choose_language(page, demo, language)
    demo_login(page, demo, f"{t.gettext('Demo')}: {t.gettext('Operator')}")
    page.goto(f"{demo.base}/operator/access")
    page.get_by_label(t.gettext("Enterprise number of the company")).fill(DEMO_EMPLOYER_CONSULTING)
    page.get_by_label(t.gettext("National number")).fill(admin)
    page.get_by_role("button", name=t.gettext("Grant")).click()
    page.wait_for_load_state()
    admins = page.get_by_role("table", name=t.gettext("Current access administrators"))
    assert admin in admins.inner_text()
    page.context.clear_cookies()
    choose_language(page, demo, language)
    oidc_login(page, demo, admin, link=t.gettext("Log in with the federal authentication service"))
    assert page.goto(f"{demo.base}/employer/{DEMO_EMPLOYER_CONSULTING}/access").status == 200
    page.context.clear_cookies()
    choose_language(page, demo, language)
    demo_login(page, demo, f"{t.gettext('Demo')}: {t.gettext('Operator')}")
    page.goto(f"{demo.base}/operator/access")
    label = f"{t.gettext('Revoke')}: {admin} ({DEMO_EMPLOYER_CONSULTING})"
    page.get_by_role("button", name=label).click()
    page.wait_for_load_state()
    assert admin not in page.locator("main").inner_text()

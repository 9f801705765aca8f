"""The person adds a training of their own (marked self-declared) and contests a record; the
record shows "contested" until the employer that recorded it resolves the contest."""

from __future__ import annotations

from playwright.sync_api import Page

from ila.accounts.service import person_account
from ila.demo.generator import DEMO_EMPLOYER_PC200, DEMO_WORKER_NISS
from tests.browser.conftest import Site, choose_language, demo_login

YEAR = 2025


def test_add_my_own_training(page: Page, site: Site) -> None:
    choose_language(page, site, "de")
    demo_login(page, site, "Demo: Arbeitnehmer")
    page.goto(f"{site.base}/account?year=2024")
    page.get_by_text("Eigene Weiterbildung oder eigenes Zertifikat hinzufügen").click()
    title = f"Evening Spanish {site.backend}"
    own = page.locator("details.own")
    own.get_by_label("Titel").fill(title)
    own.get_by_label("Beginndatum").fill("2025-09-01")
    own.get_by_label("Enddatum").fill("2025-12-15")
    own.get_by_label("Dauer in Stunden").fill("30")
    own.get_by_label("Zertifikat (optional)").fill("A2")
    own.get_by_role("button", name="Hinzufügen").click()
    page.wait_for_url(f"**/account?year={YEAR}")
    item = page.locator("ol.timeline > li", has_text=title)
    assert "von Ihnen selbst angegeben" in item.inner_text()
    assert "A2" in item.inner_text()
    mine = [
        t
        for t in person_account(site.container, DEMO_WORKER_NISS, YEAR)["trainings"]
        if t["title"] == title
    ]
    assert [(t["source"], t["employer"], t["duration_minutes"]) for t in mine] == [
        ("person", None, 1800)
    ]


def test_contest_a_record_until_the_employer_resolves_it(page: Page, site: Site) -> None:
    account = person_account(site.container, DEMO_WORKER_NISS, YEAR)
    target = next(
        t
        for t in account["trainings"]
        if t["source"] == "employer" and t["employer"] == DEMO_EMPLOYER_PC200
    )
    choose_language(page, site, "en")
    demo_login(page, site, "Demo: Worker")
    page.goto(f"{site.base}/account?year={YEAR}")
    item = page.locator("ol.timeline > li").filter(has=page.locator(f"#reason-{target['id']}"))
    item.get_by_text("Contest this record").click()
    item.get_by_label("What is wrong with this record?").fill("I was on leave that day")
    item.get_by_role("button", name="Send to the source").click()
    page.wait_for_url(f"**/account?year={YEAR}")
    assert page.locator("ol.timeline .contested").count() == 1
    # contesting it again is refused while it is open
    response = page.request.post(
        f"{site.base}/account/trainings/{target['id']}/contest",
        form={
            "csrf_token": page.locator("input[name=csrf_token]").first.input_value(),
            "reason": "again",
        },
    )
    assert response.status == 400

    page.context.clear_cookies()
    choose_language(page, site, "fr")
    demo_login(page, site, "Démo: RH de l'employeur")
    page.goto(f"{site.base}/employer/{DEMO_EMPLOYER_PC200}")
    page.get_by_role("link", name="Enregistrements contestés").click()
    row = page.locator("tbody tr", has_text="I was on leave that day")
    assert target["title"] in row.inner_text()
    row.get_by_label("Réponse").fill("Corrigé : formation annulée")
    row.get_by_role("button", name=f"Clôturer: {target['title']}").click()
    assert page.locator("tbody tr", has_text="I was on leave that day").count() == 0

    page.context.clear_cookies()
    demo_login(page, site, "Demo: Worker")
    page.goto(f"{site.base}/account?year={YEAR}")
    assert page.locator("ol.timeline .contested").count() == 0


def test_a_person_cannot_contest_someone_elses_record(page: Page, site: Site) -> None:
    demo_login(page, site, "Demo: Worker")
    token = page.locator("input[name=csrf_token]").first.input_value()
    mine = {t["id"] for t in person_account(site.container, DEMO_WORKER_NISS, YEAR)["trainings"]}
    other = next(i for i in range(1, 10_000) if i not in mine)
    response = page.request.post(
        f"{site.base}/account/trainings/{other}/contest",
        form={"csrf_token": token, "reason": "not mine"},
    )
    assert response.status == 404

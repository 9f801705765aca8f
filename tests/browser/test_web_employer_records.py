"""The employer's records in Chromium: set a worker's training right (the computed value stays
visible), rectify then cancel a training and read its history, upload an example XML batch
and follow it to "done" with its per-record results — in French, English, German and Dutch."""

from __future__ import annotations

import re
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import or_, select

from ila.demo.generator import DEMO_EMPLOYER_PC200
from ila.employment.models import Employment
from ila.identity.models import Person
from ila.identity.service import find_employer
from ila.rights.models import RightVersion
from ila.trainings.domain import Source
from ila.trainings.models import Training
from ila.trainings.service import TrainingFilter, current_version, employer_trainings
from ila.web.i18n import Translator
from tests.browser.conftest import Site, axe_violations, choose_language, demo_login

EN = DEMO_EMPLOYER_PC200
EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "xml" / "examples"


def _employed_all_2024(site: Site) -> list[str]:
    with site.container.uow() as uow:
        employer_id = find_employer(uow.session, EN).id
        return list(
            uow.session.scalars(
                select(Person.national_number)
                .join(Employment, Employment.person_id == Person.id)
                .where(
                    Employment.employer_id == employer_id,
                    Employment.start_date <= date(2024, 1, 1),
                    or_(Employment.end_date.is_(None), Employment.end_date >= date(2025, 1, 1)),
                )
                .order_by(Person.national_number)
                .limit(2)
            )
        )


def test_set_a_workers_right_and_keep_the_computed_value(browser: Browser, site: Site) -> None:
    t = Translator("fr")
    niss = _employed_all_2024(site)[0]
    context = browser.new_context(bypass_csp=True)  # axe-core is injected inline
    try:
        _set_a_right(context.new_page(), site, t, niss)
    finally:
        context.close()
    with site.container.uow() as uow:
        right = uow.session.scalar(
            select(RightVersion)
            .join(Person, Person.id == RightVersion.person_id)
            .where(
                Person.national_number == niss,
                RightVersion.year == 2025,
                RightVersion.employer_id == find_employer(uow.session, EN).id,
                RightVersion.superseded_at.is_(None),
            )
        )
    assert right is not None
    assert (right.set_days, right.set_reason) == (Decimal("4.5"), "accord d'entreprise")
    assert right.recorded_by == "web:demo:demo-employer_hr"


def _set_a_right(page: Page, site: Site, t: Translator, niss: str) -> None:
    choose_language(page, site, "fr")
    demo_login(page, site, "Démo: RH de l'employeur")
    page.goto(f"{site.base}/employer/{EN}?year=2025")
    page.get_by_role("link", name=t.gettext("Training rights")).click()
    page.wait_for_load_state()
    assert page.locator("table.rights tbody tr").count() > 10
    row = page.locator("table.rights tbody tr", has=page.locator(f'input[value="{niss}"]'))
    computed = row.locator("td.computed").inner_text()
    assert computed != "—"
    row.locator("input[name=worker]").check()
    page.get_by_label(t.gettext("Days (empty: back to the computed value)")).fill("4,5")
    page.get_by_label(t.gettext("Reason"), exact=True).fill("accord d'entreprise")
    page.get_by_role("button", name=t.gettext("Save")).click()
    page.wait_for_load_state()
    assert f"{niss}: {t.gettext('changed')}" in page.locator("section.results").inner_text()
    row = page.locator("table.rights tbody tr", has=page.locator(f'input[value="{niss}"]'))
    assert row.locator("td.set").inner_text() == t.number("4.5")
    assert row.locator("td.computed").inner_text() == computed  # still shown
    found = {"rights": axe_violations(page)}
    for name in ("trainings", "batches"):
        page.goto(f"{site.base}/employer/{EN}/{name}")
        found[name] = axe_violations(page)
    assert found == {"rights": [], "trainings": [], "batches": []}


@pytest.mark.parametrize("language", ["en", "de"])
def test_rectify_then_cancel_a_training_and_read_its_history(
    page: Page, site: Site, language: str
) -> None:
    t = Translator(language)
    with site.container.uow() as uow:
        employer_id = find_employer(uow.session, EN).id
        training, version, niss = next(
            (tr, v, n)
            for tr, v, n in employer_trainings(
                uow.session, employer_id, TrainingFilter(), after_id=None, limit=200
            )
            if tr.source == Source.EMPLOYER.value and v.version == 1
        )
    choose_language(page, site, language)
    demo_login(page, site, f"{t.gettext('Demo')}: {t.gettext('Employer HR')}")
    page.goto(f"{site.base}/employer/{EN}")
    page.get_by_role("link", name=t.gettext("Trainings of the company")).click()
    page.get_by_label(t.gettext("National number")).fill(niss)
    page.get_by_role("button", name=t.gettext("Show")).click()
    page.wait_for_load_state()
    page.locator(f'a[href$="/trainings/{training.id}"]').click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text().startswith(version.title)
    page.get_by_label(t.gettext("Title"), exact=True).fill(f"{version.title} (rectified)")
    page.get_by_label(t.gettext("Reason"), exact=True).fill("the title was incomplete")
    page.get_by_role("button", name=t.gettext("Rectify")).click()
    page.wait_for_load_state()
    rectified = t.gettext("The training was rectified; the earlier version stays in the history.")
    assert page.get_by_role("status").first.inner_text() == rectified
    assert page.locator("table.history tbody tr").count() == 2
    page.get_by_label(t.gettext("Reason for cancelling")).fill("registered twice")
    page.get_by_role("button", name=t.gettext("Cancel this training")).click()
    page.wait_for_load_state()
    history = page.locator("table.history tbody tr")
    assert history.count() == 3
    assert "registered twice" in history.first.inner_text()
    assert "the title was incomplete" in history.nth(1).inner_text()
    assert page.locator("dd.state").inner_text() == t.gettext("cancelled")
    assert page.get_by_role("button", name=t.gettext("Rectify")).count() == 0
    with site.container.uow() as uow:
        current = current_version(uow.session, training.id)
        assert (current.version, current.cancelled) == (3, True)
        assert uow.session.get_one(Training, training.id).person_id is not None


def test_upload_an_example_batch_and_follow_it_to_done(
    page: Page, site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ILA_BATCH_SPOOL_DIR", str(tmp_path / "spool"))
    a, b = _employed_all_2024(site)
    text = (EXAMPLE / "submission-trainings.xml").read_text()
    text = text.replace("0900000147", EN).replace("90010190193", a).replace("90010190292", b)
    text = text.replace("2026-11-PAYROLL-0001", f"WEB-{uuid.uuid4().hex[:12]}")
    upload = tmp_path / "payroll.xml"
    upload.write_text(text)
    t = Translator("nl")
    refused: list[str] = []  # the pages' CSP is enforced here: HTMX polls within it
    page.on(
        "console",
        lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None,
    )
    choose_language(page, site, "nl")
    demo_login(page, site, "Demo: HR van de werkgever")
    page.goto(f"{site.base}/employer/{EN}")
    page.get_by_role("link", name=t.gettext("XML batches")).click()
    page.locator("input[type=file]").set_input_files(str(upload))
    page.get_by_role("button", name=t.gettext("Send")).click()
    page.wait_for_url(re.compile(r"/batches/[0-9a-f]{32}$"))
    # HTMX polls the status every 2 s until the batch is done
    expect(page.locator(".batch-status")).to_have_text(t.code("batch", "done"), timeout=15_000)
    assert page.locator("dd.accepted").inner_text() == "6"
    rows = page.locator("table.results tbody tr")
    assert rows.count() == 6
    assert "T-0002-R1" in rows.nth(3).inner_text()
    assert page.locator("header.top").count() == 1  # the fragment did not nest a page
    link = page.get_by_role("link", name=t.gettext("Download the result (XML)"))
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename.startswith("result-")
    assert refused == []

"""The PDF statement of the learning account through the web app (SQLite and PostgreSQL): the
person's figures, trainings and the translated headings read back from the PDF with pypdf, in
two languages; another person's data never in it; the download audited; refusals."""

from __future__ import annotations

import io
import re
from datetime import date
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import select

import ila
from ila.accounts.service import person_account
from ila.audit.models import AuditEvent
from ila.bootstrap import Container
from ila.demo.generator import DEMO_WORKER_NISS
from ila.identity.service import register_person
from ila.rights.service import compute_year
from ila.trainings.domain import DurationUnit, Nature, Source, Status, TrainingData
from ila.trainings.service import record_training
from ila.web.app import create_app
from ila.web.i18n import Translator
from tests import builders

ME = DEMO_WORKER_NISS  # the demo worker persona's national number
OTHER = builders.fake_niss(41)


def _token(client: TestClient) -> str:
    match = re.search(r'"X-CSRF-Token": "([^"]+)"', client.get("/login").text)
    assert match is not None
    return match.group(1)


def _login(client: TestClient, persona: str) -> None:
    response = client.post("/login/demo", data={"csrf_token": _token(client), "persona": persona})
    assert response.status_code == 303


@pytest.fixture
def client(container: Container) -> TestClient:
    return TestClient(
        create_app(container), follow_redirects=False, headers={"accept-language": "en"}
    )


def _train(container: Container, niss: str, en: str, title: str, rid: str, days: str) -> None:
    record_training(
        container.uow(),
        actor="t",
        source=Source.EMPLOYER,
        sender=en,
        sender_record_id=rid,
        national_number=niss,
        enterprise_number=en,
        data=TrainingData(
            title=title,
            provider="Bruxelles Formation",
            start_date=date(2024, 5, 13),
            end_date=date(2024, 5, 14),
            duration_value=Decimal(days),
            duration_unit=DurationUnit.DAYS,
            nature=Nature.FORMAL_EXTERNAL,
            status=Status.FOLLOWED,
            certificate="VCA-7731",
        ),
    )


def _dataset(container: Container) -> str:
    en = builders.employer(container, 41)
    register_person(
        container.uow(), national_number=ME, given_name="Zoë", family_name="Dupré-Müller"
    )
    register_person(
        container.uow(), national_number=OTHER, given_name="Otto", family_name="Ändersson"
    )
    builders.employ(container, ME, en)
    builders.employ(container, OTHER, en, fraction="0.5")
    compute_year(container, 2024)
    _train(container, ME, en, "Sécurité électrique", "S1", "2")
    _train(container, OTHER, en, "Geheimnisvolle Schulung", "S2", "1.5")
    return en


def _text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def _statement(client: TestClient, query: str) -> str:
    response = client.get(f"/account/statement.pdf?{query}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.content.startswith(b"%PDF-")
    return _text(response.content)


@pytest.mark.parametrize(
    ("lang", "headings"),
    [
        (
            "nl",
            (
                "Overzicht van de individuele leerrekening — 2024",
                "Mijn opleidingsrechten in 2024",
                "Recht",
                "Saldo",
                "Datum van uitgifte",
                "Pagina 1 van 1",
                "werkgever",  # the source of the training, in words
            ),
        ),
        (
            "de",
            (
                "Auszug des individuellen Lernkontos — 2024",
                "Meine Weiterbildungsansprüche 2024",
                "Anspruch",
                "Saldo",
                "Ausstellungsdatum",
                "Seite 1 von 1",
            ),
        ),
    ],
)
def test_the_statement_has_my_figures_in_my_language(
    client: TestClient, container: Container, lang: str, headings: tuple[str, ...]
) -> None:
    en = _dataset(container)
    _login(client, "worker")
    text = _statement(client, f"year=2024&lang={lang}")
    for heading in headings:
        assert heading in text
    assert "Zoë Dupré-Müller" in text  # accented letters embedded and extractable
    assert ME in text
    assert f"ila {ila.__version__}" in text
    assert "Sécurité électrique" in text
    assert "VCA-7731" in text
    account = person_account(container, ME, 2024)
    (part,) = account["employers"]
    assert part["employer"]["enterprise_number"] == en
    t = Translator(lang)
    days = t.gettext("%(days)s days", days="X")
    for name in ("entitlement", "used", "balance"):
        figure = days.replace("X", t.number(part[name]["days"]))
        assert figure in text, (name, figure)
    assert part["used"]["days"] == "2.00"
    assert t.date(part["expires_on"]) in text


def test_another_persons_data_never_appears(client: TestClient, container: Container) -> None:
    _dataset(container)
    _login(client, "worker")
    # no identifier can be given: a forged one is ignored, the statement is always the login's
    text = _statement(client, f"year=2024&lang=en&national_number={OTHER}")
    assert "Zoë Dupré-Müller" in text
    for trace in (OTHER, "Otto", "Ändersson", "Geheimnisvolle Schulung"):
        assert trace not in text


def test_the_download_is_in_the_audit_trail(client: TestClient, container: Container) -> None:
    _dataset(container)
    _login(client, "worker")
    _statement(client, "year=2024")  # the page's language (en) by default
    with container.uow() as uow:
        rows = uow.session.scalars(select(AuditEvent).where(AuditEvent.resource == "account")).all()
    assert [(r.action, r.subject_national_number) for r in rows] == [("statement", ME)]
    assert rows[0].actor == "web:demo:demo-worker"
    assert rows[0].details == {"year": 2024, "language": "en", "format": "pdf"}
    page = client.get("/account/consultations").text
    assert "downloaded the statement of the learning account" in page


def test_the_account_page_links_the_statement_and_the_career_break_page(
    client: TestClient, container: Container
) -> None:
    _dataset(container)
    _login(client, "worker")
    page = client.get("/account?year=2024").text
    assert 'action="/account/statement.pdf"' in page
    assert '<option value="en" lang="en" selected>' in page
    assert 'href="/account/career-break"' in page


def test_refusals(client: TestClient, container: Container) -> None:
    response = client.get("/account/statement.pdf")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/account/statement.pdf"
    _login(client, "worker")
    assert client.get("/account/statement.pdf").status_code == 404  # no account yet
    _dataset(container)
    response = client.get("/account/statement.pdf?year=2024&lang=xx")
    assert response.status_code == 400
    assert "unknown_code" in response.text
    _login(client, "operator")  # a login without a national number has no account
    assert client.get("/account/statement.pdf").status_code == 404

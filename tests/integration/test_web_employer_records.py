"""The employer's records pages through the ASGI app (SQLite and PostgreSQL): training rights
for a selection, the trainings list with rectify, cancel and history (a stale version loses
nothing), XML batch upload to its per-record results, CSV and XLSX exports; refusals by role,
company and CSRF; the audit rows of every read and change."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select

from ila.audit.models import AuditEvent
from ila.batch.config import BatchSettings
from ila.batch.service import work
from ila.bootstrap import Container
from ila.demo.generator import DEMO_EMPLOYER_CONSULTING, DEMO_EMPLOYER_PC200, DEMO_WORKER_NISS
from ila.employment.service import declare_quarter
from ila.identity.models import Person
from ila.identity.service import find_employer, register_employer, register_person
from ila.rights.models import RightVersion
from ila.rights.service import compute_year
from ila.trainings.domain import DurationUnit, Nature, Source, Status, TrainingData
from ila.trainings.service import current_version, record_training
from ila.web import employer_records, roles
from ila.web.app import create_app
from ila.web.i18n import Translator
from tests import builders

EN = DEMO_EMPLOYER_CONSULTING  # the "employer_hr" persona is an editor there
YEAR = 2025
EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "xml" / "examples"


def _token(client: TestClient, path: str = "/login") -> str:
    match = re.search(r'"X-CSRF-Token": "([^"]+)"', client.get(path).text)
    assert match is not None
    return match.group(1)


def _login(client: TestClient, persona: str) -> str:
    token = _token(client)
    response = client.post("/login/demo", data={"csrf_token": token, "persona": persona})
    assert response.status_code == 303
    return _token(client, "/employer")


@pytest.fixture
def client(container: Container) -> TestClient:
    return TestClient(
        create_app(container), follow_redirects=False, headers={"accept-language": "en"}
    )


@pytest.fixture
def world(container: Container) -> tuple[str, str]:
    """The consultancy with two workers and their computed 2025 rights."""
    register_employer(container.uow(), enterprise_number=EN, name="Consulting")
    for year, quarter in ((2023, q) for q in (1, 2, 3)):
        declare_quarter(
            container.uow(), enterprise_number=EN, year=year, quarter=quarter, fte=Decimal(15)
        )
    declare_quarter(container.uow(), enterprise_number=EN, year=2022, quarter=4, fte=Decimal(15))
    a, b = builders.person(container, 1), builders.person(container, 2)
    builders.employ(container, a, EN, jc="200")
    builders.employ(container, b, EN, jc="200")
    compute_year(container, YEAR)
    return a, b


def _training(container: Container, niss: str, title: str, record: str) -> int:
    return record_training(
        container.uow(),
        actor="test",
        source=Source.EMPLOYER,
        sender=EN,
        sender_record_id=record,
        national_number=niss,
        enterprise_number=EN,
        data=TrainingData(
            title=title,
            provider=None,
            start_date=date(YEAR, 3, 3),
            end_date=date(YEAR, 3, 4),
            duration_value=Decimal(8),
            duration_unit=DurationUnit.HOURS,
            nature=Nature.FORMAL_INTERNAL,
            status=Status.FOLLOWED,
        ).validate(),
    ).training_id


def _audited(container: Container, resource: str, action: str) -> list[str | None]:
    with container.uow() as uow:
        return list(
            uow.session.scalars(
                select(AuditEvent.subject_national_number)
                .where(
                    AuditEvent.resource == resource,
                    AuditEvent.action == action,
                    AuditEvent.actor == "web:demo:demo-employer_hr",
                )
                .order_by(AuditEvent.id)
            )
        )


def _current_right(container: Container, niss: str) -> RightVersion:
    with container.uow() as uow:
        right = uow.session.scalar(
            select(RightVersion)
            .join(Person, Person.id == RightVersion.person_id)
            .where(
                Person.national_number == niss,
                RightVersion.year == YEAR,
                RightVersion.superseded_at.is_(None),
            )
        )
        assert right is not None
        return right


# --- training rights -------------------------------------------------------------------------


def test_set_rights_for_a_selection_then_back_to_the_computed_value(
    client: TestClient, container: Container, world: tuple[str, str]
) -> None:
    a, b = world
    token = _login(client, "employer_hr")
    page = client.get(f"/employer/{EN}/rights?year={YEAR}")
    assert page.status_code == 200
    assert a in page.text
    assert b in page.text
    computed = _current_right(container, a).computed_days
    assert computed is not None
    assert sorted(_audited(container, "right", "read")) == sorted([a, b])
    form = {
        "csrf_token": token,
        "year": str(YEAR),
        "worker": [a, b],
        "days": "7,5",
        "reason": "company agreement",
    }
    done = client.post(f"/employer/{EN}/rights", data=form)
    assert done.status_code == 200
    assert done.text.count("changed") == 2
    for niss in (a, b):
        right = _current_right(container, niss)
        assert (right.set_days, right.set_reason) == (Decimal("7.5"), "company agreement")
        assert right.computed_days == computed  # the computed value stays, and is shown
    assert "7.5" in done.text
    assert f"{computed.normalize()}" in done.text.replace(",", ".")
    assert sorted(_audited(container, "right", "set")) == sorted([a, b])
    again = client.post(f"/employer/{EN}/rights", data={**form, "worker": [a]})
    assert "unchanged" in again.text
    back = client.post(f"/employer/{EN}/rights", data={**form, "worker": [a], "days": ""})
    assert back.status_code == 200
    assert _current_right(container, a).set_days is None
    assert _current_right(container, b).set_days == Decimal("7.5")


def test_rights_refusals_per_worker_and_for_the_form(
    client: TestClient, container: Container, world: tuple[str, str]
) -> None:
    a, _ = world
    token = _login(client, "employer_hr")
    base = {"csrf_token": token, "year": str(YEAR), "days": "3"}
    none = client.post(f"/employer/{EN}/rights", data={**base, "reason": "x"})
    assert none.status_code == 422
    assert "workers_required" in none.text
    stranger = builders.fake_niss(40)
    mixed = client.post(
        f"/employer/{EN}/rights",
        data={**base, "reason": "x", "worker": [a], "workers": f"{stranger}\nnot-a-number"},
    )
    assert mixed.status_code == 200
    assert "changed" in mixed.text
    assert "not_found" in mixed.text
    assert "invalid_national_number" in mixed.text
    no_reason = client.post(f"/employer/{EN}/rights", data={**base, "reason": " ", "worker": [a]})
    assert no_reason.status_code == 422
    assert "required" in no_reason.text
    bad_days = client.post(
        f"/employer/{EN}/rights", data={**base, "days": "-1", "reason": "x", "worker": [a]}
    )
    assert "out_of_range" in bad_days.text
    assert (
        client.post(f"/employer/{EN}/rights", data={"worker": [a], "reason": "x"}).status_code
        == 403
    )
    # a company the user has no role with is not found, like an unknown one
    assert client.get(f"/employer/{DEMO_EMPLOYER_PC200}/rights").status_code == 404
    assert client.get("/employer/0000000000/rights").status_code == 404


def _viewer(container: Container) -> None:
    register_person(
        container.uow(), national_number=DEMO_WORKER_NISS, given_name="Demo", family_name="W"
    )
    with container.uow() as uow:
        employer_id = find_employer(uow.session, EN).id
    roles.grant_role(
        container.uow(),
        employer_id=employer_id,
        national_number=DEMO_WORKER_NISS,
        role="viewer",
        actor="test",
    )


def test_a_viewer_reads_and_exports_but_changes_nothing(
    client: TestClient, container: Container, world: tuple[str, str]
) -> None:
    a, _ = world
    training_id = _training(container, a, "Excel", "v-1")
    _viewer(container)
    token = _login(client, "worker")
    rights = client.get(f"/employer/{EN}/rights?year={YEAR}")
    assert rights.status_code == 200
    assert 'name="worker"' not in rights.text
    assert '/rights" id' not in rights.text
    page = client.get(f"/employer/{EN}/trainings/{training_id}")
    assert page.status_code == 200
    assert "/rectify" not in page.text
    assert "/cancel" not in page.text
    assert 'enctype="multipart/form-data"' not in client.get(f"/employer/{EN}/batches").text
    assert client.get(f"/employer/{EN}/exports/rights.csv?year={YEAR}").status_code == 200
    data = {"csrf_token": token, "reason": "x", "version": "1", "cancel_reason": "x"}
    for path in (
        "/rights",
        f"/trainings/{training_id}/rectify",
        f"/trainings/{training_id}/cancel",
        "/batches",
    ):
        assert client.post(f"/employer/{EN}{path}", data=data).status_code == 404
    assert current_version_of(container, training_id) == 1


def current_version_of(container: Container, training_id: int) -> int:
    with container.uow() as uow:
        return current_version(uow.session, training_id).version


# --- trainings -------------------------------------------------------------------------------


def test_trainings_list_filters_and_pages(
    client: TestClient,
    container: Container,
    world: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    a, b = world
    first = _training(container, a, "Python for HR", "t-1")
    _training(container, b, "Negotiation", "t-2")
    _training(container, a, "First aid", "t-3")
    _login(client, "employer_hr")
    everything = client.get(f"/employer/{EN}/trainings")
    assert everything.status_code == 200
    assert all(t in everything.text for t in ("Python for HR", "Negotiation", "First aid"))
    only_b = client.get(f"/employer/{EN}/trainings", params={"worker": b})
    assert "Negotiation" in only_b.text
    assert "Python for HR" not in only_b.text
    planned = client.get(f"/employer/{EN}/trainings", params={"status": "planned"})
    assert "No training recorded." in planned.text
    later = client.get(f"/employer/{EN}/trainings", params={"from": f"{YEAR + 1}-01-01"})
    assert "No training recorded." in later.text
    unknown = client.get(f"/employer/{EN}/trainings", params={"worker": builders.fake_niss(50)})
    assert "No training recorded." in unknown.text
    bad = client.get(f"/employer/{EN}/trainings", params={"from": "2025-02-30"})
    assert bad.status_code == 400
    assert "invalid_date" in bad.text
    monkeypatch.setattr(employer_records, "TRAININGS_PAGE", 1)
    page1 = client.get(f"/employer/{EN}/trainings", params={"worker": a, "status": "followed"})
    assert "Python for HR" in page1.text
    assert "First aid" not in page1.text
    link = re.search(r'href="(\?[^"]*after=[^"]+)"', page1.text)
    assert link is not None
    assert "worker=" in link.group(1)
    page2 = client.get(f"/employer/{EN}/trainings" + link.group(1).replace("&amp;", "&"))
    assert "First aid" in page2.text
    assert "Python for HR" not in page2.text
    assert f'/trainings/{first}"' in page1.text


def test_rectify_then_cancel_with_history_and_a_stale_version_loses_nothing(
    client: TestClient, container: Container, world: tuple[str, str]
) -> None:
    a, _ = world
    training_id = _training(container, a, "Welding", "r-1")
    token = _login(client, "employer_hr")
    path = f"/employer/{EN}/trainings/{training_id}"
    form = {
        "csrf_token": token,
        "version": "1",
        "title": "Welding, level 2",
        "start_date": f"{YEAR}-03-03",
        "end_date": f"{YEAR}-03-05",
        "duration": "20",
        "unit": "hours",
        "nature": "formal_external",
        "status": "followed",
        "reason": "three days, not two",
    }
    done = client.post(f"{path}/rectify", data=form)
    assert (done.status_code, done.headers["location"]) == (303, f"{path}?done=rectified")
    page = client.get(done.headers["location"])
    assert "Welding, level 2" in page.text
    assert "three days, not two" in page.text
    assert 'id="duration" name="duration" inputmode="decimal" required value="20"' in page.text
    assert current_version_of(container, training_id) == 2
    # a second person still holds version 1: refused, their input kept, nothing saved
    stale = client.post(f"{path}/rectify", data={**form, "title": "My other title"})
    assert stale.status_code == 409
    assert "stale_version" in stale.text
    assert "Someone else changed this training" in stale.text
    assert 'value="My other title"' in stale.text
    assert current_version_of(container, training_id) == 2
    invalid = client.post(f"{path}/rectify", data={**form, "version": "2", "duration": "lots"})
    assert invalid.status_code == 422
    assert "invalid_duration" in invalid.text
    no_reason = client.post(
        f"{path}/cancel", data={"csrf_token": token, "version": "2", "cancel_reason": ""}
    )
    assert no_reason.status_code == 422
    cancel = {"csrf_token": token, "version": "2", "cancel_reason": "registered twice"}
    cancelled = client.post(f"{path}/cancel", data=cancel)
    assert cancelled.status_code == 303
    history = client.get(cancelled.headers["location"])
    assert "registered twice" in history.text
    assert history.text.count("<tr><td>") == 3
    assert "/rectify" not in history.text  # a cancelled training is not changed any more
    twice = client.post(f"{path}/cancel", data={**cancel, "version": "3"})
    assert twice.status_code == 409
    assert "already_cancelled" in twice.text
    for action in ("rectify", "cancel", "history"):
        assert a in _audited(container, "training", action)
    # another employer's training is not found, exactly like an unknown one
    assert client.get(f"/employer/{EN}/trainings/999999").status_code == 404
    assert client.post(f"/employer/{EN}/trainings/999999/cancel", data=cancel).status_code == 404


# --- XML batches -----------------------------------------------------------------------------


def _example(a: str, b: str) -> bytes:
    text = (EXAMPLES / "submission-trainings.xml").read_text()
    text = text.replace("0900000147", EN).replace("90010190193", a).replace("90010190292", b)
    return text.replace("<year>2024</year>", f"<year>{YEAR}</year>").encode()


def test_upload_a_batch_and_follow_it_to_its_results(
    client: TestClient,
    container: Container,
    world: tuple[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ILA_BATCH_SPOOL_DIR", str(tmp_path / "spool"))
    a, b = world
    token = _login(client, "employer_hr")
    assert "No batch sent yet." in client.get(f"/employer/{EN}/batches").text
    sent = client.post(
        f"/employer/{EN}/batches",
        data={"csrf_token": token},
        files={"file": ("payroll.xml", _example(a, b), "application/xml")},
    )
    assert sent.status_code == 303
    status_path = sent.headers["location"]
    ticket = status_path.rsplit("/", 1)[1]
    if not container.settings.is_sqlite:  # PostgreSQL: the queue workers' job
        waiting = client.get(status_path)
        assert 'hx-trigger="every 2s"' in waiting.text
        assert "Reload" in waiting.text
        work(container, BatchSettings())
    page = client.get(status_path)
    assert page.status_code == 200
    assert re.search(r'class="batch-status">done<', page.text)
    assert "hx-trigger" not in page.text  # finished: no more polling
    assert page.text.count('<tr class="accepted">') == 6
    assert "T-0002-R1" in page.text
    assert "trainingRectify" in page.text
    fragment = client.get(status_path, headers={"hx-request": "true"})
    assert fragment.text.startswith('<div id="batch"')
    assert "<html" not in fragment.text
    result = client.get(f"{status_path}/result.xml")
    assert result.status_code == 200
    assert result.headers["content-type"].startswith("application/xml")
    assert f'ticket="{ticket}"' in result.text
    assert 'accepted="6"' in result.text
    assert "payroll.xml" in client.get(f"/employer/{EN}/batches").text
    # the same file again: the earlier batch
    again = client.post(
        f"/employer/{EN}/batches",
        data={"csrf_token": token},
        files={"file": ("payroll.xml", _example(a, b), "application/xml")},
    )
    assert again.headers["location"] == f"{status_path}?duplicate=1"
    # another sender's ticket is not found; so is another company's page
    _viewer(container)
    other = TestClient(create_app(container), follow_redirects=False)
    _login(other, "access_admin")
    assert other.get(f"/employer/{DEMO_EMPLOYER_PC200}/batches/{ticket}").status_code == 404
    assert client.get(f"/employer/{DEMO_EMPLOYER_PC200}/batches/{ticket}").status_code == 404


def test_batch_upload_refusals(
    client: TestClient,
    container: Container,
    world: tuple[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ILA_BATCH_SPOOL_DIR", str(tmp_path / "spool"))
    monkeypatch.setenv("ILA_BATCH_MAX_FILE_BYTES", "1024")
    token = _login(client, "employer_hr")
    url = f"/employer/{EN}/batches"
    large = client.post(url, data={"csrf_token": token}, files={"file": ("big.xml", b"<" * 70_000)})
    assert large.status_code == 413
    assert "file_too_large" in large.text
    forged = client.post(url, files={"file": ("a.xml", b"<a/>")})
    assert forged.status_code == 403
    missing = client.post(url, data={"csrf_token": token})
    assert missing.status_code == 400
    assert "file_required" in missing.text
    broken = client.post(url, data={"csrf_token": token}, files={"file": ("a.xml", b"not xml")})
    assert broken.status_code == 303
    page = client.get(broken.headers["location"])
    assert re.search(r'class="batch-status">failed<', page.text)
    assert "The whole file was refused" in page.text
    assert client.get(f"{url}/{'0' * 32}").status_code == 404


# --- exports ---------------------------------------------------------------------------------


def test_exports_in_csv_and_xlsx_with_translated_headers_and_audit(
    client: TestClient, container: Container, world: tuple[str, str]
) -> None:
    a, b = world
    _training(container, a, '=HYPERLINK("http://evil")', "x-1")
    _training(container, b, "Negotiation", "x-2")
    _login(client, "employer_hr")
    client.cookies.set("ila_lang", "fr")
    rights = client.get(f"/employer/{EN}/exports/rights.csv?year={YEAR}")
    assert rights.status_code == 200
    assert rights.headers["content-type"].startswith("text/csv")
    assert f"ila-rights-{EN}-{YEAR}.csv" in rights.headers["content-disposition"]
    assert rights.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(rights.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][0] == Translator("fr").gettext("National number") != "National number"
    assert len(rows) == 3
    assert sorted(r[0] for r in rows[1:]) == sorted([a, b])
    assert all("," in r[3] or r[3].isdigit() for r in rows[1:])  # decimal comma
    assert sorted(n for n in _audited(container, "right", "read") if n) == sorted([a, b])
    trainings = client.get(f"/employer/{EN}/exports/trainings.csv")
    lines = list(csv.reader(io.StringIO(trainings.content.decode("utf-8-sig")), delimiter=";"))
    assert len(lines) == 3
    assert '\'=HYPERLINK("http://evil")' in [line[2] for line in lines]  # never a formula
    book = client.get(f"/employer/{EN}/exports/trainings.xlsx", params={"worker": a})
    assert book.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(book.content)).active
    assert sheet is not None
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][2] == Translator("fr").gettext("Title") != "Title"
    assert len(values) == 2
    title_cell = sheet.cell(row=2, column=3)
    assert title_cell.data_type == "s"
    assert title_cell.value == '=HYPERLINK("http://evil")'
    assert values[1][6] == 8  # a number, not a text
    xlsx = client.get(f"/employer/{EN}/exports/rights.xlsx?year={YEAR}")
    assert load_workbook(io.BytesIO(xlsx.content)).active.max_row == 3  # type: ignore[union-attr]
    assert a in _audited(container, "training", "list")
    assert client.get(f"/employer/{EN}/exports/rights.pdf").status_code == 404
    assert client.get(f"/employer/{DEMO_EMPLOYER_PC200}/exports/rights.csv").status_code == 404

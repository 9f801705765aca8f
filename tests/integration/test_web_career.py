"""The career-break / time-credit page of the logged-in person through the web app (SQLite and
PostgreSQL): ONEM's counters per reason and regime in the page's language, the preconditions
checked before ONEM is asked, and **never stored** — every table is read before and after:
only the audit trail changes, by one entry that holds none of the counters."""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection, inspect, select, text

from ila.audit.models import AuditEvent
from ila.bootstrap import Container
from ila.demo.generator import DEMO_WORKER_NISS
from ila.sources.employment import DeclaredEmployment, Sector, SimulatedEmploymentSource
from ila.sources.onem import (
    BreakCounter,
    BreakReason,
    BreakRegime,
    CareerBreakCounters,
    SimulatedCareerBreaks,
    SimulatedUnemployment,
    WhyNone,
)
from ila.sources.registry import Sources
from ila.web.app import create_app
from tests.builders import fake_enterprise

ME = DEMO_WORKER_NISS  # the demo worker persona, born in 1988
DISTINCT = Decimal("17.25")  # a counter value found nowhere else
AUDIT_TABLES = {"audit_events", "audit_chain_head"}


def _login(client: TestClient, persona: str) -> None:
    match = re.search(r'"X-CSRF-Token": "([^"]+)"', client.get("/login").text)
    assert match is not None
    response = client.post("/login/demo", data={"csrf_token": match.group(1), "persona": persona})
    assert response.status_code == 303


def _employment(sector: Sector | None) -> SimulatedEmploymentSource:
    source = SimulatedEmploymentSource()
    if sector is None:
        return source
    en = source.add_employer(fake_enterprise(51), "Employer", sector=sector)
    source.declare(
        DeclaredEmployment(
            line_id="l1",
            enterprise_number=en,
            national_number=ME,
            given_name="A",
            family_name="B",
            start_date=date(2020, 1, 1),
            joint_committee="200",
            fractions=((date(2020, 1, 1), Decimal(1)),),
        )
    )
    return source


def _onem() -> SimulatedCareerBreaks:
    onem = SimulatedCareerBreaks()
    onem.set_counters(
        CareerBreakCounters(
            ME,
            (
                BreakCounter(BreakReason.PALLIATIVE_CARE, BreakRegime.FULL_TIME, DISTINCT),
                BreakCounter(
                    BreakReason.SICK_MINOR_CHILD,
                    BreakRegime.ONE_TENTH,
                    None,
                    WhyNone.REGIME_NOT_ALLOWED,
                ),
            ),
        )
    )
    return onem


def _app(container: Container, sector: Sector | None) -> tuple[FastAPI, Sources]:
    app = create_app(container)
    sources = Sources(_employment(sector), SimulatedUnemployment(), _onem())
    app.state.sources = sources
    return app, sources


def _dump(connection: Connection) -> dict[str, list[str]]:
    """Every row of every table of the database, as text."""
    dump: dict[str, list[str]] = {}
    for table in sorted(inspect(connection).get_table_names()):
        rows = connection.execute(text(f'SELECT * FROM "{table}"')).all()  # noqa: S608
        dump[table] = sorted(json.dumps([str(v) for v in row]) for row in rows)
    return dump


def _lookups(container: Container) -> list[AuditEvent]:
    with container.uow() as uow:
        return list(
            uow.session.scalars(select(AuditEvent).where(AuditEvent.resource == "career_break"))
        )


def test_the_possibilities_are_shown_and_never_stored(
    container: Container, connection: Connection
) -> None:
    app, sources = _app(container, Sector.PUBLIC)
    client = TestClient(app, follow_redirects=False, headers={"accept-language": "de"})
    _login(client, "worker")
    before = _dump(connection)
    assert before.keys() >= AUDIT_TABLES
    assert "fpie_computations" in before  # every table is read, including the flows'

    page = client.get("/account/career-break")

    after = _dump(connection)
    assert page.status_code == 200
    assert "<h1>Laufbahnunterbrechung und Zeitkredit</h1>" in page.text
    assert "Palliativpflege" in page.text
    assert "17,25 Monate" in page.text  # German number format
    assert "Pflege eines schwer kranken minderjährigen Kindes" in page.text
    assert "Diese Regelung ist für diesen Grund nicht möglich" in page.text
    assert sources.career_breaks.calls == [("counters", ME)]  # type: ignore[attr-defined]
    # nothing changed but the audit trail: one entry, without any counter
    assert {k: v for k, v in after.items() if k not in AUDIT_TABLES} == {
        k: v for k, v in before.items() if k not in AUDIT_TABLES
    }
    assert len(after["audit_events"]) == len(before["audit_events"]) + 1
    stored = json.dumps(after)
    for trace in ("17.25", "17,25", "palliative_care", "sick_minor_child", "regime_not_allowed"):
        assert trace not in stored
    (entry,) = _lookups(container)
    assert (entry.action, entry.subject_national_number) == ("lookup", ME)
    assert entry.legal_context == "csi-24-012-career-break"
    assert entry.details == {"onem_asked": True, "precondition": None}
    consultations = client.get("/account/consultations").text
    assert "hat die Möglichkeiten der Laufbahnunterbrechung beim LfA abgefragt" in consultations


def test_the_default_sources_know_the_demo_worker(container: Container) -> None:
    """Without sources given to the app, the simulators answer; they know the demo dataset's
    employments, so the demo worker sees her possibilities (ONEM asked, nothing stored)."""
    app, _sources = _app(container, None)
    del app.state.sources
    client = TestClient(app, follow_redirects=False, headers={"accept-language": "nl"})
    _login(client, "worker")
    page = client.get("/account/career-break")
    assert page.status_code == 200
    assert "Deze mogelijkheden kunnen niet worden getoond" not in page.text
    assert "<dl" in page.text  # the counters
    (entry,) = _lookups(container)
    assert entry.details == {"onem_asked": True, "precondition": None}


def test_without_a_sector_onem_is_not_asked(container: Container) -> None:
    """No public- or private-sector career: the reason is shown and ONEM is never asked."""
    app, sources = _app(container, None)
    client = TestClient(app, follow_redirects=False, headers={"accept-language": "nl"})
    _login(client, "worker")
    page = client.get("/account/career-break")
    assert page.status_code == 200
    assert "Deze mogelijkheden kunnen niet worden getoond" in page.text
    assert "Er is geen tewerkstelling in de openbare of privésector gekend" in page.text
    assert "<dl" not in page.text  # no counter at all
    assert sources.career_breaks.calls == []  # type: ignore[attr-defined]
    (entry,) = _lookups(container)
    assert entry.details == {"onem_asked": False, "precondition": "no_sector"}


def test_only_a_logged_in_person(container: Container) -> None:
    app, sources = _app(container, Sector.PRIVATE)
    client = TestClient(app, follow_redirects=False)
    response = client.get("/account/career-break")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/account/career-break"
    _login(client, "employer_hr")  # no national number: no learning account
    assert client.get("/account/career-break").status_code == 404
    assert sources.career_breaks.calls == []  # type: ignore[attr-defined]
    assert _lookups(container) == []

"""The dashboard's per-worker table through the ASGI app (SQLite and PostgreSQL): sorted and
paged on the server, 50 workers a page, next/previous links that work as plain links and as
HTMX fragments, and an audit row for the workers of the page shown only."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy import select

from ila.audit.models import AuditEvent
from ila.bootstrap import Container
from ila.demo.generator import DEMO_EMPLOYER_PC200
from ila.employment.service import declare_quarter
from ila.identity.service import register_employer
from ila.rights.service import compute_year
from ila.web.app import create_app
from ila.web.pages import DASHBOARD_PAGE
from tests import builders

YEAR = 2024
WORKERS = DASHBOARD_PAGE + 3


def _token(client: TestClient) -> str:
    match = re.search(r'"X-CSRF-Token": "([^"]+)"', client.get("/login").text)
    assert match is not None
    return match.group(1)


def _rows(html: str) -> list[str]:
    """The workers' national numbers in the order of the table."""
    return re.findall(r'<tr><th scope="row"><a href="/employer/[^/]+/worker/(\d+)\?', html)


def _link(html: str, rel: str) -> str | None:
    match = re.search(rf'<a href="([^"]+)" hx-get="\1"[^>]* rel="{rel}">', html)
    return match.group(1).replace("&amp;", "&") if match else None


def test_the_worker_table_is_paged_and_sorted_on_the_server(container: Container) -> None:
    register_employer(container.uow(), enterprise_number=DEMO_EMPLOYER_PC200, name="Paged")
    numbers, late_starters = [], set()
    for n in range(WORKERS):
        niss = builders.person(container, 100 + n)
        # three start late in the year: fewer days, the smallest balances
        late = n % 20 == 7
        start = date(YEAR, 10, 1) if late else date(YEAR, 1, 1)
        builders.employ(container, niss, DEMO_EMPLOYER_PC200, start=start)
        numbers.append(niss)
        if late:
            late_starters.add(niss)
    compute_year(container, YEAR)
    numbers.sort()
    assert len(late_starters) == 3
    with TestClient(create_app(container), headers={"accept-language": "en"}) as client:
        client.post("/login/demo", data={"csrf_token": _token(client), "persona": "employer_hr"})
        first = client.get(f"/employer/{DEMO_EMPLOYER_PC200}?year={YEAR}")
        assert first.status_code == 200
        assert _rows(first.text) == numbers[:DASHBOARD_PAGE]
        assert f"Workers 1 to {DASHBOARD_PAGE} of {WORKERS}" in first.text
        assert _link(first.text, "prev") is None
        after = _link(first.text, "next")
        assert after == f"/employer/{DEMO_EMPLOYER_PC200}?year={YEAR}&offset={DASHBOARD_PAGE}"
        # the same link as an HTMX request: the fragment only, with the rest of the list
        second = client.get(after, headers={"HX-Request": "true"})
        assert "<header" not in second.text
        assert second.text.lstrip().startswith("<h2>")
        assert _rows(second.text) == numbers[DASHBOARD_PAGE:]
        assert _link(second.text, "next") is None
        assert _link(second.text, "prev") == f"/employer/{DEMO_EMPLOYER_PC200}?year={YEAR}"
        # largest balance first: the three late starters come last
        by_balance = client.get(f"/employer/{DEMO_EMPLOYER_PC200}?year={YEAR}&order=balance")
        assert 'aria-sort="descending"' in by_balance.text
        assert set(_rows(by_balance.text)).isdisjoint(late_starters)
        following = _link(by_balance.text, "next")
        assert following is not None
        assert "order=balance" in following
        last = client.get(following, headers={"HX-Request": "true"}).text
        assert set(_rows(last)) == late_starters
        # a malformed or unknown order and offset show the first page by national number
        odd = client.get(f"/employer/{DEMO_EMPLOYER_PC200}?year={YEAR}&order=x&offset=-4")
        assert _rows(odd.text) == numbers[:DASHBOARD_PAGE]
        # past the end: no rows, and "previous" leads to the last page
        beyond = client.get(f"/employer/{DEMO_EMPLOYER_PC200}?year={YEAR}&offset=500")
        assert _rows(beyond.text) == []
        assert f"Workers 0 to 0 of {WORKERS}" in beyond.text
        assert _link(beyond.text, "prev") == (
            f"/employer/{DEMO_EMPLOYER_PC200}?year={YEAR}&offset={DASHBOARD_PAGE}"
        )
    with container.uow() as uow:
        audited = uow.session.scalars(
            select(AuditEvent.subject_national_number)
            .where(AuditEvent.resource == "dashboard")
            .order_by(AuditEvent.seq)
        ).all()
    # one row per worker shown, page by page: 50 + 3 + 50 + 3 + 50 (+ 0 past the end)
    assert len(audited) == 3 * DASHBOARD_PAGE + 6
    assert audited[DASHBOARD_PAGE : DASHBOARD_PAGE + 3] == numbers[DASHBOARD_PAGE:]


def test_the_dashboard_shows_the_size_band_with_its_derivation(container: Container) -> None:
    """2025 belongs to the period 2024–25, whose band comes from the average FTE declared for
    the reference quarters 2022-Q4 to 2023-Q3 (12 → 10 to 19 workers), in the user's language."""
    register_employer(container.uow(), enterprise_number=DEMO_EMPLOYER_PC200, name="Sized")
    for year, quarter in ((2022, 4), (2023, 1), (2023, 2), (2023, 3)):
        declare_quarter(
            container.uow(),
            enterprise_number=DEMO_EMPLOYER_PC200,
            year=year,
            quarter=quarter,
            fte=Decimal(12),
        )
    with TestClient(create_app(container), headers={"accept-language": "nl"}) as client:
        client.post("/login/demo", data={"csrf_token": _token(client), "persona": "employer_hr"})
        page = client.get(f"/employer/{DEMO_EMPLOYER_PC200}?year=2025")
    assert page.status_code == 200
    size = page.text.split('<h3 id="size-title">', 1)[1].split("</section>", 1)[0]
    assert "2024–2025" in size
    assert "10 tot 19 werknemers" in size
    assert "<dd>12</dd>" in size
    assert "2022-Q4, 2023-Q1, 2023-Q2, 2023-Q3" in size

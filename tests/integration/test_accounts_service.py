"""Read use cases on a small hand-computed dataset (SQLite and PostgreSQL): an employer's
workers page by page, its headcount, its dashboard, and a person's account across employers.

Employer A and B, 40 FTE declared (band ≥ 20: 5 days a year for a full-time full year):
  P1  A full time, all 2024, JC 226 → 5 days; 2 days followed ending 15 March (Q1)
      B full time, all 2024, JC 226 → 5 days; 3 days followed ending 20 August
  P2  A half time, all 2024, JC 111 → 2.5 days; 1 day followed ending 10 May (Q2)
  P3  A full time from 1 July 2024, JC 226 → 2.5 days; a planned day only (counts nothing)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import event

from ila.accounts.service import (
    decode_cursor,
    employer_dashboard,
    employer_headcount,
    employer_workers,
    person_account,
)
from ila.bootstrap import Container
from ila.errors import InvalidPeriod, NotFound, ValidationError
from ila.identity.service import find_employer
from ila.rights.service import compute_year, explain
from ila.trainings.domain import DurationUnit, Nature, Source, Status, TrainingData
from ila.trainings.service import record_training
from tests import builders


@dataclass(frozen=True)
class Dataset:
    a: str
    b: str
    p1: str
    p2: str
    p3: str


def train(
    container: Container,
    niss: str,
    en: str,
    end: date,
    days: str,
    rid: str,
    status: Status = Status.FOLLOWED,
) -> None:
    record_training(
        container.uow(),
        actor="t",
        source=Source.EMPLOYER,
        sender=en,
        sender_record_id=rid,
        national_number=niss,
        enterprise_number=en,
        data=TrainingData(
            title=f"Course {rid}",
            provider=None,
            start_date=end,
            end_date=end,
            duration_value=Decimal(days),
            duration_unit=DurationUnit.DAYS,
            nature=Nature.FORMAL_INTERNAL,
            status=status,
        ),
    )


def dataset(container: Container) -> Dataset:
    a = builders.employer(container, 11)
    b = builders.employer(container, 12)
    p1, p2, p3 = (builders.person(container, n) for n in (11, 12, 13))
    builders.employ(container, p1, a)
    builders.employ(container, p1, b)
    builders.employ(container, p2, a, fraction="0.5", jc="111")
    builders.employ(container, p3, a, start=date(2024, 7, 1))
    compute_year(container, 2024)
    train(container, p1, a, date(2024, 3, 15), "2", "A1")
    train(container, p2, a, date(2024, 5, 10), "1", "A2")
    train(container, p3, a, date(2024, 11, 5), "1", "A3", Status.PLANNED)
    train(container, p1, b, date(2024, 8, 20), "3", "B1")
    return Dataset(a, b, p1, p2, p3)


def _employer_id(container: Container, en: str) -> int:
    with container.uow() as uow:
        return find_employer(uow.session, en).id


def test_workers_page_by_page(container: Container) -> None:
    d = dataset(container)
    a = _employer_id(container, d.a)
    first = employer_workers(container, a, 2024, limit=2, today=date(2024, 12, 1))
    assert [w["national_number"] for w in first["items"]] == [d.p1, d.p2]
    assert first["items"][1]["work_fraction"] == "0.5"
    assert first["items"][0]["joint_committee"] == "226"
    second = employer_workers(container, a, 2024, cursor=first["next_cursor"], limit=2)
    assert [w["national_number"] for w in second["items"]] == [d.p3]
    assert second["items"][0]["start_date"] == date(2024, 7, 1)
    assert second["next_cursor"] is None
    assert employer_workers(container, a, 2023)["items"] == []
    with pytest.raises(ValidationError) as bad:
        employer_workers(container, a, 2024, cursor="not-a-cursor")
    assert bad.value.code == "invalid_cursor"
    assert decode_cursor("employment", None) == 0


def test_headcount_with_derivation(container: Container) -> None:
    d = dataset(container)
    hc = employer_headcount(container, container.rules, _employer_id(container, d.a), 2024)
    assert hc["band"] == "ge20"
    assert hc["fte"] == {"exact": "40", "value": "40.00"}
    assert hc["reference_quarters"][0] == {"year": 2022, "quarter": 4}
    assert hc["derivation"]
    with pytest.raises(InvalidPeriod):
        employer_headcount(container, container.rules, _employer_id(container, d.a), 2025)


def test_dashboard_against_hand_computed_figures(container: Container) -> None:
    d = dataset(container)
    board = employer_dashboard(container, container.rules, _employer_id(container, d.a), 2024)
    days = {k: v["days"] for k, v in board["totals"].items()}
    assert days == {
        "entitlement": "10.00",
        "carried_in": "0.00",
        "used": "3.00",
        "balance": "7.00",
        "expiring": "0.00",
    }
    assert board["totals"]["entitlement"]["exact"] == "10"
    assert board["workers"] == board["by_worker_total"] == 3
    per_worker = {
        w["national_number"]: (w["entitlement"]["days"], w["used"]["days"])
        for w in board["by_worker"]
    }
    assert per_worker == {d.p1: ("5.00", "2.00"), d.p2: ("2.50", "1.00"), d.p3: ("2.50", "0.00")}
    committees = {
        c["joint_committee"]: (c["workers"], c["entitlement"]["days"], c["used"]["days"])
        for c in board["by_joint_committee"]
    }
    assert committees == {"111": (1, "2.50", "1.00"), "226": (2, "7.50", "2.00")}
    assert [q["used"]["days"] for q in board["used_per_quarter"]] == [
        "2.00",
        "1.00",
        "0.00",
        "0.00",
    ]
    assert [p["national_number"] for p in board["without_training"]] == [d.p3]
    capped = employer_dashboard(
        container, container.rules, _employer_id(container, d.a), 2024, workers_limit=1
    )
    assert (len(capped["by_worker"]), capped["by_worker_total"]) == (1, 3)
    # per worker, the dashboard agrees with the ledger explain() shows
    ledger = explain(container, d.p2, d.a, 2024)["ledger"][-1]
    assert ledger["balance"]["days"] == per_balance(board, d.p2)


def per_balance(board: dict[str, object], niss: str) -> str:
    rows = board["by_worker"]
    assert isinstance(rows, list)
    return str(next(r["balance"]["days"] for r in rows if r["national_number"] == niss))


def test_person_account_across_employers(container: Container) -> None:
    d = dataset(container)
    account = person_account(container, d.p1, 2024)
    parts = {p["employer"]["enterprise_number"]: p for p in account["employers"]}
    assert set(parts) == {d.a, d.b}
    assert (parts[d.a]["balance"]["days"], parts[d.b]["balance"]["days"]) == ("3.00", "2.00")
    assert parts[d.a]["expires_on"] == parts[d.b]["expires_on"]
    assert {k: v["days"] for k, v in account["totals"].items()} == {
        "entitlement": "10.00",
        "carried_in": "0.00",
        "used": "5.00",
        "balance": "5.00",
        "expiring": "0.00",
    }
    assert [t["title"] for t in account["trainings"]] == ["Course B1", "Course A1"]  # newest first
    assert account["trainings"][0]["employer"] == d.b


def test_employer_part_only_and_no_existence_leak(container: Container) -> None:
    d = dataset(container)
    a = _employer_id(container, d.a)
    with container.uow() as uow:  # a session works as well as a container
        mine = person_account(uow.session, d.p1, 2024, employer_id=a)
    assert [p["employer"]["enterprise_number"] for p in mine["employers"]] == [d.a]
    assert [t["title"] for t in mine["trainings"]] == ["Course A1"]
    assert mine["totals"]["used"]["days"] == "2.00"
    outsider = builders.person(container, 14)
    builders.employ(container, outsider, d.b)
    messages = set()
    for niss in (outsider, builders.fake_niss(40)):
        with pytest.raises(NotFound) as hidden:
            person_account(container, niss, 2024, employer_id=a)
        messages.add(hidden.value.message)
    assert len(messages) == 1
    with pytest.raises(NotFound):
        person_account(container, builders.fake_niss(40), 2024)


def test_departure_expiring_days_and_a_fixed_number_of_queries(container: Container) -> None:
    """A resignation on 30 June 2024: 5 × 6/12 = 2.5 days, 0.5 used, 2 days lost on the end
    date. The dashboard agrees with explain() and reads the same number of times whether the
    employer has 2 workers or 6."""
    en = builders.employer(container, 21)
    leaver, stayer = builders.person(container, 21), builders.person(container, 22)
    builders.employ(
        container, leaver, en, end=date(2024, 6, 30), end_reason="resignation", jc="226"
    )
    builders.employ(container, stayer, en)
    compute_year(container, 2024)
    train(container, leaver, en, date(2024, 2, 1), "0.5", "L1")
    employer_id = _employer_id(container, en)

    def statements() -> int:
        count = 0

        def tick(*_: object) -> None:
            nonlocal count
            count += 1

        with container.uow() as uow:
            connection = uow.session.connection()
            event.listen(connection, "before_cursor_execute", tick)
            try:
                board = employer_dashboard(uow.session, container.rules, employer_id, 2024)
            finally:
                event.remove(connection, "before_cursor_execute", tick)
        rows = {r["national_number"]: r for r in board["by_worker"]}
        assert rows[leaver]["expiring"]["days"] == "2.00"
        assert rows[leaver]["departure"] == "forfeited"
        assert rows[leaver]["expires_on"] == date(2024, 6, 30)
        return count

    few = statements()
    ledger = explain(container, leaver, en, 2024)["ledger"][-1]
    assert (ledger["expiring"]["days"], ledger["departure"]) == ("2.00", "forfeited")
    for n in range(23, 27):
        builders.employ(container, builders.person(container, n), en)
    compute_year(container, 2024)
    assert statements() == few

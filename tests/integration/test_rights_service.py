from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from ila.bootstrap import Container
from ila.errors import InvalidPeriod, NotFound
from ila.identity.service import find_person
from ila.rights.models import RightVersion
from ila.rights.service import SetRight, compute_year, explain, set_rights
from ila.trainings.domain import DurationUnit, Nature, Source, Status, TrainingData
from ila.trainings.service import record_training
from tests import builders


def _rights(container: Container, niss: str, year: int) -> list[RightVersion]:
    with container.uow() as uow:
        person = find_person(uow.session, niss)
        return list(
            uow.session.scalars(
                select(RightVersion)
                .where(RightVersion.person_id == person.id, RightVersion.year == year)
                .order_by(RightVersion.version)
            )
        )


def test_worked_example_through_the_database(container: Container) -> None:
    """40 FTE, 80 %, hired 29 March 2024 → 5 × 0.8 × 10/12 = 3.3333 days."""
    en = builders.employer(container, fte="40")
    niss = builders.person(container)
    builders.employ(container, niss, en, start=date(2024, 3, 29), fraction="0.8")
    report = compute_year(container, 2024)
    assert (report.created, report.updated, report.unchanged, report.errors) == (1, 0, 0, [])
    (right,) = _rights(container, niss, 2024)
    assert right.computed_days == Decimal("3.3333")
    assert right.derivation is not None
    assert right.derivation["total"] == "10/3"
    assert right.regime_id == "statutory.ge20.2024"


def test_recompute_without_change_adds_no_version(container: Container) -> None:
    en = builders.employer(container, fte="19.9")
    niss = builders.person(container)
    builders.employ(container, niss, en)
    compute_year(container, 2024)
    again = compute_year(container, 2024)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)
    (right,) = _rights(container, niss, 2024)
    assert right.computed_days == Decimal("1.0000")  # 19.9 FTE: band 10–19 → 1 day


def test_correction_of_inputs_creates_a_new_version(container: Container) -> None:
    en = builders.employer(container, fte="20.0")
    niss = builders.person(container)
    emp = builders.employ(container, niss, en)
    compute_year(container, 2024)
    from ila.employment.service import end_employment

    end_employment(container.uow(), emp, end_date=date(2024, 6, 10), end_reason="dismissal")
    report = compute_year(container, 2024)
    assert report.updated == 1
    first, second = _rights(container, niss, 2024)
    assert (first.computed_days, second.computed_days) == (Decimal("5.0000"), Decimal("2.5000"))
    assert first.superseded_at == second.recorded_at
    assert second.version == 2


def test_set_rights_for_many_workers_keeps_valid_items(container: Container) -> None:
    en = builders.employer(container, fte="40")
    a, b = builders.person(container, 1), builders.person(container, 2)
    outsider = builders.person(container, 3)
    builders.employ(container, a, en)
    builders.employ(container, b, en, fraction="0.5")
    compute_year(container, 2024)
    results = set_rights(
        container,
        enterprise_number=en,
        actor="hr",
        items=[
            SetRight(a, 2024, "6", "company policy: one extra day"),
            SetRight("85073003329", 2024, "2", "typo in number"),
            SetRight(b, 2024, "-1", "negative"),
            SetRight(b, 2024, "3", " "),
            SetRight(outsider, 2024, "3", "not employed here"),
            SetRight(b, 2024, "3", "sector agreement"),
        ],
    )
    assert [r.status for r in results] == [
        "accepted",
        "rejected",
        "rejected",
        "rejected",
        "rejected",
        "accepted",
    ]
    errors = [r.error for r in results if r.error]
    assert [(e["code"], e["path"]) for e in errors] == [
        ("invalid_national_number", "items[1].national_number"),
        ("out_of_range", "items[2].days"),
        ("required", "items[3].reason"),
        ("not_found", "items[4].national_number"),
    ]
    computed, changed = _rights(container, a, 2024)
    assert (changed.set_days, changed.computed_days) == (Decimal("6.0000"), Decimal("5.0000"))
    assert changed.effective_days == Decimal("6.0000")
    assert computed.superseded_at is not None
    # replaying the same call changes nothing
    replay = set_rights(
        container,
        enterprise_number=en,
        actor="hr",
        items=[SetRight(a, 2024, "6", "company policy: one extra day")],
    )
    assert replay[0].status == "unchanged"
    assert len(_rights(container, a, 2024)) == 2
    # the employer's value survives a recomputation; the computed value stays visible
    compute_year(container, 2024)
    assert _rights(container, a, 2024)[-1].set_days == Decimal("6.0000")
    # going back to the computed value
    set_rights(
        container,
        enterprise_number=en,
        actor="hr",
        items=[SetRight(a, 2024, None, "back to the law")],
    )
    assert _rights(container, a, 2024)[-1].effective_days == Decimal("5.0000")


def test_set_right_before_any_computation_computes_it(container: Container) -> None:
    en = builders.employer(container, fte="12")
    a = builders.person(container)
    builders.employ(container, a, en)
    (result,) = set_rights(
        container, enterprise_number=en, actor="hr", items=[SetRight(a, 2024, "2.5", "agreement")]
    )
    assert result.status == "accepted"
    (right,) = _rights(container, a, 2024)
    assert (right.computed_days, right.set_days) == (Decimal("1.0000"), Decimal("2.5000"))
    (bad_year,) = set_rights(
        container, enterprise_number=en, actor="hr", items=[SetRight(a, 1999, "1", "x")]
    )
    assert bad_year.error is not None
    assert bad_year.error["code"] == "out_of_range"


def _train(container: Container, niss: str, en: str, end: date, days: str, rid: str) -> None:
    record_training(
        container.uow(),
        actor="t",
        source=Source.EMPLOYER,
        sender=en,
        sender_record_id=rid,
        national_number=niss,
        enterprise_number=en,
        data=TrainingData(
            title="Course",
            provider=None,
            start_date=end,
            end_date=end,
            duration_value=Decimal(days),
            duration_unit=DurationUnit.DAYS,
            nature=Nature.FORMAL_INTERNAL,
            status=Status.FOLLOWED,
        ),
    )


def test_explain_ledger_carry_over_and_preview(container: Container) -> None:
    en = builders.employer(container, fte="40")
    niss = builders.person(container)
    builders.employ(container, niss, en, jc="124")
    for year in (2024, 2025, 2026):
        compute_year(container, year)
    _train(container, niss, en, date(2024, 6, 3), "1", "T1")
    _train(container, niss, en, date(2026, 6, 3), "2", "T2")
    e = explain(container, niss, en, 2026)
    assert e["entitlement"]["status"] == "recorded"
    assert e["entitlement"]["effective"]["exact"] == "3"  # PC 124 ≥ 20 in 2026
    ledger = {y["year"]: y for y in e["ledger"]}
    assert ledger[2024]["carried_out"]["exact"] == "3/2"  # 2.5 - 1
    assert ledger[2025]["carried_in"]["exact"] == "3/2"
    assert ledger[2026]["carried_in"]["exact"] == "4"  # 1.5 + 2.5
    assert ledger[2026]["balance"]["exact"] == "5"  # 3 + 4 - 2
    assert ledger[2026]["expires_on"] == "2028-12-31"
    assert e["headcount"]["band"] == "ge20"
    # a year not yet computed is shown as a preview, not stored
    preview = explain(container, niss, en, 2027)
    assert preview["entitlement"]["status"] == "preview"
    assert preview["entitlement"]["effective"]["exact"] == "7/2"
    assert _rights(container, niss, 2027) == []
    with pytest.raises(NotFound):
        explain(container, niss, en, 2023)


def test_explain_as_recorded_on_a_past_date(container: Container) -> None:
    en = builders.employer(container, fte="40")
    niss = builders.person(container)
    builders.employ(container, niss, en)
    compute_year(container, 2024)
    (first,) = _rights(container, niss, 2024)
    set_rights(
        container, enterprise_number=en, actor="hr", items=[SetRight(niss, 2024, "7", "policy")]
    )
    now = explain(container, niss, en, 2024)
    then = explain(container, niss, en, 2024, as_of=first.recorded_at)
    assert now["entitlement"]["effective"]["exact"] == "7"
    assert then["entitlement"]["effective"]["exact"] == "5"
    assert then["entitlement"]["version"] == 1


def test_departure_by_resignation_forfeits_the_balance(container: Container) -> None:
    en = builders.employer(container, fte="40")
    niss = builders.person(container)
    builders.employ(container, niss, en, end=date(2025, 4, 30), end_reason="resignation")
    compute_year(container, 2024)
    compute_year(container, 2025)
    e = explain(container, niss, en, 2025)
    last = e["ledger"][-1]
    assert last["departure"] == "forfeited"
    assert last["carried_out"]["exact"] == "0"
    # 5 carried + 5 × 4/12; the ledger works on the stored values (4 decimals)
    assert last["expiring"]["days"] == "6.67"
    assert last["expires_on"] == "2025-04-30"


def test_collective_pool_is_explained_for_pc200_small_employers(container: Container) -> None:
    en = builders.employer(container, fte="12")
    niss = builders.person(container)
    builders.employ(container, niss, en, jc="200")
    compute_year(container, 2024)
    e = explain(container, niss, en, 2024)
    assert e["entitlement"]["computed"]["exact"] == "1"
    assert e["collective_pool"]["exact"] == "54"  # 4.5 days × 12 FTE per two years


def test_rehired_worker_gets_one_right_for_both_employments(container: Container) -> None:
    en = builders.employer(container, fte="40")
    niss = builders.person(container)
    builders.employ(container, niss, en, end=date(2024, 3, 31), end_reason="end_of_contract")
    builders.employ(container, niss, en, start=date(2024, 10, 1))
    compute_year(container, 2024)
    (right,) = _rights(container, niss, 2024)
    assert right.computed_days == Decimal("2.5000")  # 5 × (3 + 3 months)/12
    assert right.derivation is not None
    assert len(right.derivation["employments"]) == 2


def test_no_right_for_unknown_year_rules(container: Container) -> None:
    en = builders.employer(container)
    niss = builders.person(container)
    builders.employ(container, niss, en, start=date(2019, 1, 1))
    with pytest.raises(InvalidPeriod):
        compute_year(container, 2019)
    assert _rights(container, niss, 2019) == []


def test_headcount_falls_back_to_first_quarter_after_the_reference_period(
    container: Container,
) -> None:
    """No declaration in Q4 2022–Q3 2023: the FTE employed at the end of the quarter of the
    first employment after it (hired 15 Nov 2023 → 31 Dec 2023) decides the band of 2024–25."""
    en = builders.employer(container, fte=None)
    workers = [builders.person(container, i) for i in range(1, 13)]
    for niss in workers[:11]:
        builders.employ(container, niss, en, start=date(2023, 11, 15))
    builders.employ(container, workers[11], en, start=date(2023, 11, 15), fraction="0.5")
    compute_year(container, 2024)
    e = explain(container, workers[0], en, 2024)
    assert e["headcount"]["method"] == "fallback_first_quarter"
    assert e["headcount"]["band"] == "10to19"  # 11.5 FTE
    assert e["entitlement"]["computed"]["exact"] == "1"


def test_headcount_without_any_data_is_zero(container: Container) -> None:
    en = builders.employer(container, fte=None)
    niss = builders.person(container)
    builders.employ(container, niss, en, start=date(2026, 2, 1))
    e = explain(container, niss, en, 2026)
    assert e["headcount"]["band"] == "lt10"
    assert e["entitlement"]["computed"]["exact"] == "0"


def test_unknown_person_and_unemployed_person_get_the_same_answer(container: Container) -> None:
    """An employer must not learn whether a national number exists on the platform."""
    en = builders.employer(container, fte="40")
    elsewhere = builders.person(container, 1)  # exists, but not employed by this employer
    unknown = builders.fake_niss(2)  # valid number, never registered
    answers = set()
    for niss in (elsewhere, unknown):
        (result,) = set_rights(
            container, enterprise_number=en, actor="hr", items=[SetRight(niss, 2024, "1", "x")]
        )
        assert result.error is not None
        answers.add((result.error["code"], result.error["message"], result.error["path"]))
        with pytest.raises(NotFound) as info:
            explain(container, niss, en, 2024)
        answers.add((info.value.code, info.value.message, info.value.field))
    assert len(answers) == 2  # one answer per channel, identical for both persons

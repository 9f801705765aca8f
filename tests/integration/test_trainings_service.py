from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from ila.bootstrap import Container
from ila.errors import DomainError, DuplicateRecord, NotFound, StaleVersion
from ila.identity.service import find_employer, find_person
from ila.trainings.domain import DurationUnit, Nature, Source, Status, TrainingData
from ila.trainings.models import TrainingVersion
from ila.trainings.service import (
    cancel_training,
    history,
    record_training,
    rectify_training,
    trainings_of,
    used_minutes_by_year,
)
from tests import builders

DATA = TrainingData(
    title="First aid",
    provider="Demo Academy",
    start_date=date(2024, 5, 6),
    end_date=date(2024, 5, 6),
    duration_value=Decimal(1),
    duration_unit=DurationUnit.DAYS,
    nature=Nature.FORMAL_EXTERNAL,
    status=Status.FOLLOWED,
)


@pytest.fixture
def setup(container: Container) -> tuple[str, str]:
    en = builders.employer(container, day_minutes=480)
    niss = builders.person(container)
    builders.employ(container, niss, en)
    return niss, en


def _record(
    container: Container, niss: str, en: str, data: TrainingData = DATA, record_id: str = "R-1"
) -> int:
    return record_training(
        container.uow(),
        actor="test",
        source=Source.EMPLOYER,
        sender=en,
        sender_record_id=record_id,
        national_number=niss,
        enterprise_number=en,
        data=data,
    ).training_id


def test_create_replay_and_duplicate(container: Container, setup: tuple[str, str]) -> None:
    niss, en = setup
    first = record_training(
        container.uow(),
        actor="test",
        source=Source.EMPLOYER,
        sender=en,
        sender_record_id="R-1",
        national_number=niss,
        enterprise_number=en,
        data=DATA,
    )
    assert first.created
    replay = record_training(
        container.uow(),
        actor="test",
        source=Source.EMPLOYER,
        sender=en,
        sender_record_id="R-1",
        national_number=niss,
        enterprise_number=en,
        data=DATA,
    )
    assert (replay.training_id, replay.version, replay.created) == (first.training_id, 1, False)
    with pytest.raises(DuplicateRecord):
        _record(container, niss, en, replace(DATA, title="Other"))
    with container.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(TrainingVersion)) == 1


def test_rectify_keeps_history_and_refuses_stale_versions(
    container: Container, setup: tuple[str, str]
) -> None:
    niss, en = setup
    tid = _record(container, niss, en)
    r = rectify_training(
        container.uow(),
        tid,
        actor="hr",
        reason="two days, not one",
        data=replace(DATA, duration_value=Decimal(2)),
        expected_version=1,
    )
    assert r.version == 2
    with pytest.raises(StaleVersion) as info:
        rectify_training(
            container.uow(), tid, actor="hr", reason="again", data=DATA, expected_version=1
        )
    assert info.value.details == {"current_version": 2}
    with container.uow() as uow:
        versions = history(uow.session, tid)
    assert [(v.version, v.operation, v.duration_minutes) for v in versions] == [
        (1, "create", 480),
        (2, "rectify", 960),
    ]
    assert versions[0].superseded_at == versions[1].recorded_at
    assert versions[1].reason == "two days, not one"


def test_cancel_is_a_version_and_blocks_further_changes(
    container: Container, setup: tuple[str, str]
) -> None:
    niss, en = setup
    tid = _record(container, niss, en)
    with pytest.raises(DomainError) as info:
        cancel_training(container.uow(), tid, actor="hr", reason="  ")
    assert info.value.code == "required"
    cancel_training(container.uow(), tid, actor="hr", reason="recorded twice")
    with pytest.raises(DomainError) as info:
        cancel_training(container.uow(), tid, actor="hr", reason="again")
    assert info.value.code == "already_cancelled"
    with container.uow() as uow:
        person = find_person(uow.session, niss)
        assert trainings_of(uow.session, person.id) == []
        assert len(trainings_of(uow.session, person.id, include_cancelled=True)) == 1
        assert [v.cancelled for v in history(uow.session, tid)] == [False, True]
    # a cancelled record id cannot be silently re-created
    with pytest.raises(DuplicateRecord):
        _record(container, niss, en)


def test_account_as_recorded_on_a_past_moment(container: Container, setup: tuple[str, str]) -> None:
    niss, en = setup
    tid = _record(container, niss, en)
    with container.uow() as uow:
        first_recorded = history(uow.session, tid)[0].recorded_at
    rectify_training(
        container.uow(),
        tid,
        actor="hr",
        reason="typo",
        data=replace(DATA, title="First aid (basic)"),
        expected_version=None,
    )
    with container.uow() as uow:
        person = find_person(uow.session, niss)
        employer = find_employer(uow.session, en)
        now_titles = [
            v.title for _, v in trainings_of(uow.session, person.id, employer_id=employer.id)
        ]
        then_titles = [
            v.title for _, v in trainings_of(uow.session, person.id, as_of=first_recorded)
        ]
    assert now_titles == ["First aid (basic)"]
    assert then_titles == ["First aid"]


def test_used_minutes_count_only_followed_counting_trainings(
    container: Container, setup: tuple[str, str]
) -> None:
    niss, en = setup
    _record(container, niss, en, record_id="A")
    _record(container, niss, en, replace(DATA, status=Status.PLANNED), record_id="B")
    _record(
        container,
        niss,
        en,
        replace(DATA, counts_toward_right=False, not_counting_reason="vov"),  # type: ignore[arg-type]
        record_id="C",
    )
    _record(
        container,
        niss,
        en,
        replace(
            DATA,
            start_date=date(2025, 1, 2),
            end_date=date(2025, 1, 3),
            duration_value=Decimal(3),
            duration_unit=DurationUnit.HOURS,
        ),
        record_id="D",
    )
    with container.uow() as uow:
        person = find_person(uow.session, niss)
        employer = find_employer(uow.session, en)
        assert used_minutes_by_year(uow.session, person.id, employer.id) == {2024: 480, 2025: 180}


def test_errors_on_unknown_records_and_bad_ids(
    container: Container, setup: tuple[str, str]
) -> None:
    niss, en = setup
    with pytest.raises(NotFound):
        rectify_training(
            container.uow(), 424242, actor="x", reason="y", data=DATA, expected_version=None
        )
    with container.uow() as uow, pytest.raises(NotFound):
        history(uow.session, 424242)
    with pytest.raises(DomainError) as info:
        _record(container, niss, en, record_id=" ")
    assert info.value.code == "required"
    with pytest.raises(DomainError) as info:
        _record(container, "85073003329", en)
    assert info.value.code == "invalid_national_number"
    with pytest.raises(DomainError) as info:
        _record(container, niss, en, replace(DATA, end_date=date(2024, 1, 1)))
    assert info.value.code == "invalid_period"


def test_person_declared_training_without_employer(
    container: Container, setup: tuple[str, str]
) -> None:
    niss, _ = setup
    r = record_training(
        container.uow(),
        actor=f"person:{niss}",
        source=Source.PERSON,
        sender=niss,
        sender_record_id="self-1",
        national_number=niss,
        enterprise_number=None,
        data=replace(DATA, duration_value=Decimal(1)),
    )
    with container.uow() as uow:
        ((training, version),) = trainings_of(uow.session, find_person(uow.session, niss).id)
    assert training.id == r.training_id
    assert training.source == "person"
    assert version.duration_minutes == 456  # default full-time day without an employer

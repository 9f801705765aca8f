from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from ila.bootstrap import Container
from ila.employment.models import Employment, QuarterlyFte, WorkFraction
from ila.employment.service import (
    RegisterEmployment,
    declare_quarter,
    end_employment,
    register_employment,
)
from ila.errors import DomainError, NotFound
from ila.identity.models import Person
from ila.identity.service import find_employer, find_person, register_employer, register_person
from tests import builders


def _count(container: Container, model: type) -> int:
    with container.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(model)) or 0


def test_register_person_is_idempotent(container: Container) -> None:
    niss = builders.fake_niss(1)
    first = register_person(container.uow(), national_number=niss, given_name="A", family_name="B")
    again = register_person(container.uow(), national_number=niss, given_name="A", family_name="B")
    assert first == again
    assert _count(container, Person) == 1
    with container.uow() as uow:
        assert find_person(uow.session, niss).number_kind == "niss"


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"national_number": "85073003329"}, "invalid_national_number"),
        ({"given_name": " "}, "required"),
        ({"family_name": "x" * 101}, "too_long"),
        ({"language": "es"}, "unknown_code"),
    ],
)
def test_register_person_rejects_bad_input(
    container: Container, kwargs: dict[str, str], code: str
) -> None:
    args = {
        "national_number": builders.fake_niss(2),
        "given_name": "A",
        "family_name": "B",
        **kwargs,
    }
    with pytest.raises(DomainError) as info:
        register_person(container.uow(), **args)
    assert info.value.code == code
    assert _count(container, Person) == 0


def test_employer_registration_and_errors(container: Container) -> None:
    en = builders.fake_enterprise(7)
    eid = register_employer(container.uow(), enterprise_number=en, name="X")
    assert register_employer(container.uow(), enterprise_number=en, name="X") == eid
    with pytest.raises(DomainError) as info:
        register_employer(container.uow(), enterprise_number="0403019262", name="X")
    assert info.value.code == "invalid_enterprise_number"
    with pytest.raises(DomainError) as info:
        register_employer(
            container.uow(),
            enterprise_number=builders.fake_enterprise(8),
            name="X",
            full_time_day_minutes=10,
        )
    assert info.value.code == "out_of_range"
    with container.uow() as uow, pytest.raises(NotFound):
        find_employer(uow.session, builders.fake_enterprise(9))
    with container.uow() as uow, pytest.raises(NotFound):
        find_person(uow.session, builders.fake_niss(9))


def test_employment_with_fraction_change(container: Container) -> None:
    en = builders.employer(container)
    niss = builders.person(container)
    emp_id = builders.employ(
        container, niss, en, fraction="0.8", changes=((date(2024, 7, 15), "0.5"),)
    )
    with container.uow() as uow:
        fractions = uow.session.scalars(
            select(WorkFraction.fraction)
            .where(WorkFraction.employment_id == emp_id)
            .order_by(WorkFraction.valid_from)
        ).all()
    assert [str(f) for f in fractions] == ["0.800000", "0.500000"]
    end_employment(container.uow(), emp_id, end_date=date(2024, 12, 31), end_reason="resignation")
    with container.uow() as uow:
        emp = uow.session.get(Employment, emp_id)
        assert emp is not None
        assert emp.end_reason == "resignation"
    with pytest.raises(DomainError) as info:
        end_employment(container.uow(), emp_id, end_date=date(2020, 1, 1), end_reason="resignation")
    assert info.value.code == "invalid_period"
    with pytest.raises(NotFound):
        end_employment(
            container.uow(), 999_999, end_date=date(2024, 1, 1), end_reason="resignation"
        )


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"end_date": date(2023, 1, 1)}, "invalid_period"),
        ({"fractions": [(date(2024, 1, 1), "1.2")]}, "invalid_work_fraction"),
        ({"fractions": [(date(2024, 1, 1), "0")]}, "invalid_work_fraction"),
        ({"fractions": [(date(2024, 1, 1), "abc")]}, "invalid_work_fraction"),
        ({"fractions": []}, "invalid_work_fraction"),
        ({"joint_committee": "20"}, "invalid_joint_committee"),
        ({"end_reason": "fired", "end_date": date(2024, 5, 1)}, "unknown_code"),
        ({"end_reason": "resignation"}, "required"),
        ({"suspensions": [(date(2024, 5, 1), date(2024, 4, 1), "illness")]}, "invalid_period"),
        ({"national_number": "123"}, "invalid_national_number"),
    ],
)
def test_register_employment_rejects_bad_input(
    container: Container, change: dict[str, object], code: str
) -> None:
    en = builders.employer(container)
    niss = builders.person(container)
    base: dict[str, object] = {
        "national_number": niss,
        "enterprise_number": en,
        "start_date": date(2024, 1, 1),
        "joint_committee": "200",
        "fractions": [(date(2024, 1, 1), "1")],
    }
    with pytest.raises(DomainError) as info:
        register_employment(container.uow(), RegisterEmployment(**{**base, **change}))  # type: ignore[arg-type]
    assert info.value.code == code
    assert _count(container, Employment) == 0


def test_declare_quarter_upserts_and_validates(container: Container) -> None:
    en = builders.employer(container, fte=None)
    declare_quarter(container.uow(), enterprise_number=en, year=2023, quarter=1, fte="12.5")
    declare_quarter(
        container.uow(),
        enterprise_number=en,
        year=2023,
        quarter=1,
        fte="13",
        workers_declared=False,
    )
    with container.uow() as uow:
        rows = uow.session.scalars(select(QuarterlyFte)).all()
        assert [(str(r.fte), r.workers_declared) for r in rows] == [("13.00", False)]
    for kwargs, code in (
        ({"quarter": 5}, "out_of_range"),
        ({"year": 1990}, "invalid_period"),
        ({"fte": "x"}, "invalid_value"),
        ({"fte": "-1"}, "out_of_range"),
    ):
        args: dict[str, object] = {
            "enterprise_number": en,
            "year": 2023,
            "quarter": 2,
            "fte": "1",
            **kwargs,
        }
        with pytest.raises(DomainError) as info:
            declare_quarter(container.uow(), **args)  # type: ignore[arg-type]
        assert info.value.code == code

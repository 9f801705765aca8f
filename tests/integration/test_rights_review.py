"""The employer's review of computed rights: verify a version (to verify again when it changes,
overdue after 30 days) and opt out of the yearly computation for the company or one worker."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from ila.bootstrap import Container
from ila.db.base import utcnow
from ila.employment.service import end_employment
from ila.errors import Conflict, NotFound, ValidationError
from ila.identity.service import find_employer, find_person
from ila.rights.models import RightVersion
from ila.rights.review import (
    AlreadyOptedOut,
    list_opt_outs,
    opt_out,
    review_of,
    review_summary,
    verify_rights,
    withdraw_opt_out,
)
from ila.rights.service import SetRight, compute_year, explain, set_rights
from tests import builders


def _ids(container: Container, niss: str, en: str) -> tuple[int, int]:
    with container.uow() as uow:
        return find_person(uow.session, niss).id, find_employer(uow.session, en).id


def _current(container: Container, niss: str, year: int) -> RightVersion:
    with container.uow() as uow:
        person = find_person(uow.session, niss)
        right = uow.session.scalar(
            select(RightVersion).where(
                RightVersion.person_id == person.id,
                RightVersion.year == year,
                RightVersion.superseded_at.is_(None),
            )
        )
        assert right is not None
        return right


def test_verification_names_a_version_and_a_new_version_is_to_verify_again(
    container: Container,
) -> None:
    en = builders.employer(container)
    niss = builders.person(container)
    builders.employ(container, niss, en)
    compute_year(container, 2024)
    person_id, employer_id = _ids(container, niss, en)
    with container.uow() as uow:
        before = review_of(uow.session, employer_id, person_id, 2024)
    assert before is not None
    assert (before.status, before.version) == ("to_verify", 1)
    assert before.due == _current(container, niss, 2024).recorded_at + timedelta(days=30)

    results, verified = verify_rights(
        container, enterprise_number=en, year=2024, national_numbers=[niss], actor="hr"
    )
    assert [(r.status, r.version) for r in results] == [("accepted", 1)]
    assert verified == [niss]
    again, newly = verify_rights(
        container, enterprise_number=en, year=2024, national_numbers=[niss], actor="hr"
    )
    assert [(r.status, r.version) for r in again] == [("unchanged", 1)]
    assert newly == []
    with container.uow() as uow:
        review = review_of(uow.session, employer_id, person_id, 2024)
    assert review is not None
    assert (review.status, review.verified_by) == ("verified", "hr")
    assert explain(container, niss, en, 2024)["review"]["status"] == "verified"

    set_rights(
        container,
        enterprise_number=en,
        items=[SetRight(niss, 2024, "6", "company policy")],
        actor="hr",
    )
    with container.uow() as uow:
        changed = review_of(uow.session, employer_id, person_id, 2024)
        late = review_of(
            uow.session, employer_id, person_id, 2024, now=utcnow() + timedelta(days=31)
        )
    assert changed is not None
    assert late is not None
    assert (changed.status, changed.version) == ("to_verify", 2)
    assert late.status == "overdue"


def test_verify_all_reports_each_item_and_rejects_without_leaking(container: Container) -> None:
    en = builders.employer(container)
    other = builders.employer(container, 2)
    workers = [builders.person(container, i) for i in range(1, 4)]
    for niss in workers:
        builders.employ(container, niss, en)
    elsewhere = builders.person(container, 9)
    builders.employ(container, elsewhere, other)
    compute_year(container, 2024)

    results, verified = verify_rights(
        container,
        enterprise_number=en,
        year=2024,
        national_numbers=[workers[0], elsewhere, builders.fake_niss(77), "123"],
        actor="hr",
    )
    assert [r.status for r in results] == ["accepted", "rejected", "rejected", "rejected"]
    assert verified == [workers[0]]
    assert results[1].error == results[2].error | {"path": "items[1].national_number"}
    assert results[1].error is not None
    assert results[1].error["code"] == "not_found"
    assert results[3].error is not None
    assert results[3].error["code"] == "invalid_national_number"
    assert results[3].error["path"] == "items[3].national_number"

    everyone, newly = verify_rights(
        container, enterprise_number=en, year=2024, national_numbers=None, actor="hr"
    )
    assert sorted(r.status for r in everyone) == ["accepted", "accepted", "unchanged"]
    assert sorted(newly) == sorted(workers[1:])
    with container.uow() as uow:
        summary = review_summary(uow.session, find_employer(uow.session, en).id, 2024)
    assert (summary.verified, summary.to_verify, summary.overdue, summary.opted_out) == (
        3,
        0,
        0,
        0,
    )


def test_worker_opt_out_stops_the_computation_for_that_worker_only(container: Container) -> None:
    en = builders.employer(container)
    kept, opted = builders.person(container, 1), builders.person(container, 2)
    kept_job = builders.employ(container, kept, en)
    opted_job = builders.employ(container, opted, en)
    compute_year(container, 2024)
    view = opt_out(
        container,
        enterprise_number=en,
        year=2024,
        national_number=opted,
        reason="sector fund keeps the account",
        actor="hr",
    )
    assert (view.scope, view.national_number, view.withdrawn_at) == ("worker", opted, None)
    with pytest.raises(AlreadyOptedOut) as twice:
        opt_out(
            container,
            enterprise_number=en,
            year=2024,
            national_number=opted,
            reason="x",
            actor="hr",
        )
    assert twice.value.code == "already_opted_out"

    # a change of the declarations reaches the kept worker, not the opted-out one
    for job in (kept_job, opted_job):
        end_employment(container.uow(), job, end_date=date(2024, 6, 10), end_reason="dismissal")
    report = compute_year(container, 2024)
    assert (report.updated, report.opted_out) == (1, 1)
    assert _current(container, opted, 2024).version == 1
    assert _current(container, kept, 2024).version == 2
    assert explain(container, opted, en, 2024)["review"]["status"] == "opted_out"

    withdrawn = withdraw_opt_out(
        container,
        enterprise_number=en,
        opt_out_id=view.id,
        reason="back to the platform",
        actor="hr",
    )
    assert withdrawn.withdrawn_by == "hr"
    with pytest.raises(Conflict) as already:
        withdraw_opt_out(
            container, enterprise_number=en, opt_out_id=view.id, reason="again", actor="hr"
        )
    assert already.value.code == "already_withdrawn"
    resumed = compute_year(container, 2024)
    assert (resumed.updated, resumed.opted_out) == (1, 0)
    assert _current(container, opted, 2024).version == 2


def test_company_opt_out_and_the_employer_sets_the_right_itself(container: Container) -> None:
    en = builders.employer(container)
    niss = builders.person(container)
    builders.employ(container, niss, en)
    view = opt_out(
        container,
        enterprise_number=en,
        year=2025,
        national_number=None,
        reason="own individual training accounts",
        actor="hr",
    )
    assert (view.scope, view.national_number) == ("company", None)
    report = compute_year(container, 2025)
    assert (report.created, report.opted_out) == (0, 1)
    set_rights(
        container, enterprise_number=en, items=[SetRight(niss, 2025, "3", "own policy")], actor="hr"
    )
    assert _current(container, niss, 2025).effective_days == Decimal("3.0000")
    # the year 2024 is not concerned
    assert compute_year(container, 2024).created == 1
    with container.uow() as uow:
        employer_id = find_employer(uow.session, en).id
        summary = review_summary(uow.session, employer_id, 2025)
        listed = list_opt_outs(uow.session, employer_id, 2025)
    assert (summary.company_opted_out, summary.opted_out) == (True, 1)
    assert [o.id for o in listed] == [view.id]


def test_opt_out_refuses_bad_input_and_other_tenants(container: Container) -> None:
    en = builders.employer(container)
    other = builders.employer(container, 2)
    niss = builders.person(container)
    builders.employ(container, niss, other)
    with pytest.raises(NotFound):
        opt_out(
            container, enterprise_number=en, year=2024, national_number=niss, reason="x", actor="a"
        )
    with pytest.raises(ValidationError) as blank:
        opt_out(
            container, enterprise_number=en, year=2024, national_number=None, reason=" ", actor="a"
        )
    assert blank.value.code == "required"
    with pytest.raises(ValidationError) as early:
        opt_out(
            container, enterprise_number=en, year=2019, national_number=None, reason="x", actor="a"
        )
    assert early.value.code == "out_of_range"
    theirs = opt_out(
        container, enterprise_number=other, year=2024, national_number=None, reason="x", actor="b"
    )
    with pytest.raises(NotFound):
        withdraw_opt_out(
            container, enterprise_number=en, opt_out_id=theirs.id, reason="mine now", actor="a"
        )

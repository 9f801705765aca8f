"""Authorisations loaded as versioned data, the person directory, the decision of
``authorise`` for each authorisation and each missing condition, refusals logged in their own
transaction, regional trainings in the person's account, and the demo part."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ila.access.domain import Caller, Scope
from ila.accounts.service import person_account
from ila.audit.models import AuditEvent
from ila.bootstrap import Container
from ila.errors import (
    Conflict,
    DomainError,
    InvalidPeriod,
    ItemNotAuthorised,
    NotFound,
    OverlappingDirectoryEntry,
    PartyNotAuthorised,
    UnknownCode,
    ValidationError,
)
from ila.exchange.demo import load_exchange_demo
from ila.exchange.directory import list_entries, register_entry, unregister_entry
from ila.exchange.domain import Operation
from ila.exchange.models import AuthorisationVersion
from ila.exchange.service import (
    AUTHORISATIONS_FILE,
    authorise,
    authorise_context,
    current_authorisation,
    fpie_authorisation,
    list_authorisations,
    load_authorisations,
    read_account,
    receive_training,
    record_refusal,
)
from ila.trainings.domain import DurationUnit, Nature, NotCountingReason, Status, TrainingData
from tests import builders

VDAB, FOREM, ACTIRIS, BXL_FORMATION, ADG, ONEM, SIGEDIS = (
    "0999200166",
    "0999200265",
    "0999200364",
    "0999200463",
    "0999200562",
    "0999200661",
    "0999200760",
)
NOW = datetime(2026, 6, 1, 10, tzinfo=UTC)
SHIPPED = AUTHORISATIONS_FILE.read_text("utf-8")


def _load(container: Container, text: str = SHIPPED) -> dict[str, str]:
    return {r.id: r.status for r in load_authorisations(container.uow(), actor="t", text=text)}


def _entry(
    container: Container,
    institution: str,
    niss: str,
    capacity: str,
    start: date = date(2026, 1, 1),
    end: date | None = None,
) -> int:
    entry, _ = register_entry(
        container.uow(),
        institution=institution,
        national_number=niss,
        capacity=capacity,
        valid_from=start,
        valid_to=end,
        actor="t",
    )
    return entry.id


# --- loading ---------------------------------------------------------------------------------


def test_load_is_idempotent_and_a_change_is_a_new_version(container: Container) -> None:
    assert set(_load(container).values()) == {"created"}
    assert set(_load(container, SHIPPED).values()) == {"unchanged"}
    changed = SHIPPED.replace(
        'roles = ["guidance_counsellor"]\n', 'roles = ["guidance_counsellor", "supervisor"]\n'
    )
    with pytest.raises(Conflict) as caught:
        _load(container, changed)
    assert caught.value.code == "version_not_increased"
    bumped = changed.replace(
        "[authorisations.ila-guidance-consultation]\nversion = 1",
        "[authorisations.ila-guidance-consultation]\nversion = 2",
    )
    statuses = _load(container, bumped)
    assert statuses["ila-guidance-consultation"] == "new_version"
    assert statuses["csi-22-086-fpie"] == "unchanged"
    with container.uow() as uow:
        auth = current_authorisation(uow.session, "ila-guidance-consultation")
        assert auth is not None
        assert auth.version == 2
        assert "supervisor" in auth.roles
        rows = uow.session.scalars(
            select(AuthorisationVersion)
            .where(AuthorisationVersion.authorisation_id == "ila-guidance-consultation")
            .order_by(AuthorisationVersion.version)
        ).all()
        assert [(r.version, r.superseded_at is None) for r in rows] == [(1, False), (2, True)]
    current = list_authorisations(container)
    assert len(current) == 4
    history = list_authorisations(container, history=True)
    assert len(history) == 5
    assert {r["id"] for r in history if r["superseded_at"]} == {"ila-guidance-consultation"}


def test_the_shipped_file_is_the_default(container: Container, tmp_path: Path) -> None:
    assert len(load_authorisations(container.uow(), actor="t")) == 4
    other = tmp_path / "a.toml"
    other.write_text(SHIPPED, encoding="utf-8")
    assert {r.status for r in load_authorisations(container.uow(), actor="t", path=other)} == {
        "unchanged"
    }


# --- directory -------------------------------------------------------------------------------


def test_directory_register_is_idempotent_and_refuses_overlaps(container: Container) -> None:
    _load(container)
    niss = builders.fake_niss(1)
    first = _entry(container, VDAB, niss, "jobseeker_guidance", date(2026, 1, 1), date(2026, 6, 30))
    # contained: unchanged, the same entry
    entry, created = register_entry(
        container.uow(),
        institution=VDAB,
        national_number=niss,
        capacity="jobseeker_guidance",
        valid_from=date(2026, 2, 1),
        valid_to=date(2026, 3, 1),
        actor="t",
    )
    assert (entry.id, created) == (first, False)
    with pytest.raises(OverlappingDirectoryEntry) as caught:
        _entry(container, VDAB, niss, "jobseeker_guidance", date(2026, 6, 1), None)
    assert caught.value.details["entry_id"] == first
    # the period after it, another capacity, another institution: all fine
    after = _entry(container, VDAB, niss, "jobseeker_guidance", date(2026, 7, 1), None)
    other_capacity = _entry(container, VDAB, niss, "trainee", date(2026, 3, 1), None)
    other_institution = _entry(container, ACTIRIS, niss, "jobseeker_guidance", date(2026, 1, 1))
    assert len({first, after, other_capacity, other_institution}) == 4
    page = list_entries(container, institution=VDAB)
    assert [e.id for e in page.items] == [first, after, other_capacity]
    assert page.next_cursor is None
    one = list_entries(container, institution=VDAB, limit=1)
    assert [e.id for e in one.items] == [first]
    two = list_entries(container, institution=VDAB, limit=1, cursor=one.next_cursor)
    assert [e.id for e in two.items] == [after]
    on_day = list_entries(container, institution=VDAB, active_on=date(2026, 8, 1))
    assert [e.id for e in on_day.items] == [after, other_capacity]
    mine = list_entries(container, institution=ACTIRIS, national_number=niss)
    assert [e.id for e in mine.items] == [other_institution]
    assert list_entries(container, institution=ADG).items == []
    with pytest.raises(ValidationError):
        list_entries(container, institution=VDAB, limit=0)


def test_directory_validation(container: Container) -> None:
    _load(container)
    niss = builders.fake_niss(2)
    with pytest.raises(UnknownCode):
        _entry(container, VDAB, niss, "neighbour")
    with pytest.raises(InvalidPeriod):
        _entry(container, VDAB, niss, "trainee", date(2026, 2, 1), date(2026, 1, 1))
    with pytest.raises(DomainError) as caught:
        _entry(container, VDAB, "85073003329", "trainee")
    assert caught.value.code == "invalid_national_number"
    # an organisation that is no party of an authorisation with a directory keeps none
    for organisation in (builders.fake_enterprise(1), SIGEDIS):
        with pytest.raises(PartyNotAuthorised):
            _entry(container, organisation, niss, "trainee")


def test_unregister_ends_the_period_and_keeps_the_entry(container: Container) -> None:
    _load(container)
    niss = builders.fake_niss(3)
    entry_id = _entry(container, FOREM, niss, "trainee", date(2026, 1, 1), date(2026, 12, 31))
    with pytest.raises(NotFound):  # another institution's entry: not found
        unregister_entry(container.uow(), institution=VDAB, entry_id=entry_id, actor="t")
    with pytest.raises(NotFound):
        unregister_entry(container.uow(), institution=FOREM, entry_id=99999, actor="t")
    with pytest.raises(InvalidPeriod):
        unregister_entry(
            container.uow(),
            institution=FOREM,
            entry_id=entry_id,
            end_date=date(2025, 12, 31),
            actor="t",
        )
    with pytest.raises(InvalidPeriod):  # cannot extend
        unregister_entry(
            container.uow(),
            institution=FOREM,
            entry_id=entry_id,
            end_date=date(2027, 1, 1),
            actor="t",
        )
    ended = unregister_entry(
        container.uow(),
        institution=FOREM,
        entry_id=entry_id,
        end_date=date(2026, 5, 31),
        actor="t2",
    )
    assert ended.valid_to == date(2026, 5, 31)
    assert ended.unregistered_at is not None
    with pytest.raises(Conflict) as caught:
        unregister_entry(container.uow(), institution=FOREM, entry_id=entry_id, actor="t")
    assert caught.value.code == "already_unregistered"
    # still listed, with its shortened period
    (listed,) = list_entries(container, institution=FOREM).items
    assert listed.valid_to == date(2026, 5, 31)
    # open entry, default end = today (Belgian date)
    open_id = _entry(container, FOREM, niss, "training_guidance", date(2026, 1, 1))
    today_end = unregister_entry(container.uow(), institution=FOREM, entry_id=open_id, actor="t")
    assert today_end.valid_to is not None


# --- the decision, per authorisation ---------------------------------------------------------


def _authorise(container: Container, **changes: object) -> str:
    """The code of the refusal, or ``allowed``."""
    args: dict[str, object] = changes
    with container.uow() as uow:
        try:
            auth = authorise(uow.session, **args)  # type: ignore[arg-type]
        except DomainError as exc:
            return exc.code
        return f"allowed:{auth.id}"


@pytest.mark.parametrize(
    ("legal_context", "operation", "caller", "role", "capacity", "other_capacity", "outsider"),
    [
        (
            "ila-guidance-consultation",
            Operation.ACCOUNT_READ,
            VDAB,
            "guidance_counsellor",
            "jobseeker_guidance",
            "trainee",
            ONEM,
        ),
        (
            "ila-regional-trainings",
            Operation.TRAININGS_SEND,
            FOREM,
            "training_registrar",
            "trainee",
            None,  # Le Forem may use no capacity outside this authorisation
            SIGEDIS,
        ),
        (
            "csi-22-086-fpie",
            Operation.FPIE_ALLOWANCE,
            BXL_FORMATION,
            "fpie_pedagogical_adviser",
            "fpie_candidate",
            "trainee",
            VDAB,
        ),
    ],
)
def test_each_condition_of_an_authorisation_with_a_directory(
    container: Container,
    legal_context: str,
    operation: Operation,
    caller: str,
    role: str,
    capacity: str,
    other_capacity: str | None,
    outsider: str,
) -> None:
    _load(container)
    niss = builders.fake_niss(4)
    other = builders.fake_niss(5)
    _entry(container, caller, niss, capacity, date(2026, 1, 1), date(2026, 12, 31))
    if other_capacity is not None:
        _entry(container, caller, other, other_capacity)
    good = {
        "caller": caller,
        "legal_context": legal_context,
        "role": role,
        "national_number": niss,
        "at": NOW,
        "operation": operation,
    }
    assert _authorise(container, **good) == f"allowed:{legal_context}"
    refused = {
        "legal_context_required": {"legal_context": None},
        "unknown_legal_context": {"legal_context": "no-such-authorisation"},
        "purpose_not_authorised": {"operation": Operation.CAREER_BREAK},
        "party_not_authorised": {"caller": outsider},
        "authorisation_expired": {"at": datetime(2020, 1, 1, tzinfo=UTC)},
        "role_not_authorised": {"role": "janitor"},
        "no_directory_entry": {"national_number": builders.fake_niss(6)},
    }
    for code, change in refused.items():
        assert _authorise(container, **{**good, **change}) == code, change
    # the entry ended, or the person is registered in another capacity only
    assert _authorise(container, **{**good, "at": datetime(2027, 1, 2, tzinfo=UTC)}) == (
        "no_directory_entry"
    )
    assert _authorise(container, **{**good, "national_number": other}) == "no_directory_entry"
    # another institution's entry does not cover the caller
    _entry(container, ACTIRIS, other, capacity if capacity != "fpie_candidate" else "trainee")
    assert _authorise(container, **{**good, "national_number": other}) == "no_directory_entry"


def test_career_break_needs_no_directory_but_the_right_party_and_role(
    container: Container,
) -> None:
    _load(container)
    good = {
        "caller": SIGEDIS,
        "legal_context": "csi-24-012-career-break",
        "role": "data_subject",
        "national_number": builders.fake_niss(7),
        "at": NOW,
        "operation": Operation.CAREER_BREAK,
    }
    assert _authorise(container, **good) == "allowed:csi-24-012-career-break"
    assert _authorise(container, **{**good, "caller": VDAB}) == "party_not_authorised"
    assert _authorise(container, **{**good, "role": "guidance_counsellor"}) == (
        "role_not_authorised"
    )
    assert _authorise(container, **{**good, "at": datetime(2024, 2, 5, 12, tzinfo=UTC)}) == (
        "authorisation_expired"
    )


def test_a_refusal_is_logged_with_its_legal_context(container: Container) -> None:
    caller = Caller(1, "client-1", VDAB, frozenset({Scope.INSTITUTION_ACCOUNT_READ}))
    niss = builders.fake_niss(8)
    record_refusal(
        container,
        caller=caller,
        error=PartyNotAuthorised("no"),
        operation=Operation.ACCOUNT_READ,
        legal_context="csi-22-086-fpie",
        role="guidance_counsellor",
        national_number=niss,
        request_id="req-1",
    )
    record_refusal(
        container,
        caller=caller,
        error=PartyNotAuthorised("no"),
        operation=Operation.TRAININGS_SEND,
        legal_context=None,
        role=None,
        national_number=None,
        request_id="req-2",
    )
    with container.uow() as uow:
        rows = uow.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [(r.subject_national_number, r.legal_context, r.request_id) for r in rows] == [
        (niss, "csi-22-086-fpie", "req-1"),
        (None, None, "req-2"),
    ]
    assert rows[0].action == "refused"
    assert rows[0].details["refused"] == "party_not_authorised"
    assert rows[0].on_behalf_of == VDAB


# --- reading and receiving ---------------------------------------------------------------------


REGIONAL = TrainingData(
    title="Welding",
    provider="Le Forem",
    start_date=date(2026, 4, 1),
    end_date=date(2026, 4, 30),
    duration_value=Decimal(120),
    duration_unit=DurationUnit.HOURS,
    nature=Nature.FORMAL_EXTERNAL,
    status=Status.FOLLOWED,
    counts_toward_right=False,
    not_counting_reason=NotCountingReason.OUTSIDE_PROFESSIONAL_CONTEXT,
    certificate="Welder certificate",
)


def test_a_regional_training_appears_in_the_account_with_its_source(
    container: Container,
) -> None:
    _load(container)
    niss = builders.person(container, 9)
    _entry(container, FOREM, niss, "trainee")
    _entry(container, VDAB, niss, "jobseeker_guidance")
    with container.uow() as uow:
        auth = authorise_context(
            uow.session,
            caller=FOREM,
            legal_context="ila-regional-trainings",
            role="training_registrar",
            at=NOW,
            operation=Operation.TRAININGS_SEND,
        )
        first = receive_training(
            container,
            uow.session,
            auth,
            caller=FOREM,
            actor="t",
            record_id="F-1",
            national_number=niss,
            data=REGIONAL,
            at=NOW,
        )
        again = receive_training(
            container,
            uow.session,
            auth,
            caller=FOREM,
            actor="t",
            record_id="F-1",
            national_number=niss,
            data=REGIONAL,
            at=NOW,
        )
        assert first.created
        assert not again.created
        assert again.training_id == first.training_id
        with pytest.raises(DomainError) as caught:
            receive_training(
                container,
                uow.session,
                auth,
                caller=FOREM,
                actor="t",
                record_id="F-2",
                national_number=builders.fake_niss(10),
                data=REGIONAL,
                at=NOW,
            )
        assert caught.value.code == "no_directory_entry"
        no_certificates = replace(auth, items=("trainings",))
        with pytest.raises(ItemNotAuthorised):
            receive_training(
                container,
                uow.session,
                no_certificates,
                caller=FOREM,
                actor="t",
                record_id="F-3",
                national_number=niss,
                data=REGIONAL,
                at=NOW,
            )
        uow.commit()  # (in tests every unit of work is a savepoint of one transaction)
    account = person_account(container, niss, 2026)
    (training,) = account["trainings"]
    assert training["source"] == "region"
    assert training["employer"] is None
    assert training["certificate"] == "Welder certificate"
    with container.uow() as uow:
        auth2, shown = read_account(
            uow.session,
            container.rules,
            caller=VDAB,
            legal_context="ila-guidance-consultation",
            role="guidance_counsellor",
            national_number=niss,
            year=2026,
            at=NOW,
        )
    assert auth2.id == "ila-guidance-consultation"
    assert set(shown) == {"person", "year", "as_of", "totals", "trainings"}
    assert shown["trainings"][0]["source"] == "region"


def test_demo_part_is_idempotent(container: Container, tmp_path: Path) -> None:
    people = [builders.person(container, n) for n in (11, 12, 13)]
    report = load_exchange_demo(
        container, guided=people[0], trainee=people[1], fpie_candidate=people[2], keys_dir=tmp_path
    )
    assert report.authorisations == 4
    assert report.entries == 6
    assert report.trainings == 1
    assert set(report.clients) == {VDAB, FOREM, ACTIRIS, BXL_FORMATION, ADG}
    assert (tmp_path / f"{FOREM}.pem").read_bytes().startswith(b"-----BEGIN PRIVATE KEY")
    assert (tmp_path / f"{FOREM}.pem").stat().st_mode & 0o077 == 0
    again = load_exchange_demo(
        container, guided=people[0], trainee=people[1], fpie_candidate=people[2], keys_dir=tmp_path
    )
    assert (again.authorisations, again.entries, again.trainings) == (0, 0, 0)
    assert again.clients == report.clients
    account = person_account(container, people[1], 2026)
    assert [t["source"] for t in account["trainings"]] == ["region"]
    with container.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(AuthorisationVersion)) == 4


@dataclass(frozen=True)
class _Access:
    organisation: str | None
    role: str
    legal_context: str
    national_number: str
    at: datetime


def test_the_fpie_flow_check(container: Container) -> None:
    _load(container)
    niss = builders.fake_niss(14)
    _entry(container, BXL_FORMATION, niss, "fpie_candidate")
    good = _Access(BXL_FORMATION, "fpie_pedagogical_adviser", "csi-22-086-fpie", niss, NOW)
    with container.uow() as uow:
        fpie_authorisation(uow.session, good)
        for access, code in (
            (replace(good, organisation=None), "party_not_authorised"),
            (replace(good, organisation=VDAB), "party_not_authorised"),
            (replace(good, role="guidance_counsellor"), "role_not_authorised"),
            (replace(good, national_number=builders.fake_niss(15)), "no_directory_entry"),
            (replace(good, legal_context="ila-guidance-consultation"), "purpose_not_authorised"),
        ):
            with pytest.raises(DomainError) as caught:
                fpie_authorisation(uow.session, access)
            assert caught.value.code == code

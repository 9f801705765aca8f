"""Pure rules of the exchanges: the shipped authorisations, their validation, retention
durations, the order of the checks, and the filtering of an account."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from ila.errors import (
    AuthorisationExpired,
    DomainError,
    InvalidPeriod,
    PartyNotAuthorised,
    PurposeNotAuthorised,
    RoleNotAuthorised,
    UnknownCode,
)
from ila.exchange.domain import (
    Authorisation,
    Operation,
    Retention,
    check_capacity,
    check_exchange,
    contains,
    filter_account,
    parse_authorisations,
)
from ila.exchange.service import AUTHORISATIONS_FILE

BXL_FORMATION = "0999200463"
ONEM = "0999200661"
VDAB = "0999200166"


def shipped() -> dict[str, Authorisation]:
    return {a.id: a for a in parse_authorisations(AUTHORISATIONS_FILE.read_text("utf-8"))}


def test_the_four_authorisations_of_the_issue_are_shipped() -> None:
    auths = shipped()
    assert set(auths) == {
        "ila-guidance-consultation",
        "ila-regional-trainings",
        "csi-22-086-fpie",
        "csi-24-012-career-break",
    }
    fpie = auths["csi-22-086-fpie"]
    assert "22/086" in fpie.legal_reference
    assert "3 June 2025" in fpie.legal_reference
    assert fpie.legal_basis.startswith("GDPR art. 6.1.c")
    assert [p.enterprise_number for p in fpie.receiving] == [BXL_FORMATION]
    assert [p.enterprise_number for p in fpie.providing] == [ONEM]
    assert fpie.roles == ("fpie_pedagogical_adviser",)
    assert str(fpie.retention["fpie_calculation"]) == "P10Y"
    career = auths["csi-24-012-career-break"]
    assert "24/012" in career.legal_reference
    assert career.retention["career_break_possibilities"].never_stored
    assert not career.needs_directory
    guidance = auths["ila-guidance-consultation"]
    assert guidance.operation is Operation.ACCOUNT_READ
    assert {p.name for p in guidance.receiving} == {
        "VDAB",
        "Le Forem",
        "Actiris",
        "Bruxelles Formation",
        "Arbeitsamt der Deutschsprachigen Gemeinschaft (ADG)",
    }
    assert auths["ila-regional-trainings"].operation is Operation.TRAININGS_SEND


def test_document_round_trip_and_digest() -> None:
    for auth in shipped().values():
        again = Authorisation.from_document(auth.document())
        assert again.document() == auth.document()
        assert again.digest() == auth.digest()
    a, b = shipped()["ila-guidance-consultation"], shipped()["ila-regional-trainings"]
    assert a.digest() != b.digest()


BASE = """
[parties.a]
name = "A"
enterprise_number = "0999200166"
[parties.b]
name = "B"
enterprise_number = "0999200265"

[authorisations.test-one]
version = 1
legal_reference = "ref"
purpose = "purpose"
legal_basis = "GDPR art. 6.1.e"
operation = "account.read"
providing = ["a"]
receiving = ["b"]
items = ["trainings"]
roles = ["counsellor"]
capacities = ["trainee"]
valid_from = 2026-01-01
[authorisations.test-one.retention]
log = "P1Y"
"""


def test_a_minimal_document_parses() -> None:
    (auth,) = parse_authorisations(BASE)
    assert auth.valid_to is None
    assert auth.in_force(date(2026, 1, 1))
    assert not auth.in_force(date(2025, 12, 31))


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (("version = 1", "version = 0"), "authorisations.test-one.version"),
        (('operation = "account.read"', 'operation = "dance"'), "operation"),
        (('receiving = ["b"]', 'receiving = ["zz"]'), "receiving"),
        (('receiving = ["b"]', "receiving = []"), "receiving"),
        (('items = ["trainings"]', 'items = ["salary"]'), "items"),
        (('items = ["trainings"]', "items = []"), "items"),
        (('roles = ["counsellor"]', 'roles = ["Counsellor X"]'), "roles"),
        (('capacities = ["trainee"]', 'capacities = ["friend"]'), "capacities"),
        (('log = "P1Y"', 'log = "one year"'), "retention.log"),
        (("valid_from = 2026-01-01", 'valid_from = "2026"'), "valid_from"),
        (('purpose = "purpose"', 'purpose = ""'), "purpose"),
        (('enterprise_number = "0999200166"', 'enterprise_number = "1"'), "parties.a"),
        (("[authorisations.test-one]", "[authorisations.X]"), "authorisations.X"),
    ],
)
def test_invalid_documents_name_the_key(change: tuple[str, str], where: str) -> None:
    with pytest.raises(DomainError) as caught:
        parse_authorisations(BASE.replace(*change))
    assert where in (caught.value.field or "")


def test_structural_errors() -> None:
    with pytest.raises(DomainError, match="not valid TOML"):
        parse_authorisations("[[[")
    with pytest.raises(DomainError) as caught:
        parse_authorisations("x = 1")
    assert caught.value.field == "parties"
    with pytest.raises(DomainError) as caught:
        parse_authorisations(BASE.split("[authorisations.test-one]", maxsplit=1)[0])
    assert caught.value.field == "authorisations"
    with pytest.raises(DomainError):
        parse_authorisations(
            BASE.replace(
                "valid_from = 2026-01-01", "valid_from = 2026-01-01\nvalid_to = 2025-01-01"
            )
        )
    with pytest.raises(DomainError):
        parse_authorisations(BASE.replace('[authorisations.test-one.retention]\nlog = "P1Y"', ""))
    with pytest.raises(DomainError):
        parse_authorisations(BASE.replace("[parties.b]", "[parties.b]\nx = 1\n[parties.c]"))


def test_an_inverted_validity_is_an_invalid_period() -> None:
    text = BASE.replace("valid_from = 2026-01-01", "valid_from = 2026-01-01\nvalid_to = 2025-01-01")
    with pytest.raises(InvalidPeriod):
        parse_authorisations(text)


@pytest.mark.parametrize(
    ("text", "start", "until"),
    [
        ("P10Y", date(2024, 2, 29), date(2034, 2, 28)),
        ("P1M", date(2026, 1, 31), date(2026, 2, 28)),
        ("P6M", date(2026, 11, 30), date(2027, 5, 30)),
        ("P1Y2M3D", date(2026, 1, 1), date(2027, 3, 4)),
        ("P0D", date(2026, 1, 1), date(2026, 1, 1)),
        ("P30D", date(2026, 12, 15), date(2027, 1, 14)),
    ],
)
def test_retention_until(text: str, start: date, until: date) -> None:
    assert Retention.parse(text).until(start) == until


def test_retention_text() -> None:
    assert str(Retention.parse("P0Y0M0D")) == "P0D"
    assert str(Retention.parse("P1Y2M3D")) == "P1Y2M3D"
    for bad in ("P", "10Y", "P1H", "PT1H", "P-1Y"):
        with pytest.raises(DomainError):
            Retention.parse(bad)


def _check(auth: Authorisation, **changes: Any) -> None:
    args: dict[str, Any] = {
        "organisation": BXL_FORMATION,
        "operation": Operation.FPIE_ALLOWANCE,
        "role": "fpie_pedagogical_adviser",
        "day": date(2026, 5, 1),
    }
    args.update(changes)
    check_exchange(auth, **args)


def test_checks_each_with_its_own_code() -> None:
    fpie = shipped()["csi-22-086-fpie"]
    _check(fpie)  # allowed
    with pytest.raises(PurposeNotAuthorised):
        _check(fpie, operation=Operation.ACCOUNT_READ)
    with pytest.raises(PartyNotAuthorised):
        _check(fpie, organisation=VDAB)
    with pytest.raises(PartyNotAuthorised):  # the providing party does not receive
        _check(fpie, organisation=ONEM)
    with pytest.raises(AuthorisationExpired):
        _check(fpie, day=date(2022, 4, 4))
    with pytest.raises(RoleNotAuthorised):
        _check(fpie, role="guidance_counsellor")
    with pytest.raises(RoleNotAuthorised):
        _check(fpie, role=None)
    ended = Authorisation.from_document({**fpie.document(), "valid_to": "2026-04-30"})
    with pytest.raises(AuthorisationExpired) as caught:
        _check(ended)
    assert caught.value.details["valid_to"] == "2026-04-30"


def test_the_party_check_comes_before_the_others() -> None:
    """An organisation outside the authorisation learns nothing about role or validity."""
    fpie = shipped()["csi-22-086-fpie"]
    with pytest.raises(PartyNotAuthorised):
        _check(fpie, organisation=VDAB, role=None, day=date(2000, 1, 1))


def test_a_sender_must_be_on_the_providing_side() -> None:
    inbound = shipped()["ila-regional-trainings"]
    check_exchange(
        inbound,
        organisation=VDAB,
        operation=Operation.TRAININGS_SEND,
        role="training_registrar",
        day=date(2026, 5, 1),
    )
    with pytest.raises(PartyNotAuthorised):
        check_exchange(
            inbound,
            organisation="0999200760",  # Sigedis receives, does not send
            operation=Operation.TRAININGS_SEND,
            role="training_registrar",
            day=date(2026, 5, 1),
        )


def test_capacities() -> None:
    assert check_capacity("trainee") == "trainee"
    with pytest.raises(UnknownCode):
        check_capacity("cousin")


def test_contains() -> None:
    jan, feb, mar = date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)
    assert contains(jan, None, feb, None)
    assert contains(jan, mar, feb, mar)
    assert not contains(feb, None, jan, None)
    assert not contains(jan, feb, jan, None)
    assert not contains(jan, feb, jan, mar)


ACCOUNT: dict[str, Any] = {
    "person": {"national_number": "90010199701", "name": "Demo Person"},
    "year": 2026,
    "as_of": None,
    "employers": [{"employer": {"enterprise_number": "0999000123"}}],
    "totals": {"balance": {"exact": "1", "days": "1.00"}},
    "trainings": [
        {"id": 1, "title": "Welding", "certificate": "C1", "certificate_valid_until": None}
    ],
}


def test_filter_keeps_only_the_allowed_items_absent_not_blank() -> None:
    shown = filter_account(ACCOUNT, ["trainings"])
    assert shown == {
        "person": {"national_number": "90010199701"},
        "year": 2026,
        "as_of": None,
        "trainings": [{"id": 1, "title": "Welding"}],
    }
    everything = filter_account(
        ACCOUNT,
        ["person.name", "rights.employers", "rights.totals", "trainings", "trainings.certificates"],
    )
    assert everything == ACCOUNT
    guidance = filter_account(ACCOUNT, shipped()["ila-guidance-consultation"].items)
    assert "employers" not in guidance
    assert guidance["person"]["name"] == "Demo Person"
    assert guidance["trainings"][0]["certificate"] == "C1"
    assert filter_account(ACCOUNT, []) == {
        "person": {"national_number": "90010199701"},
        "year": 2026,
        "as_of": None,
    }

"""Access use cases on a real database (SQLite and PostgreSQL, each test rolled back), and the
API's last-resort error handlers."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from joserfc.jwk import ECKey, OKPKey, RSAKey
from sqlalchemy.exc import IntegrityError

from ila.access.domain import Caller, Scope, local_date
from ila.access.service import (
    acting_for,
    add_client,
    grant_mandate,
    list_clients,
    revoke_client,
    revoke_mandate,
)
from ila.api.app import create_api
from ila.bootstrap import Container
from ila.db.base import utcnow
from ila.errors import Conflict, DomainError, InvalidEnterpriseNumber, NotFound, ValidationError
from tests import builders

Keys = dict[str, RSAKey | ECKey | OKPKey]


def _caller(organisation: str, *scopes: Scope) -> Caller:
    return Caller(1, "client", organisation, frozenset(scopes or tuple(Scope)))


def test_acting_for_own_mandated_and_hidden(container: Container) -> None:
    employer = builders.employer(container, 1, fte="12")
    trainer = builders.fake_enterprise(2)
    later = builders.fake_enterprise(3)
    today = local_date(utcnow())
    grant_mandate(
        container.uow(),
        employer=employer,
        provider=trainer,
        kind="training_provider",
        valid_from=date(2024, 1, 1),
        valid_to=None,
        actor="t",
    )
    grant_mandate(
        container.uow(),
        employer=employer,
        provider=later,
        kind="software_vendor",
        valid_from=today + timedelta(days=3),
        valid_to=None,
        actor="t",
    )
    now = utcnow()
    with container.uow() as uow:
        s = uow.session
        own = acting_for(s, _caller(employer), employer, at=now, scope=Scope.EMPLOYER_RIGHTS_READ)
        assert (own.enterprise_number, own.mandate_id) == (employer, None)

        acting = acting_for(
            s, _caller(trainer), employer, at=now, scope=Scope.EMPLOYER_TRAININGS_WRITE
        )
        assert acting.mandate_id is not None
        assert acting.scopes == {Scope.EMPLOYER_TRAININGS_WRITE}

        hidden = [
            (_caller(trainer), employer, Scope.EMPLOYER_RIGHTS_READ),  # not a trainer's scope
            (_caller(later), employer, Scope.EMPLOYER_RIGHTS_READ),  # mandate not yet valid
            (
                _caller(employer, Scope.EMPLOYER_RIGHTS_READ),
                employer,
                Scope.EMPLOYER_RIGHTS_WRITE,
            ),  # not in the token
            (_caller(employer), builders.fake_enterprise(9), Scope.EMPLOYER_RIGHTS_READ),
        ]
        messages = set()
        for caller, en, scope in hidden:
            with pytest.raises(NotFound) as raised:
                acting_for(s, caller, en, at=now, scope=scope)
            messages.add(str(raised.value))
        assert messages == {"[not_found] (enterprise_number) employer not found"}
        with pytest.raises(InvalidEnterpriseNumber):
            acting_for(s, _caller(employer), "123", at=now, scope=Scope.EMPLOYER_RIGHTS_READ)


def test_clients_and_mandates_refuse_bad_input(container: Container, keys: Keys) -> None:
    employer = builders.employer(container, 1, fte="12")
    pem = keys["ec"].as_pem(private=False)

    def add(**overrides: object) -> str:
        args: dict[str, object] = {
            "organisation": employer,
            "name": "n",
            "public_key": pem,
            "scopes": ["employer:rights:read"],
            "actor": "t",
        }
        args.update(overrides)
        return add_client(container.uow(), **args)  # type: ignore[arg-type]

    for overrides, code in (
        ({"name": " "}, "required"),
        ({"name": "x" * 201}, "too_long"),
        ({"scopes": []}, "required"),
        ({"organisation": "12"}, "invalid_enterprise_number"),
    ):
        with pytest.raises(ValidationError) as raised:
            add(**overrides)
        assert raised.value.code == code
    first = add()
    other = add(organisation=builders.fake_enterprise(5))
    with container.uow() as uow:
        assert [c.client_id for c in list_clients(uow.session, employer)] == [first]
        assert {c.client_id for c in list_clients(uow.session)} == {first, other}
    with pytest.raises(NotFound):
        revoke_client(container.uow(), "nobody", actor="t", reason="r")
    with pytest.raises(ValidationError):
        revoke_client(container.uow(), first, actor="t", reason="")

    provider = builders.fake_enterprise(6)
    with pytest.raises(NotFound):
        grant_mandate(
            container.uow(),
            employer=builders.fake_enterprise(7),
            provider=provider,
            kind="software_vendor",
            valid_from=date(2024, 1, 1),
            valid_to=None,
            actor="t",
        )
    view = grant_mandate(
        container.uow(),
        employer=employer,
        provider=provider,
        kind="software_vendor",
        valid_from=date(2024, 1, 1),
        valid_to=date(2024, 6, 30),
        actor="t",
    )
    # the next period does not overlap
    grant_mandate(
        container.uow(),
        employer=employer,
        provider=provider,
        kind="software_vendor",
        valid_from=date(2024, 7, 1),
        valid_to=None,
        actor="t",
    )
    with pytest.raises(NotFound):
        revoke_mandate(
            container.uow(), view.id, actor="t", reason="r", employer=builders.fake_enterprise(7)
        )
    revoke_mandate(container.uow(), view.id, actor="t", reason="r", employer=employer)
    with pytest.raises(Conflict):
        revoke_mandate(container.uow(), view.id, actor="t", reason="r")
    with pytest.raises(NotFound):
        revoke_mandate(container.uow(), 10**6, actor="t", reason="r")


def test_last_resort_errors_are_problems(container: Container) -> None:
    api = create_api(container)
    router = APIRouter()

    @router.get("/boom")
    def boom() -> None:
        raise RuntimeError("bug")

    @router.get("/clash")
    def clash() -> None:
        raise IntegrityError("INSERT", {}, Exception("duplicate key"))

    @router.get("/domain")
    def domain() -> None:
        raise DomainError("something odd")

    api.include_router(router)
    with TestClient(api, raise_server_exceptions=False) as client:
        boom_response = client.get("/boom", headers={"X-Request-ID": "r-1"})
        assert boom_response.status_code == 500
        assert boom_response.headers["content-type"] == "application/problem+json"
        assert boom_response.json()["code"] == "internal_error"
        assert boom_response.headers["x-request-id"] == "r-1"
        assert "r-1" in boom_response.json()["detail"]
        clash_response = client.get("/clash")
        assert (clash_response.status_code, clash_response.json()["code"]) == (
            409,
            "concurrent_update",
        )
        odd = client.get("/domain")
        assert (odd.status_code, odd.json()["code"]) == (400, "domain_error")

"""Retention on SQLite and PostgreSQL: what is due is destroyed with a proof entry in the audit
chain; a dry run reports the same count and digest and destroys nothing; the FLA rule applies
from 1 January 2027 to records taken over from the FLA register only."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from ila.access.models import AccessToken, ApiClient, AssertionJti
from ila.api.models import IdempotencyKey
from ila.audit.chain import verify_chain
from ila.audit.models import AuditEvent
from ila.audit.retention import (
    RetentionRegistry,
    RetentionReport,
    default_registry,
    digest_of,
    run_retention,
)
from ila.audit.retention_rules import FLA_SOURCE
from ila.bootstrap import Container
from ila.db.base import Base
from ila.errors import UnknownRetentionRule
from ila.exchange.domain import Retention
from ila.exchange.retention import (
    CATEGORIES,
    UnknownRetentionCategory,
    period_of,
    register_retention,
    shipped_authorisations,
)
from ila.flows.models import FpieComputation
from ila.flows.rules import fpie_rules
from ila.trainings.domain import DurationUnit, Nature, Source, Status, TrainingData
from ila.trainings.models import Training, TrainingVersion
from ila.trainings.service import record_training
from ila.web.models import Contest
from tests import builders

AT = datetime(2026, 6, 15, 12, tzinfo=UTC)


def _technical_rows(container: Container) -> None:
    with container.uow() as uow:
        s = uow.session
        client = ApiClient(
            client_id=f"c-{uuid.uuid4().hex[:8]}",
            organisation=builders.fake_enterprise(1),
            name="test",
            public_jwk={},
            scopes="",
            created_by="test",
        )
        s.add(client)
        s.flush()
        for i, age in enumerate((40, 31, 29, 1)):
            s.add(
                IdempotencyKey(
                    client_pk=client.id,
                    key=f"k{i}",
                    fingerprint="f" * 64,
                    status_code=201,
                    response_body="{}",
                    created_at=AT - timedelta(days=age),
                )
            )
        for i, expired in enumerate((timedelta(days=3), timedelta(hours=1), -timedelta(hours=1))):
            s.add(
                AccessToken(
                    digest=f"{i}" * 64,
                    client_pk=client.id,
                    scopes="",
                    issued_at=AT - expired - timedelta(minutes=5),
                    expires_at=AT - expired,
                )
            )
        for i, expired in enumerate((timedelta(minutes=2), timedelta(seconds=10))):
            s.add(AssertionJti(client_pk=client.id, jti=f"j{i}", expires_at=AT - expired))
        uow.commit()


def _count(container: Container, model: type[Base]) -> int:
    with container.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(model)) or 0


def _by_rule(report: RetentionReport) -> dict[str, tuple[int, bool]]:
    return {o.rule: (o.count, o.applicable) for o in report.outcomes}


def test_the_shipped_rules_are_registered() -> None:
    registry = default_registry()
    names = [r.name for r in registry.rules()]
    assert names == [
        "access.assertion_jtis",
        "access.tokens",
        "api.idempotency_keys",
        "audit.consultation_log",
        "exchange.regional_trainings",
        "fla.register",
        "flows.fpie_computations",
    ]
    assert all(r.legal_source and r.keep_text and r.destroys for r in registry.rules())
    with pytest.raises(ValueError, match="twice"):
        registry.register(registry.rules()[0])
    assert RetentionRegistry().rules() == []


def test_dry_run_then_run_destroys_what_is_due_with_proof(container: Container) -> None:
    _technical_rows(container)
    registry = default_registry()
    dry = run_retention(container, registry, at=AT, dry_run=True)
    expected = {
        "api.idempotency_keys": (2, True),
        "access.tokens": (1, True),
        "access.assertion_jtis": (1, True),
        "audit.consultation_log": (0, True),
        "exchange.regional_trainings": (0, True),
        "fla.register": (0, False),
        "flows.fpie_computations": (0, True),
    }
    assert _by_rule(dry) == expected
    assert dry.destroyed == 0
    assert (_count(container, IdempotencyKey), _count(container, AccessToken)) == (4, 3)
    assert _count(container, AuditEvent) == 0  # a dry run writes no proof

    real = run_retention(container, registry, at=AT, actor="test:retention")
    assert _by_rule(real) == expected
    assert real.destroyed == 4
    # the dry run announced exactly what the run destroyed
    assert [o.digest for o in real.outcomes] == [o.digest for o in dry.outcomes]
    assert _count(container, IdempotencyKey) == 2
    assert _count(container, AccessToken) == 2
    assert _count(container, AssertionJti) == 1
    with container.uow() as uow:
        proofs = list(uow.session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))
        assert verify_chain(uow.session).intact
    assert [p.details["rule"] for p in proofs] == [
        "access.assertion_jtis",
        "access.tokens",
        "api.idempotency_keys",
    ]
    keys = next(p for p in proofs if p.details["rule"] == "api.idempotency_keys")
    assert (keys.actor, keys.action, keys.resource) == ("test:retention", "destroy", "retention")
    assert keys.details["count"] == 2
    assert keys.details["table"] == "api_idempotency_keys"
    assert keys.details["window"]["before"] == (AT - timedelta(days=30)).isoformat()
    assert keys.details["digest"] == real.outcomes[2].digest
    assert keys.legal_context is not None
    assert [o.proof_seq for o in real.outcomes] == [1, 2, 3, None, None, None, None]

    again = run_retention(container, registry, at=AT)
    assert again.destroyed == 0
    assert _count(container, AuditEvent) == 3  # nothing destroyed, nothing to prove


def test_the_digest_covers_what_is_destroyed() -> None:
    rows = [(1, AT, "a"), (2, AT, "b")]
    assert digest_of("t", rows) == digest_of("t", list(rows))
    assert digest_of("t", rows) != digest_of("t", rows[:1])
    assert digest_of("t", rows) != digest_of("u", rows)
    assert digest_of("t", rows) != digest_of("t", [(1, AT, "a"), (2, AT, "c")])


def _training(container: Container, niss: str, en: str, title: str) -> int:
    return record_training(
        container.uow(),
        actor="test",
        source=Source.EMPLOYER,
        sender=en,
        sender_record_id=uuid.uuid4().hex,
        national_number=niss,
        enterprise_number=en,
        data=TrainingData(
            title=title,
            provider=None,
            start_date=date(2025, 3, 1),
            end_date=date(2025, 3, 1),
            duration_value=Decimal(4),
            duration_unit=DurationUnit.HOURS,
            nature=Nature.FORMAL_INTERNAL,
            status=Status.FOLLOWED,
        ),
    ).training_id


def test_the_fla_rule_from_1_january_2027(container: Container) -> None:
    en = builders.employer(container)
    niss = builders.person(container, 1)
    builders.employ(container, niss, en, start=date(2024, 1, 1))
    kept = _training(container, niss, en, "art. 55 account")
    taken_over = _training(container, niss, en, "from the FLA register")
    with container.uow() as uow:
        uow.session.execute(
            update(Training).where(Training.id == taken_over).values(source=FLA_SOURCE)
        )
        uow.commit()
    registry = default_registry()
    new_year_eve = datetime(2026, 12, 31, 22, 59, tzinfo=UTC)  # 23:59 in Brussels
    report = run_retention(container, registry, at=new_year_eve, only=["fla.register"])
    assert _by_rule(report) == {"fla.register": (0, False)}
    new_year = datetime(2026, 12, 31, 23, 0, tzinfo=UTC)  # midnight in Brussels
    report = run_retention(container, registry, at=new_year, only=["fla.register"])
    assert _by_rule(report) == {"fla.register": (1, True)}
    with container.uow() as uow:
        s = uow.session
        assert list(s.scalars(select(Training.id))) == [kept]
        assert set(s.scalars(select(TrainingVersion.training_id))) == {kept}
        (proof,) = s.scalars(select(AuditEvent))
    assert proof.details["rule"] == "fla.register"
    assert proof.details["count"] == 1
    assert "14 January 2026" in (proof.legal_context or "")


def test_regional_trainings_are_kept_as_long_as_their_authorisation_says(
    container: Container,
) -> None:
    """``ila-regional-trainings`` keeps ``training_records`` P10Y: on 15 June 2026 (Brussels)
    a regional record made before 15 June 2016 00:00 is destroyed with its versions and
    contests; one made at that midnight is kept, and so is an employer's record of any age."""
    en = builders.employer(container)
    niss = builders.person(container, 1)
    builders.employ(container, niss, en, start=date(2015, 1, 1))
    due = _training(container, niss, en, "regional, recorded 14 June 2016 23:59 Brussels")
    kept = _training(container, niss, en, "regional, recorded 15 June 2016 00:00 Brussels")
    employer_record = _training(container, niss, en, "employer's, as old")
    recorded = {
        due: datetime(2016, 6, 14, 21, 59, tzinfo=UTC),
        kept: datetime(2016, 6, 14, 22, 0, tzinfo=UTC),
        employer_record: datetime(2010, 1, 1, tzinfo=UTC),
    }
    with container.uow() as uow:
        s = uow.session
        for training_id, at in recorded.items():
            source = Source.EMPLOYER if training_id == employer_record else Source.REGION
            s.execute(
                update(Training)
                .where(Training.id == training_id)
                .values(source=source.value, created_at=at)
            )
        s.add(Contest(training_id=due, national_number=niss, reason="not me", opened_at=AT))
        uow.commit()
    registry = default_registry()
    (rule,) = [r for r in registry.rules() if r.name == "exchange.regional_trainings"]
    assert "ila-regional-trainings" in rule.legal_source
    dry = run_retention(container, registry, at=AT, dry_run=True, only=[rule.name])
    assert _by_rule(dry) == {rule.name: (1, True)}
    report = run_retention(container, registry, at=AT, only=[rule.name])
    assert _by_rule(report) == {rule.name: (1, True)}
    assert report.outcomes[0].digest == dry.outcomes[0].digest
    with container.uow() as uow:
        s = uow.session
        assert set(s.scalars(select(Training.id))) == {kept, employer_record}
        assert set(s.scalars(select(TrainingVersion.training_id))) == {kept, employer_record}
        assert list(s.scalars(select(Contest))) == []
        (proof,) = s.scalars(select(AuditEvent))
        assert verify_chain(uow.session).intact
    assert (proof.details["rule"], proof.details["count"]) == (rule.name, 1)
    assert proof.details["window"]["keep"] == "P10Y after they were recorded"
    assert proof.details["window"]["before"] == "2016-06-15T00:00:00+02:00"


def test_every_retention_category_of_the_authorisations_is_honoured() -> None:
    """A category the platform does not know fails the registry; FPIE's period in the
    authorisation is the one the flow stores (``retain_until``)."""
    shipped = shipped_authorisations()
    named = {c for a in shipped for c in a.retention}
    assert named == set(CATEGORIES)
    assert str(period_of("fpie_calculation")) == f"P{fpie_rules().retention_years}Y"
    assert period_of("career_break_possibilities").never_stored
    unknown = replace(shipped[0], retention={"biometrics": Retention.parse("P1Y")})
    with pytest.raises(UnknownRetentionCategory, match="biometrics"):
        register_retention(RetentionRegistry(), (unknown,))


def test_calendar_periods() -> None:
    assert Retention.parse("P10Y").earliest_kept(date(2026, 6, 15)) == date(2016, 6, 15)
    assert Retention.parse("P10Y").earliest_kept(date(2028, 2, 29)) == date(2018, 2, 28)
    assert Retention.parse("P1M").earliest_kept(date(2026, 3, 31)) == date(2026, 2, 28)
    assert Retention.parse("P1Y2M3D").earliest_kept(date(2026, 1, 10)) == date(2024, 11, 7)
    assert Retention.parse("P0D").earliest_kept(date(2026, 1, 10)) == date(2026, 1, 10)


def test_an_unknown_rule_is_refused(container: Container) -> None:
    with pytest.raises(UnknownRetentionRule):
        run_retention(container, default_registry(), only=["nothing"])


def test_fpie_computations_are_kept_ten_years_then_destroyed_with_proof(
    container: Container,
) -> None:
    computed = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    with container.uow() as uow:
        for n, at in enumerate((computed, computed + timedelta(days=400))):
            uow.session.add(
                FpieComputation(
                    computed_at=at,
                    retain_until=date(at.year + 10, at.month, at.day),
                    national_number="90010190193",
                    organisation="0999200463",
                    actor="adviser",
                    role="fpie_pedagogical_adviser",
                    legal_context="csi-22-086-fpie",
                    request_id=f"fpie-{n}",
                    rule_version="test",
                    case="right",
                    first_month=date(2026, 1, 1),
                    last_month=date(2026, 2, 1),
                    total_allowance=Decimal("100.00"),
                    inputs={},
                    result={},
                )
            )
        uow.commit()
    registry = default_registry()
    # on its retain_until day (2036-03-02) the first one is still kept
    kept = run_retention(container, registry, at=datetime(2036, 3, 2, 23, 0, tzinfo=UTC))
    assert _by_rule(kept)["flows.fpie_computations"] == (0, True)
    later = run_retention(container, registry, at=datetime(2036, 3, 4, 0, 0, tzinfo=UTC))
    assert _by_rule(later)["flows.fpie_computations"] == (1, True)
    with container.uow() as uow:
        left = list(uow.session.scalars(select(FpieComputation.request_id)))
        proof = uow.session.scalars(select(AuditEvent).where(AuditEvent.action == "destroy")).all()
        assert verify_chain(uow.session).intact
    assert left == ["fpie-1"]
    assert [p.details["rule"] for p in proof] == ["flows.fpie_computations"]
    assert proof[0].details["count"] == 1

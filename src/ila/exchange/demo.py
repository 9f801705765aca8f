"""The exchange part of the synthetic demo: the authorisations, directory entries of the
regional services for three demo personas, one training sent by a region, and (when a key
directory is given) one API client per regional service with a freshly generated Ed25519 key.

The regional services' enterprise numbers are the synthetic ones of the authorisations file
(0999.200.kCC). Idempotent: a second call adds nothing. Called by ``ila.demo``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from ila.access.domain import Scope
from ila.access.service import add_client, list_clients
from ila.bootstrap import Container
from ila.db.base import utcnow
from ila.exchange.directory import register_entry
from ila.exchange.domain import Operation
from ila.exchange.service import authorise_context, load_authorisations, receive_training
from ila.trainings.domain import DurationUnit, Nature, NotCountingReason, Status, TrainingData

VDAB = "0999200166"
FOREM = "0999200265"
ACTIRIS = "0999200364"
BRUXELLES_FORMATION = "0999200463"
ADG = "0999200562"
REGIONAL_SERVICES = {
    VDAB: "VDAB",
    FOREM: "Le Forem",
    ACTIRIS: "Actiris",
    BRUXELLES_FORMATION: "Bruxelles Formation",
    ADG: "ADG",
}
INSTITUTION_SCOPES = (
    Scope.INSTITUTION_ACCOUNT_READ,
    Scope.INSTITUTION_TRAININGS_WRITE,
    Scope.INSTITUTION_DIRECTORY_READ,
    Scope.INSTITUTION_DIRECTORY_WRITE,
)
CLIENT_NAME = "Demo exchange client"
DEMO_FROM = date(2026, 3, 20)  # the day the ILA authorisations start


@dataclass
class ExchangeDemoReport:
    authorisations: int = 0  # created or new versions
    entries: int = 0  # directory entries created
    trainings: int = 0  # regional trainings created
    clients: dict[str, str] = field(default_factory=dict)  # enterprise number → client id


def load_exchange_demo(
    container: Container,
    *,
    guided: str,
    trainee: str,
    fpie_candidate: str,
    keys_dir: Path | None = None,
) -> ExchangeDemoReport:
    """Load the exchange demo for three demo persons (national numbers of persons the demo
    already holds): ``guided`` by VDAB and Actiris, ``trainee`` of Le Forem (who sends one
    training with a certificate), ``fpie_candidate`` of Bruxelles Formation. With
    ``keys_dir``, each regional service without a demo client gets one; its private key is
    written to ``keys_dir/<enterprise number>.pem`` (mode 0600) and never stored."""
    report = ExchangeDemoReport()
    report.authorisations = sum(
        r.status != "unchanged" for r in load_authorisations(container.uow(), actor="demo")
    )
    for institution, person, capacity in (
        (VDAB, guided, "jobseeker_guidance"),
        (ACTIRIS, guided, "jobseeker_guidance"),
        (FOREM, trainee, "trainee"),
        (FOREM, trainee, "training_guidance"),
        (BRUXELLES_FORMATION, fpie_candidate, "fpie_candidate"),
        (BRUXELLES_FORMATION, fpie_candidate, "training_guidance"),
    ):
        _, created = register_entry(
            container.uow(),
            institution=institution,
            national_number=person,
            capacity=capacity,
            valid_from=DEMO_FROM,
            valid_to=None,
            actor="demo",
        )
        report.entries += created
    with container.uow() as uow:
        auth = authorise_context(
            uow.session,
            caller=FOREM,
            legal_context="ila-regional-trainings",
            role="training_registrar",
            at=utcnow(),
            operation=Operation.TRAININGS_SEND,
        )
        recorded = receive_training(
            container,
            uow.session,
            auth,
            caller=FOREM,
            actor="demo",
            record_id="DEMO-FOREM-000001",
            national_number=trainee,
            data=_regional_training(),
            at=utcnow(),
        )
        report.trainings += recorded.created
        uow.commit()  # (a no-op write-wise; keeps nested units of work)
    if keys_dir is not None:
        report.clients = _clients(container, keys_dir)
    return report


def _regional_training() -> TrainingData:
    """A training followed with Le Forem outside any employment: it does not count toward an
    employer's federal right (outside the professional context)."""
    return TrainingData(
        title="Soudage semi-automatique (MIG-MAG)",
        provider="Le Forem — centre de compétence",
        start_date=date(2026, 4, 13),
        end_date=date(2026, 6, 26),
        duration_value=Decimal(280),
        duration_unit=DurationUnit.HOURS,
        nature=Nature.FORMAL_EXTERNAL,
        status=Status.FOLLOWED,
        counts_toward_right=False,
        not_counting_reason=NotCountingReason.OUTSIDE_PROFESSIONAL_CONTEXT,
        certificate="Certificat de compétence soudeur MIG-MAG (démo)",
    )


def _clients(container: Container, keys_dir: Path) -> dict[str, str]:
    keys_dir.mkdir(parents=True, exist_ok=True)
    clients: dict[str, str] = {}
    for institution, name in REGIONAL_SERVICES.items():
        with container.uow() as uow:
            existing = [
                c for c in list_clients(uow.session, institution) if c.name.startswith(CLIENT_NAME)
            ]
        if existing:
            clients[institution] = existing[0].client_id
            continue
        private = ed25519.Ed25519PrivateKey.generate()
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        path = keys_dir / f"{institution}.pem"
        path.touch(mode=0o600)
        path.write_bytes(pem)
        clients[institution] = add_client(
            container.uow(),
            organisation=institution,
            name=f"{CLIENT_NAME} ({name})",
            public_key=private.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            ),
            scopes=[s.value for s in INSTITUTION_SCOPES],
            actor="demo",
        )
    return clients

"""Signed checkpoints of the audit chain (Ed25519) and the full verification of the trail.

A hash chain alone proves only that the rows agree with each other: someone able to write to the
database could recompute every hash after a change. A checkpoint signs the chain's position and
hash at a moment with a key the database does not hold (a PEM file named in settings); the
verification then anchors the walk on every authentic checkpoint, so a rewrite of anything up
to the last checkpoint is detected even when all hashes were recomputed. Publish or copy the
checkpoints elsewhere (``ila audit checkpoint`` prints them) to protect them from deletion."""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ila.audit.chain import Anchor, ChainProblem, ChainReport, canonical_json, verify_chain
from ila.audit.models import AuditChainHead, AuditCheckpoint
from ila.config import Settings
from ila.db.base import utcnow
from ila.errors import ConfigurationError


def key_id(public_key: Ed25519PublicKey) -> str:
    """A short fingerprint naming the key that signed a checkpoint."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def signing_key(settings: Settings) -> Ed25519PrivateKey:
    """The checkpoint key: the PEM file ``ILA_AUDIT_SIGNING_KEY_FILE``; without one, a key
    derived from ``ILA_SECRET_KEY`` (which production refuses to leave at its default). A
    separate file, kept away from whoever administers the database, is the stronger setup."""
    path = settings.audit_signing_key_file
    if path is None:
        seed = hashlib.sha256(b"ila-audit-checkpoint:" + settings.secret_key.encode()).digest()
        return Ed25519PrivateKey.from_private_bytes(seed)
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigurationError(f"cannot read the audit signing key {path}: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigurationError(f"the audit signing key {path} is not an Ed25519 key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """A verification key from a PEM file (public key, or a private key whose public half is
    taken)."""
    data = path.read_bytes()
    try:
        key: object = serialization.load_pem_public_key(data)
    except ValueError:
        try:
            key = serialization.load_pem_private_key(data, password=None).public_key()
        except (ValueError, TypeError) as exc:
            raise ConfigurationError(f"{path} is not a PEM key: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ConfigurationError(f"{path} is not an Ed25519 key")
    return key


def signed_message(seq: int, entry_hash: str, created_at: datetime, signer: str) -> bytes:
    return canonical_json(
        {
            "format": "ila-audit-checkpoint-v1",
            "seq": seq,
            "entry_hash": entry_hash,
            "created_at": created_at.isoformat(timespec="microseconds"),
            "key_id": signer,
        }
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


@dataclass(frozen=True, slots=True)
class CheckpointResult:
    created: bool
    seq: int
    entry_hash: str
    key_id: str
    signature: str
    since_last: int


def create_checkpoint(
    session: Session, key: Ed25519PrivateKey, *, actor: str, min_entries: int = 1
) -> CheckpointResult:
    """Sign the current end of the chain, in the session's transaction, when at least
    ``min_entries`` entries were appended since the last checkpoint (``created`` says whether
    one was written). Locks the chain head so the signed position is the committed one."""
    head = session.execute(
        select(AuditChainHead.seq, AuditChainHead.entry_hash)
        .where(AuditChainHead.id == 1)
        .with_for_update()
    ).first()
    seq, digest = (0, "0" * 64) if head is None else (head.seq, head.entry_hash)
    last = session.scalar(select(func.max(AuditCheckpoint.seq))) or 0
    signer = key_id(key.public_key())
    if seq == 0 or seq - last < max(min_entries, 1):
        return CheckpointResult(False, seq, digest, signer, "", seq - last)
    at = utcnow()
    signature = _b64(key.sign(signed_message(seq, digest, at, signer)))
    session.add(
        AuditCheckpoint(
            seq=seq,
            entry_hash=digest,
            created_at=at,
            created_by=actor,
            key_id=signer,
            signature=signature,
        )
    )
    session.flush()
    return CheckpointResult(True, seq, digest, signer, signature, seq - last)


def _authentic(checkpoint: AuditCheckpoint, keys: dict[str, Ed25519PublicKey]) -> str | None:
    """Why this checkpoint is not authentic, or ``None`` when its signature holds."""
    public = keys.get(checkpoint.key_id)
    if public is None:
        return f"signed with an unknown key {checkpoint.key_id!r}"
    try:
        signature = base64.urlsafe_b64decode(
            checkpoint.signature + "=" * (-len(checkpoint.signature) % 4)
        )
        public.verify(
            signature,
            signed_message(
                checkpoint.seq, checkpoint.entry_hash, checkpoint.created_at, checkpoint.key_id
            ),
        )
    except (InvalidSignature, binascii.Error, ValueError):
        return "its signature does not verify (checkpoint altered or forged)"
    return None


def verify_trail(session: Session, public_keys: Iterable[Ed25519PublicKey]) -> ChainReport:
    """Verify every checkpoint's signature, then walk the chain anchored on the authentic
    ones. A checkpoint that does not verify is itself a problem at its ``seq``."""
    keys = {key_id(k): k for k in public_keys}
    anchors: list[Anchor] = []
    bad: list[ChainProblem] = []
    checkpoints = list(session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.seq)))
    for cp in checkpoints:
        why = _authentic(cp, keys)
        if why is None:
            anchors.append(Anchor(cp.seq, cp.entry_hash, cp.id))
        else:
            bad.append(ChainProblem(cp.seq, "checkpoint", f"checkpoint {cp.id}: {why}"))
    report = verify_chain(session, anchors)
    report.checkpoints = len(checkpoints)
    report.problems.extend(bad)
    return report

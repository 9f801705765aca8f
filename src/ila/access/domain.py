"""Pure access rules: permission scopes, mandate kinds and what each may do, the caller of an
API request, and the public keys clients register. No database, no HTTP."""

from __future__ import annotations

import hashlib
import json
from base64 import urlsafe_b64decode
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, OKPKey, RSAKey

from ila.errors import InsufficientScope, InvalidPeriod, UnknownCode, ValidationError

BELGIAN_TIME = ZoneInfo("Europe/Brussels")


class Scope(StrEnum):
    """Permissions, named ``audience:resource:action``."""

    EMPLOYER_WORKERS_READ = "employer:workers:read"
    EMPLOYER_RIGHTS_READ = "employer:rights:read"
    EMPLOYER_RIGHTS_WRITE = "employer:rights:write"
    EMPLOYER_TRAININGS_READ = "employer:trainings:read"
    EMPLOYER_TRAININGS_WRITE = "employer:trainings:write"
    EMPLOYER_DASHBOARD_READ = "employer:dashboard:read"
    EMPLOYER_MANDATES_READ = "employer:mandates:read"
    EMPLOYER_MANDATES_WRITE = "employer:mandates:write"
    PERSON_ACCOUNT_READ = "person:account:read"
    INSTITUTION_ACCOUNT_READ = "institution:account:read"
    INSTITUTION_TRAININGS_WRITE = "institution:trainings:write"
    INSTITUTION_DIRECTORY_READ = "institution:directory:read"
    INSTITUTION_DIRECTORY_WRITE = "institution:directory:write"
    INSTITUTION_FPIE_COMPUTE = "institution:fpie:compute"
    SENDER_BATCHES_WRITE = "sender:batches:write"
    SENDER_BATCHES_READ = "sender:batches:read"


SCOPE_DESCRIPTIONS: dict[str, str] = {
    Scope.EMPLOYER_WORKERS_READ: "Read an employer's workers, headcount and band.",
    Scope.EMPLOYER_RIGHTS_READ: "Read an employer's training rights with their derivation.",
    Scope.EMPLOYER_RIGHTS_WRITE: "Register or change an employer's training rights.",
    Scope.EMPLOYER_TRAININGS_READ: "Read the trainings recorded for an employer's workers.",
    Scope.EMPLOYER_TRAININGS_WRITE: "Register, rectify or cancel trainings for an employer.",
    Scope.EMPLOYER_DASHBOARD_READ: "Read an employer's dashboard figures.",
    Scope.EMPLOYER_MANDATES_READ: "Read the mandates an employer granted (employer only).",
    Scope.EMPLOYER_MANDATES_WRITE: "Grant or revoke an employer's mandates (employer only).",
    Scope.PERSON_ACCOUNT_READ: "Read a person's learning account.",
    Scope.INSTITUTION_ACCOUNT_READ: "Read a person's learning account under a legal context "
    "(an institution, the items its authorisation allows).",
    Scope.INSTITUTION_TRAININGS_WRITE: "Send trainings and certificates (a regional service).",
    Scope.INSTITUTION_DIRECTORY_READ: "List an institution's person directory.",
    Scope.INSTITUTION_DIRECTORY_WRITE: "Register or unregister persons in an institution's "
    "directory.",
    Scope.INSTITUTION_FPIE_COMPUTE: "Compute FPIE training allowances (Bruxelles Formation's "
    "pedagogical advisers, deliberation 22/086).",
    Scope.SENDER_BATCHES_WRITE: "Submit XML batch files (each record is held to what the "
    "sender may do for its employer).",
    Scope.SENDER_BATCHES_READ: "Follow the sender's own XML batches and read their results.",
}


class ProviderKind(StrEnum):
    SOCIAL_SECRETARIAT = "social_secretariat"
    SOFTWARE_VENDOR = "software_vendor"
    TRAINING_PROVIDER = "training_provider"


_EMPLOYER_DATA_SCOPES = frozenset(
    {
        Scope.EMPLOYER_WORKERS_READ,
        Scope.EMPLOYER_RIGHTS_READ,
        Scope.EMPLOYER_RIGHTS_WRITE,
        Scope.EMPLOYER_TRAININGS_READ,
        Scope.EMPLOYER_TRAININGS_WRITE,
        Scope.EMPLOYER_DASHBOARD_READ,
    }
)

MANDATE_SCOPES: dict[ProviderKind, frozenset[Scope]] = {
    # a payroll office or its software acts for the employer on everything but the mandates
    ProviderKind.SOCIAL_SECRETARIAT: _EMPLOYER_DATA_SCOPES,
    ProviderKind.SOFTWARE_VENDOR: _EMPLOYER_DATA_SCOPES,
    # a training provider only registers the trainings (planned or followed) it gives
    ProviderKind.TRAINING_PROVIDER: frozenset({Scope.EMPLOYER_TRAININGS_WRITE}),
}
"""What a mandate of each kind lets a provider do for the employer. The mandates themselves
(``employer:mandates:*``) are managed by the employer only."""


def parse_scopes(values: Iterable[str], *, field: str = "scope") -> frozenset[Scope]:
    scopes: set[Scope] = set()
    for value in values:
        try:
            scopes.add(Scope(value))
        except ValueError:
            raise UnknownCode(
                f"unknown scope {value!r}; known: {', '.join(Scope)}", field=field
            ) from None
    return frozenset(scopes)


def scopes_text(scopes: Iterable[Scope]) -> str:
    """Space-separated, sorted: the OAuth ``scope`` parameter form."""
    return " ".join(sorted(scopes))


def parse_kind(value: str) -> ProviderKind:
    try:
        return ProviderKind(value)
    except ValueError:
        raise UnknownCode(
            f"unknown provider kind {value!r}; known: {', '.join(ProviderKind)}", field="kind"
        ) from None


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated API client: who calls, for which organisation, with which scopes."""

    client_pk: int
    client_id: str
    organisation: str  # enterprise number, 10 digits
    scopes: frozenset[Scope]

    @property
    def actor(self) -> str:
        """How the caller is recorded in ``recorded_by`` columns."""
        return f"api:{self.client_id}@{self.organisation}"


def require_scope(caller: Caller, scope: Scope) -> None:
    """The token must carry the operation's scope (else 403, whatever the data)."""
    if scope not in caller.scopes:
        raise InsufficientScope(f"this operation needs the scope {scope}", scope=scope.value)


@dataclass(frozen=True, slots=True)
class Acting:
    """The caller may act for this employer now: as itself, or under this mandate."""

    employer_id: int
    enterprise_number: str
    mandate_id: int | None
    scopes: frozenset[Scope]


def local_date(at: datetime) -> date:
    """Mandate periods are Belgian calendar dates."""
    return at.astimezone(BELGIAN_TIME).date()


def check_period(valid_from: date, valid_to: date | None) -> None:
    if valid_to is not None and valid_to < valid_from:
        raise InvalidPeriod("a mandate cannot end before it starts", field="valid_to")


def mandate_active(
    valid_from: date, valid_to: date | None, revoked_at: datetime | None, at: datetime
) -> bool:
    day = local_date(at)
    return (
        valid_from <= day
        and (valid_to is None or day <= valid_to)
        and (revoked_at is None or revoked_at > at)
    )


def periods_overlap(a_from: date, a_to: date | None, b_from: date, b_to: date | None) -> bool:
    return (a_to is None or b_from <= a_to) and (b_to is None or a_from <= b_to)


# --- client keys ---------------------------------------------------------------------------

ASSERTION_ALGORITHMS = ("RS256", "PS256", "ES256", "EdDSA", "Ed25519")
"""Signature algorithms accepted on client assertions. ``Ed25519`` is the fully specified name
RFC 9864 gives to ``EdDSA`` with that curve."""

MIN_RSA_BITS = 2048


def parse_public_key(data: bytes, *, filename: str = "key") -> dict[str, Any]:
    """A client's public key from PEM or JWK (JSON) bytes, as a public JWK dict.

    RSA (≥ 2048 bits), EC P-256 or OKP Ed25519; private keys and symmetric keys are refused so
    that no secret is ever stored."""
    text = data.strip()
    if b"PRIVATE KEY" in text:
        raise ValidationError(
            f"{filename}: this is a private key; register the public key only",
            field="public_key",
        )
    try:
        key = _import_public(text)
    except _WeakKey as exc:
        raise ValidationError(f"{filename}: {exc}", field="public_key") from None
    except (JoseError, ValueError, TypeError) as exc:
        raise ValidationError(
            f"{filename}: not a PEM or JWK public key ({exc})", field="public_key"
        ) from None
    if key is None:
        raise ValidationError(
            f"{filename}: an RSA, EC or OKP (Ed25519) public key is expected",
            field="public_key",
        )
    if key.is_private:
        raise ValidationError(
            f"{filename}: this is a private key; register the public key only",
            field="public_key",
        )
    return dict(key.as_dict(private=False))


_KEY_TYPES: dict[str, type[RSAKey | ECKey | OKPKey]] = {"RSA": RSAKey, "EC": ECKey, "OKP": OKPKey}
_CURVES = {"EC": "P-256", "OKP": "Ed25519"}
_PEM_CURVES = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}


def _import_public(text: bytes) -> RSAKey | ECKey | OKPKey | None:
    """Import the key once its strength is known to be acceptable (joserfc would only warn)."""
    if text.startswith(b"{"):
        raw: dict[str, Any] = json.loads(text)  # text starting with "{" parses to an object
        kty = str(raw.get("kty"))
        if kty == "RSA":
            _check_rsa_bits(int.from_bytes(urlsafe_b64decode(str(raw.get("n", "")) + "==")))
        elif kty in _CURVES:
            _check_curve(str(raw.get("crv")), _CURVES[kty])
        else:
            return None
        return _KEY_TYPES[kty].import_key(raw)
    public = load_pem_public_key(text)
    if isinstance(public, rsa.RSAPublicKey):
        _check_rsa_bits(public.public_numbers().n)
        return RSAKey.import_key(text)
    if isinstance(public, ec.EllipticCurvePublicKey):
        _check_curve(_PEM_CURVES.get(public.curve.name, public.curve.name), "P-256")
        return ECKey.import_key(text)
    if isinstance(public, ed25519.Ed25519PublicKey):
        return OKPKey.import_key(text)
    return None


class _WeakKey(ValueError):
    pass


def _check_rsa_bits(modulus: int) -> None:
    if modulus.bit_length() < MIN_RSA_BITS:
        raise _WeakKey(f"RSA keys need at least {MIN_RSA_BITS} bits")


def _check_curve(curve: str, expected: str) -> None:
    if curve != expected:
        raise _WeakKey(f"curve {curve} is not accepted; use {expected}")


def token_digest(token: str) -> str:
    """Access tokens are stored as their SHA-256: 256 random bits need no slow hash."""
    return hashlib.sha256(token.encode()).hexdigest()

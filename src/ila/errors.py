"""One exception hierarchy for the whole domain.

Every error a user can cause carries a stable machine ``code`` (never match on messages), a
human message, and optionally the ``field`` it is about. Channels map these in one place
each: problem+json for the API, the result document for XML batches, one red line for the CLI.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error caused by input or by the state of the data (never a bug)."""

    code: str = "domain_error"

    def __init__(
        self, message: str, *, field: str | None = None, code: str | None = None, **details: Any
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code
        self.details = details

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        if self.details:
            body["details"] = self.details
        return body

    def __str__(self) -> str:
        where = f" ({self.field})" if self.field else ""
        return f"[{self.code}]{where} {self.message}"


class ValidationError(DomainError):
    """A value is malformed or out of range."""

    code = "invalid_value"


class InvalidNationalNumber(ValidationError):
    code = "invalid_national_number"


class InvalidEnterpriseNumber(ValidationError):
    code = "invalid_enterprise_number"


class InvalidJointCommittee(ValidationError):
    code = "invalid_joint_committee"


class InvalidPeriod(ValidationError):
    """An end date before its start date, or a period outside what the rule allows."""

    code = "invalid_period"


class InvalidWorkFraction(ValidationError):
    code = "invalid_work_fraction"


class InvalidDuration(ValidationError):
    code = "invalid_duration"


class UnknownCode(ValidationError):
    """A code (nature, status, end reason, ...) that is not in the code list."""

    code = "unknown_code"


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    """The request contradicts the stored state (duplicate, stale version, already cancelled)."""

    code = "conflict"


class StaleVersion(Conflict):
    code = "stale_version"


class DuplicateRecord(Conflict):
    code = "duplicate_record"


class Unauthenticated(DomainError):
    """No credentials, or credentials that are invalid, expired or revoked (API: 401)."""

    code = "unauthenticated"


class InvalidToken(Unauthenticated):
    code = "invalid_token"


class Forbidden(DomainError):
    """Authenticated, but the credentials do not allow this operation (API: 403). Never used
    for another tenant's data, which is reported as :class:`NotFound`."""

    code = "forbidden"


class InsufficientScope(Forbidden):
    code = "insufficient_scope"


class OAuthError(DomainError):
    """A token request refused per RFC 6749 §5.2; ``code`` is the OAuth ``error`` value
    (``invalid_request``, ``invalid_client``, ``unsupported_grant_type``, ``invalid_scope``)."""

    code = "invalid_request"


class IdempotencyKeyReused(ValidationError):
    """An ``Idempotency-Key`` sent again with a different request."""

    code = "idempotency_key_reused"


class RuleNotFound(DomainError):
    """No rule data covers the requested year or case."""

    code = "rule_not_found"


class ConfigurationError(Exception):
    """The platform is configured unsafely or inconsistently; refuse to start."""

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


class RuleNotFound(DomainError):
    """No rule data covers the requested year or case."""

    code = "rule_not_found"


class ConfigurationError(Exception):
    """The platform is configured unsafely or inconsistently; refuse to start."""

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


# --- data exchange (issue 6): authorisations, person directory, legal context ------------------


class LegalContextRequired(Forbidden):
    """An exchange without a legal context (the id of the authorisation it is made under)."""

    code = "legal_context_required"


class UnknownLegalContext(Forbidden):
    """The legal context names no loaded authorisation."""

    code = "unknown_legal_context"


class PurposeNotAuthorised(Forbidden):
    """The authorisation exists but is for another operation (purpose limitation)."""

    code = "purpose_not_authorised"


class PartyNotAuthorised(Forbidden):
    """The calling organisation is not a party of the authorisation on this side."""

    code = "party_not_authorised"


class RoleNotAuthorised(Forbidden):
    """The role the caller acts in is not one the authorisation allows."""

    code = "role_not_authorised"


class AuthorisationExpired(Forbidden):
    """The authorisation is not in force on the day of the exchange (ended or not yet valid)."""

    code = "authorisation_expired"


class NoDirectoryEntry(Forbidden):
    """The caller's person directory has no entry covering the person, on that day, in a
    capacity the authorisation accepts."""

    code = "no_directory_entry"


class ItemNotAuthorised(Forbidden):
    """A data item the authorisation does not allow (e.g. a certificate sent without the
    ``trainings.certificates`` item)."""

    code = "item_not_authorised"


class OverlappingDirectoryEntry(Conflict):
    """A directory entry whose period overlaps, without being covered by, an entry of the same
    institution, person and capacity."""

    code = "overlapping_entry"


class InvalidBatchFile(ValidationError):
    """An XML batch file that cannot be processed at all (not XML, a DOCTYPE, too large, wrong
    encoding, truncated, no valid header): the batch fails and none of its records is applied.
    The specific reason is the ``code`` (``xml_not_well_formed``, ``xml_dtd_forbidden``, …)."""

    code = "invalid_batch_file"


class BatchReferenceReused(Conflict):
    """A batch reference the sender already used, sent again with a different file."""

    code = "batch_reference_reused"


# --- authentic sources and the seed flows (issue 6) -----------------------------------------


class RoleNotAllowed(Forbidden):
    """The acting user's role is not one the authorisation of the flow allows (API: 403)."""

    code = "role_not_allowed"


class LegalContextRefused(Forbidden):
    """The call's legal context is not the authorisation that covers this flow (API: 403)."""

    code = "legal_context_refused"


class SourceDataInvalid(DomainError):
    """An authentic source answered with data the platform cannot use (incomplete)."""

    code = "source_data_invalid"


# --- audit chain, retention, webhooks (issue 6) ---------------------------------------------


class UnknownRetentionRule(NotFound):
    """``ila retention run --rule`` names no registered retention rule."""

    code = "unknown_retention_rule"


class InvalidWebhookUrl(ValidationError):
    """A webhook URL that is not http(s), or plain http outside loopback where https is
    required (production)."""

    code = "invalid_url"


class BatchNotFinished(Conflict):
    """The result document of a batch that is not done or failed yet."""

    code = "batch_not_finished"

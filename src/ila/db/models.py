"""Imports every table so that ``Base.metadata`` is complete (Alembic, tests)."""

from ila.access.models import AccessToken, ApiClient, AssertionJti, Mandate
from ila.api.models import IdempotencyKey
from ila.audit.models import AuditChainHead, AuditCheckpoint, AuditEvent
from ila.batch.models import Batch, BatchRecord
from ila.db.base import Base
from ila.employment.models import Employment, QuarterlyFte, Suspension, WorkFraction
from ila.exchange.models import AuthorisationVersion, DirectoryEntry
from ila.exchange.outbox import OutboxEvent
from ila.exchange.webhooks import WebhookDelivery, WebhookSubscription
from ila.flows.models import FpieComputation
from ila.identity.models import Employer, Person
from ila.jobs.models import ScheduledJob
from ila.rights.models import RightOptOut, RightVerification, RightVersion
from ila.sources.models import SourceEmployment
from ila.trainings.models import Training, TrainingVersion
from ila.web.models import Contest, WebRole, WebStaff

metadata = Base.metadata

__all__ = [
    "AccessToken",
    "ApiClient",
    "AssertionJti",
    "AuditChainHead",
    "AuditCheckpoint",
    "AuditEvent",
    "AuthorisationVersion",
    "Batch",
    "BatchRecord",
    "Contest",
    "DirectoryEntry",
    "Employer",
    "Employment",
    "FpieComputation",
    "IdempotencyKey",
    "Mandate",
    "OutboxEvent",
    "Person",
    "QuarterlyFte",
    "RightOptOut",
    "RightVerification",
    "RightVersion",
    "ScheduledJob",
    "SourceEmployment",
    "Suspension",
    "Training",
    "TrainingVersion",
    "WebRole",
    "WebStaff",
    "WebhookDelivery",
    "WebhookSubscription",
    "WorkFraction",
    "metadata",
]

"""Imports every table so that ``Base.metadata`` is complete (Alembic, tests)."""

from ila.access.models import AccessToken, ApiClient, AssertionJti, Mandate
from ila.api.models import IdempotencyKey
from ila.audit.models import AuditEvent
from ila.db.base import Base
from ila.employment.models import Employment, QuarterlyFte, Suspension, WorkFraction
from ila.identity.models import Employer, Person
from ila.rights.models import RightOptOut, RightVerification, RightVersion
from ila.trainings.models import Training, TrainingVersion

metadata = Base.metadata

__all__ = [
    "AccessToken",
    "ApiClient",
    "AssertionJti",
    "AuditEvent",
    "Employer",
    "Employment",
    "IdempotencyKey",
    "Mandate",
    "Person",
    "QuarterlyFte",
    "RightOptOut",
    "RightVerification",
    "RightVersion",
    "Suspension",
    "Training",
    "TrainingVersion",
    "WorkFraction",
    "metadata",
]

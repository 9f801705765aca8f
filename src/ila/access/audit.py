"""The audit hook the API routes call, inside the request's transaction. The audit trail
itself lives in the ``ila.audit`` feature (table ``audit_events``)."""

from __future__ import annotations

from ila.audit.service import record_personal_data_access

__all__ = ["record_personal_data_access"]

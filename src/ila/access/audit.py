"""Hook for the audit of personal data read or written through the API.

TODO(issue 3, audit step): write an append-only audit row here — who (client and its
organisation), on behalf of whom (employer, mandate), what (action, subject), when, request id,
legal context — then move this function to the ``ila.audit`` feature. It is already called in
the same transaction as the read or the write it records, so a write and its audit row will
succeed or fail together; keep that property when implementing it.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.orm import Session

from ila.access.domain import Acting, Caller


def record_personal_data_access(
    session: Session,
    *,
    caller: Caller,
    acting: Acting,
    action: str,
    subjects: Mapping[str, object],
    request_id: str,
) -> None:
    """Record that ``caller``, acting for ``acting``, did ``action`` on ``subjects``
    (e.g. ``{"national_number": "…", "year": 2024}``). Not yet stored: see the module TODO."""
    del session, caller, acting, action, subjects, request_id

"""The result document of a batch (``docs/xml/ila-batch-result-v1.xsd``), written
incrementally: one ``<record>`` per record in file order, read from the database in slices,
so that a million results take no more memory than a thousand."""

from __future__ import annotations

from typing import IO

from lxml import etree
from sqlalchemy.orm import Session

from ila.batch.models import Batch
from ila.batch.service import FINAL, result_rows
from ila.batch.xmlfile import RESULT_NAMESPACE
from ila.errors import BatchNotFinished

_NS = "{" + RESULT_NAMESPACE + "}"


def _attrs(**values: object) -> dict[str, str]:
    return {k: str(v) for k, v in values.items() if v is not None}


def write_result(session: Session, batch: Batch, out: IO[bytes]) -> None:
    """Write the result document of a finished batch to ``out``."""
    if batch.status not in FINAL:
        raise BatchNotFinished(
            f"batch {batch.ticket} is {batch.status}; its result exists once it is done or failed",
            field="ticket",
            status=batch.status,
        )
    with etree.xmlfile(out, encoding="UTF-8") as xf:
        xf.write_declaration()
        with xf.element(_NS + "result", nsmap={None: RESULT_NAMESPACE}):
            xf.write(
                etree.Element(
                    _NS + "batch",
                    _attrs(
                        ticket=batch.ticket,
                        sender=batch.sender,
                        reference=batch.reference,
                        status=batch.status,
                        receivedAt=batch.received_at.isoformat(),
                        finishedAt=batch.finished_at.isoformat() if batch.finished_at else None,
                    ),
                ),
                etree.Element(
                    _NS + "summary",
                    _attrs(
                        total=batch.total or 0,
                        accepted=batch.accepted,
                        unchanged=batch.unchanged,
                        rejected=batch.rejected,
                    ),
                ),
            )
            if batch.error_code is not None:
                error = etree.Element(
                    _NS + "fileError", _attrs(code=batch.error_code, line=batch.error_line)
                )
                error.text = batch.error_message or ""
                xf.write(error)
            tag, error_tag = _NS + "record", _NS + "error"
            for (
                seq,
                record_id,
                line,
                kind,
                status,
                training_id,
                version,
                code,
                field,
                message,
            ) in result_rows(session, batch.id):
                attrs = {"seq": str(seq)}
                if record_id is not None:
                    attrs["recordId"] = record_id
                attrs["line"] = str(line)
                attrs["kind"] = kind
                attrs["status"] = status
                if training_id is not None:
                    attrs["trainingId"] = str(training_id)
                if version is not None:
                    attrs["version"] = str(version)
                record = etree.Element(tag, attrs)
                if code is not None:
                    child = etree.SubElement(record, error_tag, _attrs(code=code, field=field))
                    child.text = message or ""
                xf.write(record)

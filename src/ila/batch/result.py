"""The result document of a batch (``docs/xml/ila-batch-result-v1.xsd``), written
incrementally: one ``<record>`` per record in file order, read from the database in slices
(keyset on ``seq``) and written as text a slice at a time, so that a million results take no
more memory than a few thousand and about a second per 100,000 records."""

from __future__ import annotations

import re
from collections.abc import Generator, Sequence
from typing import IO, Any

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from ila.batch.ahead import read_ahead
from ila.batch.models import Batch, BatchRecord
from ila.batch.service import FINAL
from ila.batch.streams import write_all
from ila.batch.xmlfile import RESULT_NAMESPACE
from ila.errors import BatchNotFinished

SLICE = 10_000
_RECORDS: Table = BatchRecord.__table__  # type: ignore[assignment]

# characters XML 1.0 does not allow (dropped), and the escapes of text and attribute values
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_TEXT = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_ATTR = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        '"': "&quot;",
        "\t": "&#9;",
        "\n": "&#10;",
        "\r": "&#13;",
    }
)


def _text(value: object) -> str:
    return _NOT_XML.sub("", str(value)).translate(_TEXT)


def _attrs(**values: object) -> str:
    return "".join(
        f' {name}="{_NOT_XML.sub("", str(v)).translate(_ATTR)}"'
        for name, v in values.items()
        if v is not None
    )


def _error(tag: str, code: str, field: str | None, line: int | None, message: str | None) -> str:
    return f"<{tag}{_attrs(code=code, field=field, line=line)}>{_text(message or '')}</{tag}>"


def _slices(session: Session, batch_id: int) -> Generator[Sequence[Any], None, None]:
    """The results of a batch in file order, a slice at a time (Core rows, no ORM)."""
    r = _RECORDS.c
    query = (
        select(
            r.seq,
            r.record_id,
            r.line,
            r.kind,
            r.status,
            r.training_id,
            r.version,
            r.code,
            r.field,
            r.message,
        )
        .where(r.batch_id == batch_id)
        .order_by(r.seq)
        .limit(SLICE)
    )
    # a range of seq as well as the limit: seq runs 1, 2, 3… in a batch, and with only
    # "seq > after" a planner that has no statistics yet for a batch of a million rows read
    # every row after ``after`` and sorted them, for each slice (~0.2 s per slice)
    first = select(func.min(r.seq)).where(r.batch_id == batch_id)
    conn = session.connection()
    after = 0
    while True:
        rows = conn.execute(query.where(r.seq > after, r.seq <= after + SLICE)).all()
        if not rows:  # the end, or a gap in seq (none is written): look for what follows
            following = conn.scalar(first.where(r.seq > after))
            if following is None:
                return
            after = following - 1
            continue
        yield rows
        after = rows[-1][0]


# anything in a record id that _NOT_XML drops or _ATTR escapes
_ATTR_SPECIAL = re.compile('[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff&<>"\t\n\r]')


def _record(row: Any) -> str:
    seq, record_id, line, kind, status, training_id, version, code, field, message = row
    head = f'<record seq="{seq}"'
    if record_id is not None:
        if _ATTR_SPECIAL.search(record_id):
            record_id = _NOT_XML.sub("", record_id).translate(_ATTR)
        head += f' recordId="{record_id}"'
    head += f' line="{line}" kind="{kind}" status="{status}"'
    if training_id is not None:
        head += f' trainingId="{training_id}"'
    if version is not None:
        head += f' version="{version}"'
    if code is None:
        return head + "/>\n"
    return head + ">" + _error("error", code, field, None, message) + "</record>\n"


def write_result(session: Session, batch: Batch, out: IO[bytes]) -> None:
    """Write the result document of a finished batch to ``out`` (UTF-8)."""
    if batch.status not in FINAL:
        raise BatchNotFinished(
            f"batch {batch.ticket} is {batch.status}; its result exists once it is done or failed",
            field="ticket",
            status=batch.status,
        )
    head = [
        "<?xml version='1.0' encoding='UTF-8'?>\n",
        f'<result xmlns="{RESULT_NAMESPACE}">',
        "<batch"
        + _attrs(
            ticket=batch.ticket,
            sender=batch.sender,
            reference=batch.reference,
            status=batch.status,
            receivedAt=batch.received_at.isoformat(),
            finishedAt=batch.finished_at.isoformat() if batch.finished_at else None,
        )
        + "/>",
        "<summary"
        + _attrs(
            total=batch.total or 0,
            accepted=batch.accepted,
            unchanged=batch.unchanged,
            rejected=batch.rejected,
        )
        + "/>\n",
    ]
    if batch.error_code is not None:
        head.append(
            _error("fileError", batch.error_code, None, batch.error_line, batch.error_message)
            + "\n"
        )
    write_all(out, "".join(head).encode())
    # the next slice is read by a thread while this one is written (the session is used by
    # that thread only meanwhile)
    for rows in read_ahead(_slices(session, batch.id), 1, "ila-batch-result"):
        write_all(out, "".join([_record(row) for row in rows]).encode())
    write_all(out, b"</result>\n")

"""Reading XML batch files: a hardened, streaming parser (lxml ``iterparse``) with XSD
validation of each record on its own, so that one bad record is rejected without failing the
file, and memory stays flat whatever the file size.

Hardening: no DTD at all (a DOCTYPE fails the file before any entity could be expanded), no
entity resolution, no network, libxml2's default depth and text-size limits (no ``huge_tree``),
UTF-8 only, and a size limit checked before reading."""

from __future__ import annotations

import gc
import hashlib
import re
import threading
from collections.abc import Generator, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from importlib import resources
from pathlib import Path
from typing import BinaryIO

from lxml import etree

from ila.errors import DomainError, InvalidBatchFile, ValidationError
from ila.trainings.domain import (
    DurationUnit,
    Nature,
    NotCountingReason,
    Status,
    TrainingData,
)

NAMESPACE = "urn:be:ila:batch:submission:v1"
RESULT_NAMESPACE = "urn:be:ila:batch:result:v1"
SUBMISSION_XSD = "ila-batch-submission-v1.xsd"
RESULT_XSD = "ila-batch-result-v1.xsd"
_NS = "{" + NAMESPACE + "}"
KINDS = ("trainingCreate", "trainingRectify", "trainingCancel", "rightSet")
_TAGS = {_NS + k: k for k in KINDS}
_HEADER = _NS + "header"
_RECORDS = _NS + "records"
_ROOT = _NS + "submission"
UNKNOWN = "unknown"


@cache
def schema(name: str = SUBMISSION_XSD) -> etree.XMLSchema:
    """The published schema, shipped in the package (docs/xml holds the same files)."""
    data = resources.files("ila.batch").joinpath("xsd", name).read_bytes()
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.XMLSchema(etree.fromstring(data, parser))


# --- what a file holds -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Header:
    sender: str
    reference: str
    created: datetime
    employers: frozenset[str]


@dataclass(frozen=True, slots=True)
class TrainingCreate:
    employer: str
    worker: str
    data: TrainingData


@dataclass(frozen=True, slots=True)
class TrainingRectify:
    employer: str
    target: str
    data: TrainingData
    reason: str


@dataclass(frozen=True, slots=True)
class TrainingCancel:
    employer: str
    target: str
    reason: str


@dataclass(frozen=True, slots=True)
class RightSet:
    employer: str
    worker: str
    year: int
    days: Decimal | None
    reason: str


Command = TrainingCreate | TrainingRectify | TrainingCancel | RightSet


@dataclass(frozen=True, slots=True)
class Record:
    """One record of the file, in file order (``seq`` from 1): a command, or the reason it
    could not be read (``error``)."""

    seq: int
    line: int
    kind: str
    record_id: str | None
    command: Command | None = None
    error: DomainError | None = None

    digest: str = ""
    """Fingerprint of the record as sent (its canonical bytes): the same record id sent again
    with other content is refused, with the same content it is reported unchanged."""


# --- parsing ---------------------------------------------------------------------------------


def _fail(code: str, message: str, line: int | None = None) -> InvalidBatchFile:
    if line:
        return InvalidBatchFile(message, code=code, line=line)
    return InvalidBatchFile(message, code=code)


def check_size(path: Path, max_bytes: int) -> int:
    size = path.stat().st_size
    if size > max_bytes:
        raise _fail("file_too_large", f"the file has {size} bytes; the limit is {max_bytes}")
    if size == 0:
        raise _fail("xml_not_well_formed", "the file is empty")
    return size


_DECLARED = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_UTF8 = {b"UTF-8", b"UTF8"}


def _prolog(source: BinaryIO) -> None:
    """Read up to the first element, whatever its name: UTF-8, no DOCTYPE."""
    start = source.read(256)
    source.seek(0)
    declared = _DECLARED.match(start.removeprefix(b"\xef\xbb\xbf"))
    if (
        start.startswith((b"\xff\xfe", b"\xfe\xff", b"\x00"))
        or (len(start) > 1 and start[1] == 0)
        or (declared is not None and declared.group(1).upper() not in _UTF8)
    ):
        name = declared.group(1).decode() if declared else "UTF-16 or UTF-32"
        raise _fail("unsupported_encoding", f"the file is {name}; UTF-8 is required", 1)
    for _event, el in etree.iterparse(
        source,
        events=("start",),
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
    ):
        _check_prolog(el)
        return


def _events(source: BinaryIO) -> etree.iterparse:
    return etree.iterparse(
        source,
        events=("start", "end"),
        tag=[_ROOT, _HEADER, _RECORDS, *_TAGS],
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def _check_prolog(root: etree._Element) -> None:
    info = root.getroottree().docinfo
    if info.doctype or info.internalDTD is not None or info.externalDTD is not None:
        raise _fail("xml_dtd_forbidden", "a DOCTYPE is not allowed in a batch file", 1)


def _texts(el: etree._Element) -> dict[str, str]:
    return {
        str(child.tag)[len(_NS) :]: (child.text or "")
        for child in el
        if isinstance(child.tag, str) and child.tag.startswith(_NS)
    }


def _header(el: etree._Element) -> Header:
    if not schema().validate(el):
        error = schema().error_log.last_error
        raise _fail(
            "invalid_header",
            f"the header does not match the schema: {error.message if error else ''}",
            el.sourceline,
        )
    t = _texts(el)
    try:
        created = datetime.fromisoformat(t["created"].strip().replace("Z", "+00:00"))
    except ValueError:
        raise _fail("invalid_header", "the creation time is not usable", el.sourceline) from None
    return Header(
        sender=t["sender"],
        reference=t["reference"].strip(),
        created=created,
        employers=frozenset((e.text or "") for e in el.iter(_NS + "employer")),
    )


def _opt(t: dict[str, str], name: str) -> str | None:
    value = t.get(name)
    return value if value else None


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


# the children of a record as exclusive C14N writes them once the record is valid for the
# schema: simple elements of the default namespace, text escaped as below (C14N 1.0, 5.2)
_CHILD = re.compile(r"<([A-Za-z]+)>([^<]*)</\1>")
_ESCAPED = re.compile(r"&(amp|lt|gt|#xD);")
_UNESCAPE = {"amp": "&", "lt": "<", "gt": ">", "#xD": "\r"}


def _unescaped(match: re.Match[str]) -> str:
    return _UNESCAPE[match.group(1)]


def _children(el: etree._Element, canonical: bytes) -> dict[str, str]:
    """The texts of the record's children, read from its canonical bytes (one regular
    expression instead of a Python call per child); :func:`_texts` when the canonical form
    is not the plain one (a child in another namespace or with a prefix)."""
    decoded = canonical.decode()
    found = _CHILD.findall(decoded)
    if len(found) != len(el):
        return _texts(el)
    if "&" not in decoded:
        return dict(found)
    return {name: _ESCAPED.sub(_unescaped, text) if "&" in text else text for name, text in found}


_CONTENT_FIELDS = (
    "title",
    "provider",
    "startDate",
    "endDate",
    "duration",
    "durationUnit",
    "nature",
    "status",
    "countsTowardRight",
    "notCountingReason",
    "certificate",
    "certificateValidUntil",
    "financing",
)
_CONTENTS_KEPT = 20_000
_contents: dict[tuple[str | None, ...], TrainingData] = {}


def _content(t: dict[str, str]) -> TrainingData:
    """The training content of a record, converted once per distinct content (a file
    repeats the same course for many workers; :class:`TrainingData` is immutable)."""
    key = tuple(map(t.get, _CONTENT_FIELDS))
    found = _contents.get(key)
    if found is None:
        found = _convert(t)
        if len(_contents) >= _CONTENTS_KEPT:
            _contents.clear()
        _contents[key] = found
    return found


def _convert(t: dict[str, str]) -> TrainingData:
    counts = t.get("countsTowardRight", "true").strip() in {"true", "1"}
    reason = _opt(t, "notCountingReason")
    return TrainingData(
        title=t["title"],
        provider=_opt(t, "provider"),
        start_date=date.fromisoformat(t["startDate"]),
        end_date=date.fromisoformat(t["endDate"]),
        duration_value=Decimal(t["duration"].strip()),
        duration_unit=DurationUnit(t["durationUnit"]),
        nature=Nature(t["nature"]),
        status=Status(t["status"]),
        counts_toward_right=counts,
        not_counting_reason=NotCountingReason(reason) if reason else None,
        certificate=_opt(t, "certificate"),
        certificate_valid_until=_day(_opt(t, "certificateValidUntil")),
        financing=_opt(t, "financing"),
    )


def _command(kind: str, el: etree._Element, canonical: bytes) -> Command:
    t = _children(el, canonical)
    if kind == "trainingCreate":
        return TrainingCreate(t["employer"], t["worker"], _content(t))
    if kind == "trainingRectify":
        return TrainingRectify(t["employer"], str(el.get("target")), _content(t), t["reason"])
    if kind == "trainingCancel":
        return TrainingCancel(t["employer"], str(el.get("target")), t["reason"])
    days = _opt(t, "days")
    return RightSet(
        t["employer"], t["worker"], int(t["year"]), Decimal(days) if days else None, t["reason"]
    )


def _record(seq: int, kind: str, el: etree._Element) -> Record:
    line = el.sourceline or 1
    record_id = el.get("recordId")
    if kind == UNKNOWN:
        return Record(
            seq,
            line,
            kind,
            record_id,
            error=ValidationError(
                f"unknown record element <{etree.QName(el).localname}>",
                code="unknown_record",
                field="record",
            ),
        )
    xsd = schema()
    if not xsd.validate(el):
        error = xsd.error_log.last_error
        where = error.path.rsplit("/", 1)[-1].split(":")[-1] if error and error.path else None
        return Record(
            seq,
            line,
            kind,
            record_id,
            error=ValidationError(
                error.message if error else "the record does not match the schema",
                code="schema_violation",
                field=where,
                line=error.line if error else line,
            ),
        )
    canonical = etree.tostring(el, method="c14n", exclusive=True)
    digest = hashlib.blake2b(canonical, digest_size=16).hexdigest()
    try:
        command = _command(kind, el, canonical)
    except (ValueError, ArithmeticError) as exc:  # valid for the XSD, not for Python
        return Record(
            seq,
            line,
            kind,
            record_id,
            error=ValidationError(f"a value cannot be read: {exc}", code="schema_violation"),
        )
    return Record(seq, line, kind, record_id, command=command, digest=digest)


def _unknown_siblings(el: etree._Element) -> list[etree._Element]:
    """Elements before ``el`` that are not records (the records before it are removed)."""
    out: list[etree._Element] = []
    prev = el.getprevious()
    while prev is not None:
        if prev.tag not in _TAGS:
            out.append(prev)
        prev = prev.getprevious()
    out.reverse()
    return out


def _drop_before(el: etree._Element) -> None:
    parent = el.getparent()
    if parent is not None:
        while el.getprevious() is not None:
            del parent[0]


def _located(seq: int, kind: str, el: etree._Element, validate_after: int | None) -> Record:
    if validate_after is not None and seq > validate_after:
        return _record(seq, kind, el)
    return Record(seq, el.sourceline or 1, kind, el.get("recordId"))


def _at_end(el: etree._Element, seq: int, validate_after: int | None) -> Iterator[Record]:
    """Records ending at ``el``: a record element, or the end of ``<records>`` (any
    non-record element left before it). Elements that are not records are reported too."""
    is_record = el.tag in _TAGS
    parent = el.getparent()
    if is_record and (parent is None or parent.tag != _RECORDS):
        return  # inside something else: reported with the element that holds it
    for odd in _unknown_siblings(el) if is_record else list(el):
        if odd.tag not in _TAGS:
            seq += 1
            yield _located(seq, UNKNOWN, odd, validate_after)
    if is_record:
        yield _located(seq + 1, _TAGS[str(el.tag)], el, validate_after)
        el.clear()
        _drop_before(el)
    else:
        el.clear()


def read(
    path: Path, max_bytes: int, *, validate_after: int | None = 0
) -> Generator[Header | Record, None, None]:
    """Stream the file: the header first, then every record in file order. A file that cannot
    be read raises :class:`InvalidBatchFile` (possibly after some records were yielded: callers
    that must not half-apply a file read it once through before, see :func:`scan`). Records
    up to ``validate_after`` (all when None) are only located, not validated or converted."""
    check_size(path, max_bytes)
    try:
        with path.open("rb") as source:
            _prolog(source)
            source.seek(0)
            yield from _walk(source, validate_after)
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if exc.lineno and exc.lineno > 0 else None
        message = str(exc.msg or exc).strip()
        code = "unsupported_encoding" if "encoding" in message.lower() else "xml_not_well_formed"
        raise _fail(code, f"not well-formed XML: {message}", line) from None


def _walk(  # noqa: PLR0912 - the record branch inlined: it runs once per record
    source: BinaryIO, validate_after: int | None
) -> Iterator[Header | Record]:
    seq = 0
    header: Header | None = None
    tags, records_tag = _TAGS, _RECORDS
    for event, el in _events(source):
        tag = el.tag
        if event == "start":
            if tag == _RECORDS and header is None:
                raise _fail("invalid_header", "the records come before a header", el.sourceline)
        elif tag == _HEADER:
            if header is not None:
                raise _fail("invalid_header", "a second header", el.sourceline)
            header = _header(el)
            yield header
            el.clear()
        elif tag in tags and validate_after is not None:  # a record: the common case, inline
            parent = el.getparent()
            if parent is None or parent.tag != records_tag:
                continue  # inside something else: reported with the element that holds it
            if el.getprevious() is not None:  # elements before it that are not records
                for odd in _unknown_siblings(el):
                    seq += 1
                    yield _located(seq, UNKNOWN, odd, validate_after)
            seq += 1
            if seq > validate_after:
                yield _record(seq, tags[tag], el)
            else:
                yield Record(seq, el.sourceline or 1, tags[tag], el.get("recordId"))
            el.clear()
            while el.getprevious() is not None:
                del parent[0]
        elif tag != _ROOT:
            for record in _at_end(el, seq, validate_after):
                seq = record.seq
                yield record
    if header is None:
        raise _fail(
            "invalid_header",
            f"no <header> in the namespace {NAMESPACE}: is this an ila batch file?",
        )


def read_header(path: Path, max_bytes: int) -> Header:
    """The header only (at submission, for the batch reference); stops reading right after."""
    with closing(read(path, max_bytes, validate_after=None)) as items:
        for item in items:
            if isinstance(item, Header):
                return item
    raise _fail("invalid_header", "no header")  # pragma: no cover - read() raises first


def scan(path: Path, max_bytes: int) -> tuple[Header, int]:
    """A first pass over the whole file: well-formed, no DOCTYPE, a valid header; the number of
    records. Nothing is applied from a file that does not pass it. The records are counted as
    :func:`read` yields them, without building them (the pass costs little more than
    libxml2's parsing)."""
    check_size(path, max_bytes)
    try:
        with path.open("rb") as source:
            _prolog(source)
            source.seek(0)
            return _count(source)
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if exc.lineno and exc.lineno > 0 else None
        message = str(exc.msg or exc).strip()
        code = "unsupported_encoding" if "encoding" in message.lower() else "xml_not_well_formed"
        raise _fail(code, f"not well-formed XML: {message}", line) from None


def _count(source: BinaryIO) -> tuple[Header, int]:
    """:func:`_walk` counting instead of yielding: the same checks, the same records."""
    count = 0
    header: Header | None = None
    tags, records_tag = _TAGS, _RECORDS
    for event, el in _events(source):
        tag = el.tag
        if event == "start":
            if tag == records_tag and header is None:
                raise _fail("invalid_header", "the records come before a header", el.sourceline)
        elif tag in tags:
            parent = el.getparent()
            if parent is None or parent.tag != records_tag:
                continue  # inside something else: counted with the element that holds it
            prev = el.getprevious()
            while prev is not None:
                if prev.tag not in tags:
                    count += 1
                prev = prev.getprevious()
            count += 1
            el.clear()
            while el.getprevious() is not None:
                del parent[0]
        elif tag == _HEADER:
            if header is not None:
                raise _fail("invalid_header", "a second header", el.sourceline)
            header = _header(el)
            el.clear()
        elif tag != _ROOT:  # the end of <records>: what is left in it that is not a record
            count += sum(child.tag not in tags for child in el)
            el.clear()
    if header is None:
        raise _fail(
            "invalid_header",
            f"no <header> in the namespace {NAMESPACE}: is this an ila batch file?",
        )
    return header, count


def records(path: Path, max_bytes: int, *, after: int = 0) -> Iterator[Record]:
    """Every record with its command or error; those up to ``after`` (a checkpoint) are
    skipped without validating them. Read in the caller's thread: a reader thread a few
    blocks ahead (as before ADR 0024) gained nothing on PostgreSQL, whose writes already
    overlap the checks, and cost SQLite 15 % of its time and a third more CPU (its writes
    hand the GIL over at every row; the reader then held it)."""
    items = read(path, max_bytes, validate_after=after)
    with _fewer_collections(), closing(items):
        for item in items:
            if isinstance(item, Record) and item.seq > after:
                yield item


_GC_THRESHOLD = 50_000
_gc_lock = threading.Lock()
_gc_users = 0
_gc_saved: tuple[int, ...] = ()


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """While records are read and applied, the cyclic garbage collector runs after 50,000
    allocations instead of 700: each record allocates dozens of objects that plain reference
    counting frees, and every collection walked the whole heap of the process (~20 % of a
    batch's CPU). Memory stays flat (a collection still runs every few hundred records); the
    previous thresholds come back when the last reader in the process ends."""
    global _gc_users, _gc_saved  # noqa: PLW0603 - one setting for the process
    with _gc_lock:
        if _gc_users == 0:
            _gc_saved = gc.get_threshold()
            gc.set_threshold(max(_GC_THRESHOLD, _gc_saved[0]), *_gc_saved[1:])
        _gc_users += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_users -= 1
            if _gc_users == 0:
                gc.set_threshold(*_gc_saved)

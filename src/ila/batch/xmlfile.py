"""Reading XML batch files: a hardened, streaming parser (lxml ``iterparse``) with XSD
validation of each record on its own, so that one bad record is rejected without failing the
file, and memory stays flat whatever the file size.

Hardening: no DTD at all (a DOCTYPE fails the file before any entity could be expanded), no
entity resolution, no network, libxml2's default depth and text-size limits (no ``huge_tree``),
UTF-8 only, and a size limit checked before reading."""

from __future__ import annotations

import gc
import hashlib
import marshal
import re
import struct
import subprocess
import sys
import threading
import zlib
from collections.abc import Callable, Generator, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from importlib import resources
from pathlib import Path
from typing import IO, Any, BinaryIO

from lxml import etree

from ila.batch.ahead import read_ahead
from ila.batch.streams import write_all
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


def _command(kind: str, t: dict[str, str], target: str | None) -> Command:
    if kind == "trainingCreate":
        return TrainingCreate(t["employer"], t["worker"], _content(t))
    if kind == "trainingRectify":
        return TrainingRectify(t["employer"], str(target), _content(t), t["reason"])
    if kind == "trainingCancel":
        return TrainingCancel(t["employer"], str(target), t["reason"])
    days = _opt(t, "days")
    return RightSet(
        t["employer"], t["worker"], int(t["year"]), Decimal(days) if days else None, t["reason"]
    )


Raw = tuple[Any, ...]
"""A record as read, before conversion: ``("r", seq, line, kind, record_id, digest, texts,
target)`` for one that passed its XSD, ``("e", seq, line, kind, record_id, code, message,
field, error_line)`` for one that did not. Plain values only: the reader process sends them
(:func:`records`)."""


def _raw(seq: int, kind: str, el: etree._Element) -> Raw:
    """Validate a record against the schema and read it: the work of the parser (libxml2's
    XSD validation, exclusive C14N, its digest, the children's texts)."""
    line = el.sourceline or 1
    record_id = el.get("recordId")
    if kind == UNKNOWN:
        message = f"unknown record element <{etree.QName(el).localname}>"
        return ("e", seq, line, kind, record_id, "unknown_record", message, "record", None)
    xsd = schema()
    if not xsd.validate(el):
        error = xsd.error_log.last_error
        where = error.path.rsplit("/", 1)[-1].split(":")[-1] if error and error.path else None
        message = error.message if error else "the record does not match the schema"
        at = error.line if error else line
        return ("e", seq, line, kind, record_id, "schema_violation", message, where, at)
    canonical = etree.tostring(el, method="c14n", exclusive=True)
    digest = hashlib.blake2b(canonical, digest_size=16).hexdigest()
    return ("r", seq, line, kind, record_id, digest, _children(el, canonical), el.get("target"))


def _rebuilt(raw: Raw) -> Record:
    """The record of a :data:`Raw`: its command, converted (once per distinct content), or
    the reason it cannot be read."""
    if raw[0] == "e":
        _, seq, line, kind, record_id, code, message, where, at = raw
        details = {} if at is None else {"line": at}
        error = ValidationError(message, code=code, field=where, **details)
        return Record(seq, line, kind, record_id, error=error)
    _, seq, line, kind, record_id, digest, texts, target = raw
    try:
        command = _command(kind, texts, target)
    except (ValueError, ArithmeticError) as exc:  # valid for the XSD, not for Python
        return Record(
            seq,
            line,
            kind,
            record_id,
            error=ValidationError(f"a value cannot be read: {exc}", code="schema_violation"),
        )
    return Record(seq, line, kind, record_id, command=command, digest=digest)


def _record(seq: int, kind: str, el: etree._Element) -> Record:
    return _rebuilt(_raw(seq, kind, el))


Make = Callable[[int, str, etree._Element], Any]
"""What a validated record is read as: :func:`_record` (a :class:`Record`) or :func:`_raw`."""


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


def _located(
    seq: int, kind: str, el: etree._Element, validate_after: int | None, make: Make
) -> Any:
    if validate_after is not None and seq > validate_after:
        return make(seq, kind, el)
    return Record(seq, el.sourceline or 1, kind, el.get("recordId"))


def _at_end(el: etree._Element, seq: int, validate_after: int | None, make: Make) -> Iterator[Any]:
    """Records ending at ``el``: a record element, or the end of ``<records>`` (any
    non-record element left before it). Elements that are not records are reported too."""
    is_record = el.tag in _TAGS
    parent = el.getparent()
    if is_record and (parent is None or parent.tag != _RECORDS):
        return  # inside something else: reported with the element that holds it
    for odd in _unknown_siblings(el) if is_record else list(el):
        if odd.tag not in _TAGS:
            seq += 1
            yield _located(seq, UNKNOWN, odd, validate_after, make)
    if is_record:
        yield _located(seq + 1, _TAGS[str(el.tag)], el, validate_after, make)
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
    return _read(path, max_bytes, validate_after, _record)


def _read(
    path: Path, max_bytes: int, validate_after: int | None, make: Make
) -> Generator[Any, None, None]:
    """:func:`read`, the records validated after ``validate_after`` made by ``make``
    (:func:`_raw` in the reader process)."""
    check_size(path, max_bytes)
    try:
        with path.open("rb") as source:
            _prolog(source)
            source.seek(0)
            yield from _walk(source, validate_after, make)
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if exc.lineno and exc.lineno > 0 else None
        message = str(exc.msg or exc).strip()
        code = "unsupported_encoding" if "encoding" in message.lower() else "xml_not_well_formed"
        raise _fail(code, f"not well-formed XML: {message}", line) from None


def _walk(  # noqa: PLR0912 - the record branch inlined: it runs once per record
    source: BinaryIO, validate_after: int | None, make: Make
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
                    yield _located(seq, UNKNOWN, odd, validate_after, make)
            seq += 1
            if seq > validate_after:
                yield make(seq, tags[tag], el)
            else:
                yield Record(seq, el.sourceline or 1, tags[tag], el.get("recordId"))
            el.clear()
            while el.getprevious() is not None:
                del parent[0]
        elif tag != _ROOT:
            for record in _at_end(el, seq, validate_after, make):
                seq += 1  # each item is the next one in file order
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


PROCESS_FROM_BYTES = 16 << 20
"""Files from this size on are parsed by a reader process (starting one costs ~0.3 s)."""
_BLOCK = 1000  # raw records sent at a time by the reader process


def records(
    path: Path, max_bytes: int, *, after: int = 0, process_from: int | None = None
) -> Iterator[Record]:
    """Every record with its command or error; those up to ``after`` (a checkpoint) are
    skipped without validating them. A file of ``process_from`` bytes or more (default
    :data:`PROCESS_FROM_BYTES`) is parsed, validated and canonicalised by a reader process on
    another core, which sends plain values (:data:`Raw`); they are converted here, in order.
    The same records either way; an error in the file is raised after the records before it;
    closing this generator stops the reader. (A reader *thread* gained nothing on PostgreSQL
    and cost SQLite 15 % of its time: SQLite's writes hand the GIL over at every row.)"""
    limit = PROCESS_FROM_BYTES if process_from is None else process_from
    with _fewer_collections():
        if path.stat().st_size < limit:
            items = read(path, max_bytes, validate_after=after)
            with closing(items):
                for item in items:
                    if isinstance(item, Record) and item.seq > after:
                        yield item
            return
        yield from _from_reader_process(path, max_bytes, after)


_FRAME = struct.Struct("<II")  # the length of the marshalled block, its CRC-32
_BLOCKS_AHEAD = 40  # blocks the reader may be ahead of the caller (40,000 records, ~6 MiB)


def _from_reader_process(path: Path, max_bytes: int, after: int) -> Iterator[Record]:
    # a new interpreter running ila.batch.reader: nothing of this process is inherited, and
    # no main module is imported again (as multiprocessing's spawn would)
    reader = subprocess.Popen(  # noqa: S603 - this interpreter, this package, our arguments
        [sys.executable, "-m", "ila.batch.reader", str(path), str(max_bytes), str(after)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
    )
    assert reader.stdout is not None  # noqa: S101 - asked for above
    frames = read_ahead(_frames(reader.stdout), _BLOCKS_AHEAD, "ila-batch-frames")
    try:
        for frame in frames:
            got = marshal.loads(frame)  # noqa: S302 - our reader, our pipe
            if isinstance(got, list):
                for raw in got:
                    yield _rebuilt(raw)
            elif got[0] == "end":
                return
            else:  # the file cannot be read from here on
                _, code, message, line = got
                raise _fail(code, message, line)
        raise RuntimeError(
            f"the batch file reader stopped unexpectedly (exit code {reader.wait()})"
        )
    finally:
        if reader.poll() is None:
            reader.kill()  # its pipe then ends, and so does the thread reading it
        frames.close()  # type: ignore[attr-defined]
        reader.stdout.close()
        reader.wait()


class CorruptFrame(RuntimeError):
    """What the reader process wrote arrived altered: nothing of it is used."""


def _frames(stream: IO[bytes]) -> Generator[bytes, None, None]:
    """The frames the reader writes (a length and a CRC-32, then a marshalled block), until
    its end or a frame cut short (the reader died while writing it). A frame whose bytes do
    not match its CRC is an error: ``marshal`` would read a block with bytes missing from its
    middle as another block, or a shorter one, without a word."""
    count = 0
    while len(head := stream.read(_FRAME.size)) == _FRAME.size:
        size, crc = _FRAME.unpack(head)
        frame = stream.read(size)
        if len(frame) != size:
            return
        count += 1
        if zlib.crc32(frame) != crc:
            raise CorruptFrame(f"frame {count} from the batch file reader is corrupt")
        yield frame


def send_records(path: Path, max_bytes: int, after: int, out: IO[bytes]) -> None:
    """The reader process (``python -m ila.batch.reader``): the records after ``after`` as
    :data:`Raw` values, in frames of :data:`_BLOCK`, then ``("end",)`` or ``("fail", code,
    message, line)``. It stops when the receiver is gone (a broken pipe)."""

    def send(value: Any) -> None:
        data = marshal.dumps(value)
        write_all(out, _FRAME.pack(len(data), zlib.crc32(data)) + data)

    block: list[Raw] = []
    try:
        for item in _read(path, max_bytes, after, _raw):
            if isinstance(item, tuple):  # not the header, nor a record up to ``after``
                block.append(item)
                if len(block) >= _BLOCK:
                    send(block)
                    block = []
    except InvalidBatchFile as exc:
        if block:
            send(block)
        send(("fail", exc.code, exc.message, exc.details.get("line")))
        out.flush()
        return
    if block:
        send(block)
    send(("end",))
    out.flush()


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

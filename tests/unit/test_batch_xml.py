"""The published schemas, their examples, and the hardened streaming parser against hostile
and broken files (no database: pure parsing)."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from ila.batch.xmlfile import (
    RESULT_XSD,
    SUBMISSION_XSD,
    Header,
    Record,
    RightSet,
    TrainingCancel,
    TrainingCreate,
    TrainingRectify,
    read,
    read_header,
    records,
    scan,
    schema,
)
from ila.errors import InvalidBatchFile

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "xml"
LIMIT = 50 * 1024 * 1024
HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<submission xmlns="urn:be:ila:batch:submission:v1">\n'
    "<header><sender>0900000147</sender><reference>REF-1</reference>"
    "<created>2026-11-23T10:00:00Z</created>"
    "<employers><employer>0900000147</employer></employers></header>\n<records>\n"
)
TAIL = "</records>\n</submission>\n"
CREATE = (
    '<trainingCreate recordId="{rid}"><employer>0900000147</employer>'
    "<worker>90010190193</worker><title>{title}</title><startDate>2024-03-01</startDate>"
    "<endDate>2024-03-01</endDate><duration>4</duration><durationUnit>hours</durationUnit>"
    "<nature>formal_internal</nature><status>followed</status></trainingCreate>\n"
)


def write(tmp_path: Path, data: bytes | str, name: str = "f.xml") -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def failure(path: Path, limit: int = LIMIT) -> InvalidBatchFile:
    with pytest.raises(InvalidBatchFile) as caught:
        list(read(path, limit))
    return caught.value


# --- schemas and examples ----------------------------------------------------------------------


@pytest.mark.parametrize("name", [SUBMISSION_XSD, RESULT_XSD])
def test_published_schema_is_the_one_the_parser_uses(name: str) -> None:
    shipped = ROOT / "src" / "ila" / "batch" / "xsd" / name
    assert (DOCS / name).read_bytes() == shipped.read_bytes()


@pytest.mark.parametrize("example", sorted((DOCS / "examples").glob("*.xml")), ids=lambda p: p.name)
def test_every_example_is_valid(example: Path) -> None:
    doc = etree.parse(str(example))
    xsd = RESULT_XSD if doc.getroot().tag.endswith("}result") else SUBMISSION_XSD
    schema(xsd).assertValid(doc)


def test_the_schema_refuses_what_it_should(tmp_path: Path) -> None:
    bad = HEAD + CREATE.format(rid="", title="x") + TAIL
    assert not schema().validate(etree.parse(str(write(tmp_path, bad))))


# --- reading a good file ---------------------------------------------------------------------


def test_reads_every_kind_in_file_order() -> None:
    example = DOCS / "examples" / "submission-trainings.xml"
    items = list(read(example, LIMIT))
    header = items[0]
    assert isinstance(header, Header)
    assert (header.sender, header.reference, header.employers) == (
        "0900000147",
        "2026-11-PAYROLL-0001",
        frozenset({"0900000147"}),
    )
    assert header.created.utcoffset() is not None
    recs = [i for i in items if isinstance(i, Record)]
    assert [r.seq for r in recs] == [1, 2, 3, 4, 5, 6]
    assert [type(r.command) for r in recs] == [
        TrainingCreate,
        TrainingCreate,
        TrainingCreate,
        TrainingRectify,
        TrainingCancel,
        RightSet,
    ]
    first = recs[0].command
    assert isinstance(first, TrainingCreate)
    assert (first.data.duration_value, first.data.certificate) == (Decimal(1), "FA-2024-118")
    third = recs[2].command
    assert isinstance(third, TrainingCreate)
    assert (third.data.counts_toward_right, third.data.not_counting_reason) == (False, "vov")
    right = recs[5].command
    assert isinstance(right, RightSet)
    assert (right.year, right.days) == (2024, Decimal(6))
    assert recs[0].line == 13
    assert scan(example, LIMIT) == (header, 6)
    assert read_header(example, LIMIT) == header
    assert [r.seq for r in records(example, LIMIT, after=4)] == [5, 6]
    assert recs[0].digest != recs[1].digest
    assert recs[0].digest == next(iter(records(example, LIMIT))).digest


def test_bad_records_are_rejected_one_by_one(tmp_path: Path) -> None:
    body = (
        CREATE.format(rid="ok-1", title="Safety")
        + CREATE.format(rid="no-title", title="").replace("<title></title>", "")
        + "<surprise>x</surprise>\n"
        + CREATE.format(rid="nested", title="<b><b><b>deep</b></b></b>")
        + CREATE.format(rid="ok-2", title="Safety")
        + "<trailing/>\n"
    )
    recs = list(records(write(tmp_path, HEAD + body + TAIL), LIMIT))
    assert [(r.seq, r.record_id, r.kind) for r in recs] == [
        (1, "ok-1", "trainingCreate"),
        (2, "no-title", "trainingCreate"),
        (3, None, "unknown"),
        (4, "nested", "trainingCreate"),
        (5, "ok-2", "trainingCreate"),
        (6, None, "unknown"),
    ]
    errors = [(r.error.code, r.line) if r.error else None for r in recs]
    assert errors == [
        None,
        ("schema_violation", 6),
        ("unknown_record", 7),
        ("schema_violation", 8),
        None,
        ("unknown_record", 10),
    ]
    assert recs[1].error is not None
    assert "title" in recs[1].error.message


# --- hostile and broken files ------------------------------------------------------------------


def test_entity_expansion_bomb_fails_at_once(tmp_path: Path) -> None:
    lol = "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    bomb = (
        '<?xml version="1.0"?>\n<!DOCTYPE submission [<!ENTITY lol0 "lol">'
        + lol
        + "]>\n"
        + HEAD.split("\n", 1)[1].replace("REF-1", "&lol9;")
        + TAIL
    )
    started = time.perf_counter()
    error = failure(write(tmp_path, bomb))
    assert error.code == "xml_dtd_forbidden"
    assert time.perf_counter() - started < 1


def test_external_entities_are_never_read(tmp_path: Path) -> None:
    secret = write(tmp_path, "TOP-SECRET", "secret.txt")
    xxe = (
        f'<?xml version="1.0"?>\n<!DOCTYPE s [<!ENTITY x SYSTEM "file://{secret}">]>\n'
        + HEAD.split("\n", 1)[1].replace("REF-1", "&x;")
        + TAIL
    )
    error = failure(write(tmp_path, xxe))
    assert error.code == "xml_dtd_forbidden"
    assert "TOP-SECRET" not in str(error)
    remote = '<?xml version="1.0"?>\n<!DOCTYPE s SYSTEM "http://192.0.2.1/evil.dtd">\n<s/>'
    assert failure(write(tmp_path, remote, "r.xml")).code == "xml_dtd_forbidden"


def test_deep_nesting_is_refused_by_the_parser(tmp_path: Path) -> None:
    deep = HEAD + "<a>" * 100_000 + "</a>" * 100_000 + TAIL
    assert failure(write(tmp_path, deep)).code == "xml_not_well_formed"


def test_huge_text_node_is_refused(tmp_path: Path) -> None:
    huge = HEAD + CREATE.format(rid="big", title="x" * 11_000_000) + TAIL
    assert failure(write(tmp_path, huge)).code == "xml_not_well_formed"


def test_size_limit(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + CREATE.format(rid="1", title="t") * 20 + TAIL)
    error = failure(path, limit=1000)
    assert error.code == "file_too_large"
    assert failure(write(tmp_path, b"", "empty.xml")).code == "xml_not_well_formed"


@pytest.mark.parametrize(
    ("data", "codes"),
    [
        (
            (HEAD + CREATE.format(rid="1", title="Sécurité") + TAIL)
            .replace("UTF-8", "ISO-8859-1")
            .encode("latin-1"),
            {"unsupported_encoding"},
        ),
        (
            (HEAD + CREATE.format(rid="1", title="Sécurité") + TAIL).encode("latin-1"),
            {"unsupported_encoding", "xml_not_well_formed"},
        ),
        (
            (HEAD + TAIL).replace("UTF-8", "UTF-16").encode("utf-16"),
            {"unsupported_encoding"},
        ),
    ],
    ids=["declared-latin1", "undeclared-latin1", "utf16"],
)
def test_wrong_encodings(tmp_path: Path, data: bytes, codes: set[str]) -> None:
    assert failure(write(tmp_path, data)).code in codes


def test_truncated_file_fails_after_yielding_what_it_read(tmp_path: Path) -> None:
    whole = HEAD + CREATE.format(rid="1", title="t") * 3 + TAIL
    path = write(tmp_path, whole[: len(whole) - 40])
    with pytest.raises(InvalidBatchFile) as caught:
        scan(path, LIMIT)
    assert caught.value.code == "xml_not_well_formed"
    assert caught.value.details["line"] >= 5


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00binary", "xml_not_well_formed"),
        (b"just some text", "xml_not_well_formed"),
        (b'<?xml version="1.0"?><other xmlns="urn:x"><header/></other>', "invalid_header"),
        (
            HEAD.replace("<sender>0900000147", "<sender>12").encode() + TAIL.encode(),
            "invalid_header",
        ),
        (HEAD.replace("<header>", "<records/><header>").encode() + TAIL.encode(), "invalid_header"),
        ((HEAD + TAIL).replace("</header>", "</header><header/>").encode(), "invalid_header"),
    ],
    ids=["binary", "text", "other-namespace", "bad-header", "records-first", "two-headers"],
)
def test_not_a_batch_file(tmp_path: Path, data: bytes, code: str) -> None:
    assert failure(write(tmp_path, data)).code == code


def test_header_time_python_cannot_read(tmp_path: Path) -> None:
    data = HEAD.replace("2026-11-23T10:00:00Z", "-0001-01-01T00:00:00Z") + TAIL
    assert failure(write(tmp_path, data)).code == "invalid_header"


def test_a_value_valid_for_the_schema_but_not_for_python(tmp_path: Path) -> None:
    record = CREATE.format(rid="y", title="t").replace("2024-03-01", "0000-03-01", 1)
    (rec,) = records(write(tmp_path, HEAD + record + TAIL), LIMIT)
    assert rec.error is not None
    assert rec.error.code == "schema_violation"

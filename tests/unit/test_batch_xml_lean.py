"""The lean reading paths of batch files (no database): the validation pass (:func:`scan`)
counts and refuses exactly as a full read does; record contents are read from the canonical
bytes, with the element walk as fallback, and converted once per distinct content."""

from __future__ import annotations

import contextlib
import io
import marshal
import signal
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path
from typing import Any

import psutil
import pytest

from ila.batch import reader, xmlfile
from ila.batch.streams import write_all
from ila.batch.xmlfile import NAMESPACE as NS
from ila.batch.xmlfile import Header, Record, TrainingCreate, read, records, scan
from ila.errors import InvalidBatchFile
from tests.unit.test_batch_xml import CREATE, HEAD, TAIL

LIMIT = 50 * 1024 * 1024
ODD = (
    "<surprise>x</surprise>\n"
    + CREATE.format(rid="a", title="t")
    + "<wrapper>"
    + CREATE.format(rid="inside", title="t")
    + "</wrapper>\n"
    + CREATE.format(rid="b", title="t")
    + "<x/><y/>"
    + CREATE.format(rid="c", title="t")
    + "<trailing/><records><inner/></records>\n"
)

FILES = {
    "plain": HEAD + CREATE.format(rid="1", title="t") * 3 + TAIL,
    "empty": HEAD + TAIL,
    "odd-elements": HEAD + ODD + TAIL,
    "records-outside": HEAD
    + TAIL.replace("</records>", "</records>" + CREATE.format(rid="o", title="t")),
    "truncated": (HEAD + CREATE.format(rid="1", title="t") * 3 + TAIL)[:-40],
    "not-xml": "just some text",
    "doctype": '<?xml version="1.0"?>\n<!DOCTYPE s [<!ENTITY x "y">]>\n'
    + HEAD.split("\n", 1)[1]
    + TAIL,
    "records-first": HEAD.replace("<header>", "<records/><header>") + TAIL,
    "two-headers": (HEAD + TAIL).replace("</header>", "</header><header/>"),
    "bad-header": HEAD.replace("<sender>0900000147", "<sender>12") + TAIL,
    "no-header": f'<?xml version="1.0"?><submission xmlns="{NS}"><records/></submission>',
    "other-namespace": '<?xml version="1.0"?><other xmlns="urn:x"><header/></other>',
}


def _outcome(call: object) -> tuple[str, object]:
    try:
        return "ok", call()  # type: ignore[operator]
    except InvalidBatchFile as exc:
        return "failed", (exc.code, exc.details.get("line"))


@pytest.mark.parametrize("name", sorted(FILES))
def test_scan_counts_and_refuses_as_a_full_read_does(tmp_path: Path, name: str) -> None:
    path = tmp_path / "f.xml"
    path.write_text(FILES[name], encoding="utf-8")

    def full() -> tuple[Header, int]:
        items = list(read(path, LIMIT))
        header = next(i for i in items if isinstance(i, Header))
        return header, sum(isinstance(i, Record) for i in items)

    assert _outcome(lambda: scan(path, LIMIT)) == _outcome(full)
    if name == "odd-elements":
        assert scan(path, LIMIT)[1] == 10  # a nested <records> reports its children too


def test_records_read_from_canonical_bytes_or_from_the_elements(tmp_path: Path) -> None:
    plain = HEAD + CREATE.format(rid="1", title="a &amp; b &lt;c&gt; d&#13;&#9;e") + TAIL
    prefixed = (
        HEAD.replace("<records>", f'<records xmlns:p="{NS}">')
        + CREATE.format(rid="1", title="a &amp; b &lt;c&gt; d&#13;&#9;e")
        .replace("<title>", "<p:title>")
        .replace("</title>", "</p:title>")
        + TAIL
    )
    foreign = (
        HEAD
        + CREATE.format(rid="1", title="a &amp; b &lt;c&gt; d&#13;&#9;e").replace(
            "<status>", '<note xmlns="urn:other">ignored</note><status>'
        )
        + TAIL
    )
    commands = []
    for i, text in enumerate((plain, prefixed, foreign)):
        path = tmp_path / f"{i}.xml"
        path.write_text(text, encoding="utf-8")
        (record,) = records(path, LIMIT)
        assert record.error is None or record.error.code == "schema_violation"
        commands.append(record.command if record.error is None else None)
    assert isinstance(commands[0], TrainingCreate)
    assert commands[0].data.title == "a & b <c> d\r\te"
    assert commands[1] == commands[0]  # a prefixed child: read from the elements
    assert commands[2] is None  # an element of another namespace: refused by the schema


def test_same_content_is_converted_once_and_bad_values_are_not_kept(tmp_path: Path) -> None:
    body = (
        CREATE.format(rid="1", title="t")
        + CREATE.format(rid="2", title="t")
        + CREATE.format(rid="3", title="t").replace("2024-03-01", "0000-03-01", 1)
        + CREATE.format(rid="4", title="t").replace("2024-03-01", "0000-03-01", 1)
        + CREATE.format(rid="5", title="u")
    )
    path = tmp_path / "f.xml"
    path.write_text(HEAD + body + TAIL, encoding="utf-8")
    recs = list(records(path, LIMIT))
    first, second, bad, worse, other = (r.command for r in recs)
    assert isinstance(first, TrainingCreate)
    assert isinstance(second, TrainingCreate)
    assert isinstance(other, TrainingCreate)
    assert first.data is second.data  # one conversion, shared (the data is immutable)
    assert other.data.title == "u"
    assert (bad, worse) == (None, None)
    assert [r.error.code if r.error else None for r in recs] == [
        None,
        None,
        "schema_violation",
        "schema_violation",
        None,
    ]
    assert recs[0].digest != recs[1].digest  # the record id is part of what was sent


def _view(record: Record) -> tuple[object, ...]:
    error = record.error
    return (
        record.seq,
        record.line,
        record.kind,
        record.record_id,
        record.digest,
        record.command,
        None if error is None else (type(error), error.code, error.message, error.field),
        None if error is None else error.details,
    )


def _read_all(path: Path, **given: int) -> tuple[list[tuple[object, ...]], object]:
    seen: list[tuple[object, ...]] = []
    try:
        seen.extend(_view(r) for r in records(path, LIMIT, **given))
    except InvalidBatchFile as exc:
        return seen, (exc.code, exc.message, exc.details)
    return seen, None


EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "xml" / "examples"


@pytest.mark.parametrize(
    "name",
    [*sorted(FILES), "schema-violations", "submission-trainings.xml", "submission-with-errors.xml"],
)
def test_the_reader_process_reads_what_this_process_reads(tmp_path: Path, name: str) -> None:
    """Large files are parsed by a reader process (``process_from`` forces it here): the same
    records, commands, digests and errors, in the same order, and the same failure after
    them; from a checkpoint too."""
    path = tmp_path / "f.xml"
    if name in FILES:
        path.write_text(FILES[name], encoding="utf-8")
    elif name == "schema-violations":
        bad = CREATE.format(rid="bad", title="t").replace("formal_internal", "no_such_nature")
        path.write_text(HEAD + bad + CREATE.format(rid="ok", title="t") + TAIL, encoding="utf-8")
    else:
        path.write_bytes((EXAMPLES / name).read_bytes())
    here = _read_all(path, process_from=1 << 40)
    there = _read_all(path, process_from=0)
    assert there == here
    if name in ("schema-violations", "odd-elements"):  # errors travel with their details
        assert {view[6][1] for view in here[0] if view[6]} == {  # type: ignore[index]
            "schema-violations": {"schema_violation"},
            "odd-elements": {"unknown_record"},
        }[name]
    assert _read_all(path, process_from=0, after=1) == _read_all(path, after=1)


def _creates(tmp_path: Path, count: int) -> Path:
    """A file of ``count`` new trainings with record ids 0, 1, 2…"""
    path = tmp_path / "f.xml"
    body = "".join(CREATE.format(rid=str(n), title="t") for n in range(count))
    path.write_text(HEAD + body + TAIL, encoding="utf-8")
    return path


def _readers() -> list[psutil.Process]:
    """This process's reader processes (a test process may have other children: servers)."""
    return [c for c in psutil.Process().children() if "ila.batch.reader" in c.cmdline()]


def test_closing_the_records_stops_the_reader_process(tmp_path: Path) -> None:
    path = _creates(tmp_path, 5000)

    items = records(path, LIMIT, process_from=0)
    assert [next(items).seq for _ in range(3)] == [1, 2, 3]
    (reader,) = _readers()
    items.close()  # type: ignore[attr-defined]
    assert _readers() == []
    assert not reader.is_running()
    assert [r.seq for r in records(path, LIMIT, process_from=0, after=4998)] == [4999, 5000]


def test_the_reader_process_ends_when_the_worker_is_killed(tmp_path: Path) -> None:
    """A worker killed with SIGKILL leaves no reader behind: the reader's next write to the
    closed pipe fails and it ends."""
    path = _creates(tmp_path, 100_000)
    worker = subprocess.Popen(  # noqa: S603 - this interpreter, our script
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from pathlib import Path\n"
            "from ila.batch.xmlfile import records\n"
            "items = records(Path(sys.argv[1]), 1 << 30, process_from=0)\n"
            "print(next(items).seq, flush=True)\n"
            "time.sleep(60)\n",
            str(path),
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert worker.stdout is not None
        assert worker.stdout.readline().strip() == b"1"
        (reader,) = psutil.Process(worker.pid).children()
        assert "ila.batch.reader" in reader.cmdline()
        worker.kill()
        worker.wait()
        psutil.wait_procs([reader], timeout=30)
        assert not reader.is_running()
    finally:
        worker.kill()
        worker.wait()
        if worker.stdout is not None:
            worker.stdout.close()


@pytest.mark.parametrize("name", ["plain", "truncated"])
def test_what_the_reader_writes_in_this_process(tmp_path: Path, name: str) -> None:
    """The reader's frames, written and read back here (the reader process is not measured by
    coverage): the records, then the end or the failure."""
    path = tmp_path / "f.xml"
    path.write_text(FILES[name], encoding="utf-8")
    out = io.BytesIO()
    assert reader.main([str(path), str(LIMIT), "0"], out) == 0
    frames = [marshal.loads(f) for f in xmlfile._frames(io.BytesIO(out.getvalue()))]  # noqa: S302
    raws = [raw for frame in frames[:-1] for raw in frame]
    assert [_view(xmlfile._rebuilt(raw)) for raw in raws] == _read_all(path)[0]
    assert len(raws) == (3 if name == "plain" else 2)  # the third is cut off
    if name == "plain":
        assert frames[-1] == ("end",)
    else:
        assert frames[-1][:2] == ("fail", "xml_not_well_formed")


def _frame(data: bytes, crc: int | None = None) -> bytes:
    return xmlfile._FRAME.pack(len(data), zlib.crc32(data) if crc is None else crc) + data


def test_a_frame_cut_short_ends_the_frames() -> None:
    whole = _frame(b"abc")
    cut = whole + _frame(b"abcde")[:-3]
    assert list(xmlfile._frames(io.BytesIO(cut))) == [b"abc"]
    assert list(xmlfile._frames(io.BytesIO(whole + b"\x01"))) == [b"abc"]  # a cut length


def test_a_frame_altered_on_its_way_is_an_error() -> None:
    """Bytes missing from the middle of a frame would make ``marshal`` read another block,
    or a shorter one, without a word: the CRC catches them."""
    frames = xmlfile._frames(io.BytesIO(_frame(b"abc") + _frame(b"abd", zlib.crc32(b"abc"))))
    assert next(frames) == b"abc"
    with pytest.raises(xmlfile.CorruptFrame, match="frame 2 from the batch file reader"):
        next(frames)


class Stingy(io.RawIOBase):
    """A raw stream that takes at most ``most`` bytes a call, as a pipe write interrupted by
    a signal does."""

    def __init__(self, most: int) -> None:
        self.most, self.got, self.calls = most, bytearray(), 0

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        self.calls += 1
        taken = bytes(b[: self.most])
        self.got += taken
        return len(taken)


def test_the_reader_writes_whole_frames_to_a_stream_that_takes_part(tmp_path: Path) -> None:
    path = tmp_path / "f.xml"
    path.write_text(FILES["plain"], encoding="utf-8")
    whole, stingy = io.BytesIO(), Stingy(7)
    reader.main([str(path), str(LIMIT), "0"], whole)
    reader.main([str(path), str(LIMIT), "0"], stingy)
    assert bytes(stingy.got) == whole.getvalue()
    assert stingy.calls > len(whole.getvalue()) // 7


def test_a_stream_that_takes_nothing_is_an_error_not_a_loop() -> None:
    with pytest.raises(BlockingIOError, match="3 bytes not written"):
        write_all(Stingy(0), b"abc")


def test_the_reader_process_loses_nothing_when_stopped_and_continued(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reader's standard output unbuffered (PYTHONUNBUFFERED, as in many containers) and
    the reader stopped and continued again and again while it writes (as job control or a
    profiler does): its writes to the full pipe are cut short, and every record still arrives,
    once, in order. (Before, the rest of a cut write was lost: 'bad marshal data'.)"""
    monkeypatch.setenv("PYTHONUNBUFFERED", "1")
    count = 60_000
    path = _creates(tmp_path, count)
    items = records(path, LIMIT, process_from=0)
    seen = [next(items).record_id]
    (reading,) = _readers()
    done = threading.Event()
    signals = 0

    def stop_and_continue() -> None:
        nonlocal signals
        try:
            while not done.is_set() and reading.is_running():
                reading.send_signal(signal.SIGSTOP)
                time.sleep(0.002)
                reading.send_signal(signal.SIGCONT)
                signals += 1
                time.sleep(0.003)
        except psutil.NoSuchProcess:
            pass

    pauser = threading.Thread(target=stop_and_continue)
    pauser.start()
    try:
        for record in items:  # slower than the reader: its writes wait for room in the pipe
            seen.append(record.record_id)
            if record.seq % 500 == 0:
                time.sleep(0.005)
    finally:
        done.set()
        pauser.join()
        with contextlib.suppress(psutil.NoSuchProcess):
            reading.send_signal(signal.SIGCONT)
    assert seen == [str(n) for n in range(count)]
    assert signals > 20


def test_a_reader_that_dies_is_an_error_not_an_end(tmp_path: Path) -> None:
    path = _creates(tmp_path, 100_000)
    items = records(path, LIMIT, process_from=0)
    assert next(items).seq == 1
    (reader,) = _readers()
    reader.kill()
    with pytest.raises(RuntimeError, match="stopped unexpectedly"):
        for _ in items:
            pass

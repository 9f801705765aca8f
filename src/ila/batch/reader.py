"""The reader process of large batch files (:func:`ila.batch.xmlfile.records`):
``python -m ila.batch.reader FILE MAX_BYTES AFTER`` writes the file's records on its standard
output, parsed, validated against the schema and canonicalised, for the processing to convert
and apply on another core."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO

from ila.batch.xmlfile import send_records


def main(argv: list[str], out: IO[bytes] | None = None) -> int:
    path, max_bytes, after = argv
    try:
        send_records(Path(path), int(max_bytes), int(after), out or sys.stdout.buffer)
    except BrokenPipeError:  # pragma: no cover - the processing stopped reading: nothing to do
        sys.stderr.close()  # no second complaint at exit
    return 0


if __name__ == "__main__":  # pragma: no cover - run as a process by xmlfile.records
    sys.exit(main(sys.argv[1:]))

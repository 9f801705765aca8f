"""Writing bytes whole to a stream that may take part of them."""

from __future__ import annotations

from typing import IO


def write_all(out: IO[bytes], data: bytes) -> None:
    """Write all of ``data``. An unbuffered stream (``sys.stdout.buffer`` under
    ``PYTHONUNBUFFERED``, a raw file) returns how much one system call took: part of it when a
    signal interrupts a write to a full pipe (SIGSTOP and SIGCONT, a profiler's ptrace), and
    the rest would be lost. A buffered one takes everything at once."""
    view = memoryview(data)
    while view:
        taken = out.write(view)
        if not taken:  # a non-blocking stream that would block: never ours
            raise BlockingIOError(f"{len(view)} bytes not written")
        view = view[taken:]

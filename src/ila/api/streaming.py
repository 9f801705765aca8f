"""A response streamed from a spooled temporary file (a large document is on disk, not in
memory), closed whether the client reads it to the end or goes away first."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import IO

from starlette.background import BackgroundTask
from starlette.responses import StreamingResponse


def _blocks(file: IO[bytes]) -> Iterator[bytes]:
    with file:
        while block := file.read(1 << 16):
            yield block


def spooled_response(
    file: IO[bytes], media_type: str, headers: Mapping[str, str] | None = None
) -> StreamingResponse:
    """Stream ``file`` from its start. The background task closes it too: when the client
    leaves before the body is read, the generator never starts and its ``with`` never runs."""
    file.seek(0)
    return StreamingResponse(
        _blocks(file),
        media_type=media_type,
        headers=dict(headers or {}),
        background=BackgroundTask(file.close),
    )

"""Running a coroutine from a synchronous test."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run_in_own_loop(coroutine: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
    """Run ``coroutine`` to its end in a new event loop, in a thread of its own: a test
    process may already have a loop running in its main thread (Playwright's synchronous API
    keeps one for the browser tests that ran before), where ``asyncio.run`` refuses to start.
    With ``timeout``, the coroutine is cancelled after so many seconds."""
    awaited = coroutine if timeout is None else asyncio.wait_for(coroutine, timeout)
    with ThreadPoolExecutor(1, thread_name_prefix="test-loop") as thread:
        return thread.submit(asyncio.run, awaited).result()

"""A token-bucket rate limiter kept in the memory of one server process.

Each key (``client:<client_id>``, or ``ip:<address>`` before a client is known) has a bucket of
``burst`` tokens refilled at ``rate`` per second; a request takes one token or is refused with
the seconds to wait. With N server processes a client gets up to N times the rate: the limit
protects each process, it is not a quota (a shared store would be needed for one)."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


class RateLimited(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"rate limit exceeded; retry after {retry_after} s")
        self.retry_after = retry_after


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBucketLimiter:
    MAX_KEYS = 10_000  # past this many buckets, full ones are forgotten (they hold no state)

    def __init__(
        self, rate: float, burst: int, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = float(burst)
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> None:
        """Take a token for ``key`` or raise :class:`RateLimited`."""
        with self._lock:
            now = self._clock()
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= self.MAX_KEYS:
                    self._forget_full(now)
                bucket = self._buckets[key] = _Bucket(self.burst, now)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return
            missing = 1 - bucket.tokens
        raise RateLimited(max(1, math.ceil(missing / self.rate)))

    def _forget_full(self, now: float) -> None:
        for key in [
            k
            for k, b in self._buckets.items()
            if b.tokens + (now - b.updated) * self.rate >= self.burst
        ]:
            del self._buckets[key]

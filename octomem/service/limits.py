"""Limits that keep one caller from starving the others: a token bucket per key (requests
per minute, 429 with Retry-After) and a bound on the requests a worker runs at once (503
with Retry-After instead of a queue without end). Both count per worker process."""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from octomem.service.problems import Problem, unavailable

BUSY_RETRY_AFTER_S = 1
_MAX_BUCKETS = 100_000  # keys remembered; the least recently seen is forgotten first


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    """`limit` requests a minute per key, in bursts of up to `limit`."""

    def __init__(self) -> None:
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, key_id: str, limit: int) -> None:
        """Take one request from `key_id`'s bucket; Problem 429 when it is empty."""
        now = time.monotonic()
        rate = limit / 60.0
        with self._lock:
            bucket = self._buckets.pop(key_id, None) or _Bucket(float(limit), now)
            bucket.tokens = min(float(limit), bucket.tokens + (now - bucket.at) * rate)
            bucket.at = now
            self._buckets[key_id] = bucket
            while len(self._buckets) > _MAX_BUCKETS:
                self._buckets.popitem(last=False)
            if bucket.tokens < 1.0:
                wait = math.ceil((1.0 - bucket.tokens) / rate)
                raise Problem(
                    429,
                    "rate-limited",
                    "Too many requests",
                    f"this key may make {limit} requests a minute; retry in {wait} s",
                    {
                        "Retry-After": str(wait),
                        "X-RateLimit-Limit": str(limit),
                        "X-RateLimit-Remaining": "0",
                    },
                )
            bucket.tokens -= 1.0


class WorkGate:
    """At most `limit` requests at once, and at most `per_key` of one key: one more is
    refused at once, so a key that keeps requests in flight (slow ones, or writes queued
    on one user's lock) leaves the other slots to the other keys."""

    def __init__(self, limit: int, per_key: int | None = None) -> None:
        self.limit = limit
        self.per_key = limit if per_key is None else max(1, min(per_key, limit))
        self.running = 0
        self._by_key: dict[str, int] = {}
        self._lock = threading.Lock()

    @contextmanager
    def slot(self, key: str) -> Iterator[None]:
        with self._lock:
            held = self._by_key.get(key, 0)
            full = self.running >= self.limit
            if full or held >= self.per_key:
                limit, whose = (self.limit, "") if full else (self.per_key, " of one key")
                busy = f"this worker is running its limit of {limit} requests{whose}; retry shortly"
                raise unavailable("busy", "Service busy", busy, BUSY_RETRY_AFTER_S)
            self.running += 1
            self._by_key[key] = held + 1
        try:
            yield
        finally:
            with self._lock:
                self.running -= 1
                if (left := self._by_key[key] - 1) > 0:
                    self._by_key[key] = left
                else:
                    del self._by_key[key]

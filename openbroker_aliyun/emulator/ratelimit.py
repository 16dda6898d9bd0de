"""An optional per-AccessKey request rate limit, answered with ``Throttling.User`` as Alibaba does."""

from __future__ import annotations

import threading
import time
from typing import Callable

from .errors import ApiError


class RateLimiter:
    """A token bucket per AccessKey: ``rate`` calls per second, bursts of ``burst``; 0 disables."""

    def __init__(
        self, rate: float, burst: float | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._rate = rate
        self._burst = burst if burst is not None else max(1.0, rate)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last refill)
        self._lock = threading.Lock()

    def check(self, access_key_id: str) -> None:
        if self._rate <= 0:
            return
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(access_key_id, (self._burst, now))
            tokens = min(self._burst, tokens + (now - last) * self._rate)
            if tokens < 1.0:
                self._buckets[access_key_id] = (tokens, now)
                raise ApiError("Throttling.User", "Request was denied due to user flow control.", 400)
            self._buckets[access_key_id] = (tokens - 1.0, now)

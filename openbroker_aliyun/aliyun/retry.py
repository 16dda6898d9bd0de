"""The retry policy of Alibaba calls: bounded attempts, capped exponential backoff, deadline.

The V1 SDK never retries RDS or R-kvstore calls, so the transport owns this. Only calls
marked idempotent are retried, and only for transient errors (see ``errors.is_transient``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class RetryPolicy:
    """``max_attempts`` tries at most, sleeping a "full jitter" backoff in between.

    Before attempt ``n + 1`` the client sleeps ``uniform(0, min(cap_s, base_s * 2 ** (n - 1)))``
    seconds; it gives up instead when that sleep would end after ``deadline_s`` seconds
    from the first attempt. The deadline bounds when a new attempt may start; an attempt
    itself is bounded by the connect and read timeouts.
    """

    max_attempts: int = 5
    base_s: float = 0.5
    cap_s: float = 8.0
    deadline_s: float = 30.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("RetryPolicy.max_attempts must be at least 1")
        if self.base_s < 0 or self.cap_s < 0 or self.deadline_s < 0:
            raise ValueError("RetryPolicy.base_s, cap_s and deadline_s must not be negative")

    def ceiling(self, attempt: int) -> float:
        """The largest backoff after failed attempt number ``attempt`` (1-based)."""
        # min() before the power would still overflow for huge attempts; clamp the exponent.
        exponent = min(max(attempt - 1, 0), 62)
        return float(min(self.cap_s, self.base_s * (2**exponent)))

    def backoff(self, attempt: int, random: Callable[[], float]) -> float:
        """A jittered sleep after failed attempt ``attempt``; ``random()`` is in [0, 1)."""
        return self.ceiling(attempt) * random()

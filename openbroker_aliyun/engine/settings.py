"""Settings of the background driver that steps asynchronous operations."""

from __future__ import annotations

import random
from dataclasses import dataclass

#: While the state store is unreachable, a background worker (the driver, the lease
#: keeper) waits this long before its first retry, twice as long before each next one,
#: up to ``STORE_RETRY_CAP``; an answer of the store to any call in the process (a
#: request, say) wakes it at once.
STORE_RETRY_FIRST = 0.5
STORE_RETRY_CAP = 10.0


def jittered_backoff(failures: int, base: float, cap: float) -> float:
    """Seconds to wait after ``failures`` failures in a row: ``base`` doubled per failure
    after the first, at most ``cap``, then shortened by up to half at random, so that
    workers that failed together (an outage) do not retry in step."""
    delay = min(cap, base * 2 ** min(max(failures - 1, 0), 30))
    return delay * random.uniform(0.5, 1.0)  # noqa: S311 - not for security


@dataclass(frozen=True)
class DriverSettings:
    """How the driver polls, leases and retries. Times are in seconds.

    ``poll_interval``: how often the driver looks for due operations (new operations of
    this process wake it at once). ``batch_size``: operations claimed per round (one
    ``broker.prefetch`` call each). ``lease_seconds``: how long a claim holds before
    another process may take the operation over; renewed while a step runs, so it bounds
    the time to resume after a crash, not the length of a step.
    ``default_max_duration``: an operation still unfinished this long after it started
    fails, unless its plan sets ``maximum_polling_duration``. ``backoff_base`` and
    ``backoff_cap``: retry delays after a transient error double from base up to cap,
    with jitter. ``tombstone_retention``: deleted instances and bindings (and finished
    operations) are kept this long for last_operation, then purged, checked every
    ``purge_interval``.
    """

    poll_interval: float = 5.0
    batch_size: int = 20
    lease_seconds: float = 60.0
    default_max_duration: float = 3600.0
    backoff_base: float = 2.0
    backoff_cap: float = 300.0
    tombstone_retention: float = 7 * 24 * 3600.0
    purge_interval: float = 3600.0

    def __post_init__(self) -> None:
        for name in (
            "poll_interval",
            "lease_seconds",
            "default_max_duration",
            "backoff_base",
            "backoff_cap",
            "tombstone_retention",
            "purge_interval",
        ):
            if not getattr(self, name) > 0:
                raise ValueError(f"DriverSettings.{name} must be positive")
        if self.batch_size < 1:
            raise ValueError("DriverSettings.batch_size must be at least 1")

    def backoff(self, failures: int) -> float:
        """Seconds to wait after ``failures`` transient errors in a row (full jitter half)."""
        return jittered_backoff(failures, self.backoff_base, self.backoff_cap)

    def store_retry(self, failures: int) -> float:
        """Seconds the driver waits after ``failures`` rounds in a row found the state store
        unreachable: from ``STORE_RETRY_FIRST`` up to ``STORE_RETRY_CAP``, or up to
        ``poll_interval`` when that is longer."""
        return jittered_backoff(failures, STORE_RETRY_FIRST, max(STORE_RETRY_CAP, self.poll_interval))

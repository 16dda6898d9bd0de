"""Settings of the background driver that steps asynchronous operations."""

from __future__ import annotations

import random
from dataclasses import dataclass


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
        delay = min(self.backoff_cap, self.backoff_base * 2 ** min(max(failures - 1, 0), 30))
        # Jitter spreads retries of many operations that failed together (an API outage).
        return delay * random.uniform(0.5, 1.0)  # noqa: S311 - not for security

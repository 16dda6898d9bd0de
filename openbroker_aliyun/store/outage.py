"""Whether the state store is reachable: one log line when an outage starts, one when it ends.

While the database is unreachable, every request and every background round that needs
it fails the same way; a line for each would bury the one fact that matters. The store
tells its ``OutageTracker`` (one per ``Store``, shared by all its threads) how each call
ended: the first ``StoreUnavailable`` logs "state store unreachable" at ERROR, the first
success after it logs "state store reachable again" at WARNING with how long the outage
lasted and how many calls failed meanwhile, and calls the listeners registered with
``when_reachable`` (the background workers, which wait longer and longer between their
attempts while the store is away, resume at once).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from openbroker_aliyun.forking import on_fork_in_child
from openbroker_aliyun.store.errors import StoreUnavailable

log = logging.getLogger("openbroker_aliyun.store")


class OutageTracker:
    """The store's reachability as its calls found it; thread-safe."""

    def __init__(self) -> None:
        self._listeners: list[Callable[[], None]] = []
        self._start_afresh()
        # A forked child (a gunicorn worker) has its own connections: it starts with no
        # outage, and with a lock no parent thread can be holding.
        on_fork_in_child(self, OutageTracker._start_afresh)

    def _start_afresh(self) -> None:
        self._lock = threading.Lock()
        self._down_since: float | None = None
        self._failed_calls = 0

    @property
    def down(self) -> bool:
        """True from a call that found the store unreachable until one that reached it."""
        return self._down_since is not None

    def down_for(self) -> float | None:
        """Seconds since the outage began, or None while the store is reachable."""
        since = self._down_since
        return None if since is None else time.monotonic() - since

    def unreachable(self, error: StoreUnavailable) -> None:
        """A call found the store unreachable (logged only when an outage begins)."""
        with self._lock:
            self._failed_calls += 1
            if self._down_since is not None:
                return
            self._down_since = time.monotonic()
        # The error's facts only (kind, driver class, code): a driver's message may name
        # the server's address, which the operator knows, or worse.
        log.error("state store unreachable", extra=error.log_fields())

    def reachable(self) -> None:
        """A call reached the store. Costs one attribute read while there is no outage."""
        if self._down_since is None:
            return
        with self._lock:
            since = self._down_since
            if since is None:
                return
            self._down_since = None
            failed, self._failed_calls = self._failed_calls, 0
            listeners = list(self._listeners)
        lasted = time.monotonic() - since
        log.warning(
            "state store reachable again after %.1f s",
            lasted,
            extra={"outage_seconds": round(lasted, 1), "failed_calls": failed},
        )
        for listener in listeners:
            listener()

    def when_reachable(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` (quick, never raising) each time an outage ends."""
        with self._lock:
            self._listeners.append(listener)

"""Describe results shared by every step, fetched in batches at most once per interval.

Alibaba throttles API calls per account, and a broker with many operations in flight
would otherwise describe each instance on each step. ``DescribeCache`` keeps the last
describe result of each cloud resource and refreshes it at most once per
``refresh_seconds``; when a refresh is due it refreshes *every* resource that is being
watched and is stale, in batches of ``batch_size`` ids per call (RDS
``DescribeDBInstances`` takes 100 ids, R-kvstore ``DescribeInstances`` 30). So with N
operations in flight the broker makes about ``ceil(N / batch_size)`` describe calls per
interval, however often steps run or platforms poll.

Time is cut into epochs of ``refresh_seconds``; a result is fresh until its epoch ends,
and a refresh takes every watched resource that is stale at that moment. Since all of
them go stale at the same instant, the resources describe together and stay together,
instead of drifting into as many calls per interval as there are start times. Steps that
wait should come back just after the epoch ends (``next_refresh_in``), so that they all
run on the one fresh describe.

A resource is watched from the first time a step asks for it until ``forget`` is called
(its operation finished) or, as a safety net, nobody has asked for it for
``IDLE_EPOCHS`` intervals.

The product-specific part is the ``fetch`` function: ids in, ``{id: item}`` out (the
product's typed describe items), with absent ids meaning "does not exist". Thread-safe:
one fetch at a time, so concurrent steps never describe the same resource twice.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable, Generic, Iterable, Mapping, Sequence, TypeVar

__all__ = ["IDLE_EPOCHS", "DescribeCache", "Described", "Fetch"]

#: Intervals without a question after which a resource stops being watched. Generous: a
#: busy driver may step an operation late, and re-watching costs a call of its own.
IDLE_EPOCHS = 12

ItemT = TypeVar("ItemT")

#: ``fetch(ids) -> {id: item}`` for the ids that exist; raises on a failed call.
Fetch = Callable[[Sequence[str]], Mapping[str, ItemT]]


@dataclass(frozen=True)
class Described(Generic[ItemT]):
    """What the cloud said about one resource (its typed describe item), and when (monotonic seconds)."""

    item: ItemT | None
    fetched_at: float

    @property
    def exists(self) -> bool:
        return self.item is not None


class DescribeCache(Generic[ItemT]):
    """Per-resource describe results, refreshed in batches (see the module docstring)."""

    def __init__(
        self,
        fetch: Fetch[ItemT],
        *,
        refresh_seconds: float,
        batch_size: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if refresh_seconds <= 0:
            raise ValueError("refresh_seconds must be positive")
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self._fetch = fetch
        self._refresh = refresh_seconds
        self._batch = batch_size
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[str, Described[ItemT]] = {}
        self._watched: dict[str, float] = {}  # id -> last time a step asked for it

    @property
    def refresh_seconds(self) -> float:
        return self._refresh

    def prefetch(self, ids: Iterable[str]) -> None:
        """Watch ``ids`` and refresh, in batches, every watched resource that is stale.

        Called once per batch of steps by the engine's driver; a failed call propagates
        (the steps then run and ask again through ``get``).
        """
        with self._lock:
            now = self._clock()
            for resource_id in ids:
                self._watched[resource_id] = now
            self._refresh_stale(now, required=())

    def watch(self, resource_id: str) -> None:
        """Start watching a resource without describing it now (e.g. one just created):
        the next refresh takes it along with the others."""
        with self._lock:
            self._watched[resource_id] = self._clock()

    def next_refresh_in(self) -> float:
        """Seconds until the current epoch ends (when every result goes stale)."""
        return self._refresh - (self._clock() % self._refresh)

    def get(self, resource_id: str) -> Described[ItemT]:
        """The resource's describe result, fetched now (with the other stale ones) if stale."""
        with self._lock:
            now = self._clock()
            self._watched[resource_id] = now
            if self._stale(self._entries.get(resource_id), now):
                self._refresh_stale(now, required=(resource_id,))
            return self._entries[resource_id]

    def invalidate(self, resource_id: str) -> None:
        """Drop the cached result: the broker just changed the resource and must not trust it."""
        with self._lock:
            self._entries.pop(resource_id, None)

    def forget(self, resource_id: str) -> None:
        """Stop watching a resource (its operation finished)."""
        with self._lock:
            self._entries.pop(resource_id, None)
            self._watched.pop(resource_id, None)

    def watched(self) -> frozenset[str]:
        """The ids currently watched (for tests and metrics)."""
        with self._lock:
            return frozenset(self._watched)

    # -- internals (lock held) -----------------------------------------------------------

    def _stale(self, entry: Described[ItemT] | None, now: float) -> bool:
        return entry is None or int(entry.fetched_at // self._refresh) < int(now // self._refresh)

    def _refresh_stale(self, now: float, required: Sequence[str]) -> None:
        idle_after = IDLE_EPOCHS * self._refresh
        for resource_id, asked in list(self._watched.items()):
            if now - asked > idle_after and resource_id not in required:
                del self._watched[resource_id]
                self._entries.pop(resource_id, None)
        stale = [
            resource_id for resource_id in self._watched if self._stale(self._entries.get(resource_id), now)
        ]
        # The ids a caller waits for go in the first batch.
        stale.sort(key=lambda resource_id: resource_id not in required)
        for start in range(0, len(stale), self._batch):
            chunk = stale[start : start + self._batch]
            try:
                found = self._fetch(chunk)
            except Exception:
                # A caller of ``get`` needs only its own batch: the others stay stale and
                # are fetched again by the next step that asks.
                if required and not any(resource_id in required for resource_id in chunk):
                    return
                raise
            # Stamped with the time the refresh started: the whole refresh is one epoch.
            fetched_at = now
            for resource_id in chunk:
                # Items are frozen answers: shared, never copied.
                self._entries[resource_id] = Described(item=found.get(resource_id), fetched_at=fetched_at)

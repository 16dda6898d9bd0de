"""Per-action call counts with a breakdown by outcome, for tests and benchmarks."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime
from typing import Any


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class CallCounter:
    """Counts every call that named an action, whatever its outcome.

    The outcome is ``ok``, the error code answered (``Throttling``, ``InvalidParameter``, ...),
    or ``drop`` / ``lost_response`` / ``lost_response_drop`` for injected transport faults.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str, str]] = Counter()
        self._since = _now_iso()

    def record(self, product: str, action: str, outcome: str) -> None:
        with self._lock:
            self._counts[(product, action, outcome)] += 1

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
            self._since = _now_iso()

    def count(
        self, action: str | None = None, *, product: str | None = None, outcome: str | None = None
    ) -> int:
        """Calls matching every filter given (all calls when none is)."""
        with self._lock:
            return sum(
                n
                for (p, a, o), n in self._counts.items()
                if (action is None or a == action)
                and (product is None or p == product)
                and (outcome is None or o == outcome)
            )

    def snapshot(self) -> dict[str, Any]:
        """``{"since", "total", "products": {p: {"total", "actions": {a: {"total", "outcomes"}}}}}``."""
        with self._lock:
            items = list(self._counts.items())
            since = self._since
        products: dict[str, Any] = {}
        for (product, action, outcome), n in sorted(items):
            entry = products.setdefault(product, {"total": 0, "actions": {}})
            entry["total"] += n
            per_action = entry["actions"].setdefault(action, {"total": 0, "outcomes": {}})
            per_action["total"] += n
            per_action["outcomes"][outcome] = per_action["outcomes"].get(outcome, 0) + n
        return {"since": since, "total": sum(n for _, n in items), "products": products}

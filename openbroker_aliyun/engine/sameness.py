"""When two requests are "the same": JSON values compared by content, not by spelling."""

from __future__ import annotations

import json
from typing import Any


def canonical(value: Any) -> str:
    """One spelling of a JSON value (sorted keys, tuples as lists)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def same_json(left: Any, right: Any) -> bool:
    """True when two JSON values are equal (``{"a": 1}`` and ``{"a": 1.0}`` are)."""
    return bool(json.loads(canonical(left)) == json.loads(canonical(right)))


def changed_keys(current: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """The given parameters whose value differs from (or is absent in) the current ones."""
    return {
        key: value for key, value in given.items() if key not in current or not same_json(current[key], value)
    }

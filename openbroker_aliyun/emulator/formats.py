"""Identifiers and timestamps as Alibaba writes them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


def _random_chars(count: int) -> str:
    value = uuid.uuid4().int
    chars = []
    for _ in range(count):
        value, index = divmod(value, len(_ALPHABET))
        chars.append(_ALPHABET[index])
    return "".join(chars)


def new_instance_id(prefix: str) -> str:
    """``rm-``, ``pgm-``, ``r-`` ... followed by 18 lowercase letters and digits."""
    return f"{prefix}-{_random_chars(18)}"


def new_order_id() -> str:
    return str(uuid.uuid4().int % 10**15).zfill(15)


def new_task_id() -> str:
    return str(uuid.uuid4().int % 10**9).zfill(9)


def iso_time(timestamp: float) -> str:
    """``2026-11-27T14:36:39Z``."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

"""Fixtures of the Redis broker's tests: emulators backed by real redis-server processes."""

from __future__ import annotations

from typing import Iterator

import pytest
from redis_harness import Emulator, emulator


@pytest.fixture
def backed_emulator(redis_server: str) -> Iterator[Emulator]:
    """A zero-delay emulator whose R-kvstore instances are real redis-server processes."""
    with emulator(backed=True, redis_server_binary=redis_server) as running:
        yield running

"""Fixtures of the Redis broker's tests: emulators backed by real redis-server processes."""

from __future__ import annotations

import os
from typing import Iterator

import pytest
from redis_harness import Emulator, emulator, redis_server_binary


@pytest.fixture
def redis_server() -> str:
    """The redis-server binary the emulator runs per instance: skipped on a laptop, required in CI."""
    binary = redis_server_binary()
    if binary is not None:
        return binary
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail("redis-server is not installed; CI must provide it", pytrace=False)
    pytest.skip("redis-server is not installed (install it to run this test)")


@pytest.fixture
def backed_emulator(redis_server: str) -> Iterator[Emulator]:
    """A zero-delay emulator whose R-kvstore instances are real redis-server processes."""
    with emulator(backed=True, redis_server_binary=redis_server) as running:
        yield running

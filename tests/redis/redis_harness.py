"""Helpers for the Redis broker's tests: the shared harness (tests/broker_harness.py) with the
Redis catalog, AccessKey and settings.

Everything is real: the emulator (its R-kvstore instances backed by real ``redis-server``
child processes when a test asks), the V1 SDK transport, HTTP and the platform-like
client. Only durations are shortened.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import broker_harness
from aliyun_brokers.common.settings import CloudBrokerSettings
from aliyun_brokers.redis.broker import RedisBroker
from aliyun_brokers.redis.catalog import load_redis_catalog
from broker_harness import Emulator, Running, fast_transport

__all__ = [
    "KEY_ID",
    "KEY_SECRET",
    "REDIS",
    "Emulator",
    "RunningRedis",
    "emulator",
    "fast_transport",
    "plan_id",
    "redis_broker",
    "redis_settings",
]

KEY_ID = "redis-test-key"
KEY_SECRET = "redis-test-SECRET-7a6b5c4d"  # searched for in logs and descriptions: must never appear

CATALOG, PLANS = load_redis_catalog()
[REDIS] = CATALOG.services

RunningRedis = Running[RedisBroker, CloudBrokerSettings]


def plan_id(name: str) -> str:
    return next(plan.id for plan in REDIS.plans if plan.name == name)


def emulator(*, backed: bool = False, **overrides: Any) -> AbstractContextManager[Emulator]:
    """The emulator with zero durations (unless overridden); ``backed``: real redis-server children."""
    return broker_harness.emulator("r-kvstore", KEY_ID, KEY_SECRET, redis=backed, **overrides)


def redis_settings(emulator_url: str, state_dir: str | Path, **overrides: Any) -> CloudBrokerSettings:
    """Settings of a broker under test, pointed at ``emulator_url``."""
    return broker_harness.settings_for_tests(
        CloudBrokerSettings, emulator_url, state_dir, key_id=KEY_ID, key_secret=KEY_SECRET, **overrides
    )


def redis_broker(
    settings: CloudBrokerSettings | None = None, *, emulator_url: str | None = None
) -> AbstractContextManager[RunningRedis]:
    """Serve a RedisBroker over real HTTP with its engine driver running."""
    return broker_harness.running_broker(RedisBroker, settings, emulator_url, redis_settings)

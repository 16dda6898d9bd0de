"""What every Redis step needs: settings, the R-kvstore API, the describe cache, the plans."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Mapping

from aliyun_brokers.common.describe_cache import DescribeCache, Described
from aliyun_brokers.common.settings import CloudBrokerSettings
from aliyun_brokers.redis.cloud import KvstoreApi
from aliyun_brokers.redis.cloud_kind import CloudKind
from aliyun_brokers.redis.plans import RedisPlan
from openbroker_aliyun.broker import InProgress

__all__ = ["BUSY_STATES", "GONE_STATES", "NORMAL", "RedisRuntime"]

#: The status of an instance that is up and idle (R-kvstore says ``Normal``, not ``Running``).
NORMAL = "Normal"
#: Statuses of an instance on its way out: never adopted, never waited for.
GONE_STATES = frozenset({"Released"})
#: Statuses of an instance busy with a change; it returns to ``Normal`` by itself.
BUSY_STATES = frozenset(
    {
        "Creating",
        "Changing",
        "Transforming",
        "Migrating",
        "BackupRecovering",
        "Flushing",
        "MinorVersionUpgrading",
        "MajorVersionUpgrading",
        "NetworkModifying",
        "SSLModifying",
    }
)


@dataclass
class RedisRuntime:
    """Shared by the Redis broker's step modules."""

    settings: CloudBrokerSettings
    api: KvstoreApi
    cache: DescribeCache
    plans: Mapping[str, RedisPlan]
    kind: CloudKind

    @property
    def refresh(self) -> float:
        return self.settings.refresh_seconds

    def plan(self, plan_id: str) -> RedisPlan:
        return self.plans[plan_id]

    def wait(self, description: str) -> InProgress:
        """Come back after one refresh interval (when the describe cache has news)."""
        return InProgress(description=description, retry_after=self.refresh)

    def describe(self, instance_id: str) -> Described:
        return self.cache.get(instance_id)

    @staticmethod
    def now() -> float:
        """Wall-clock seconds: stored in details, so it must survive a restart (not monotonic)."""
        return time.time()

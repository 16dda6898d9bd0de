"""What every Redis step needs: the shared ``CloudRuntime`` with R-kvstore's API and plans."""

from __future__ import annotations

from aliyun_brokers.common.runtime import CloudRuntime
from aliyun_brokers.common.settings import CloudBrokerSettings
from aliyun_brokers.redis.cloud import KvstoreApi
from aliyun_brokers.redis.plans import RedisPlan
from aliyun_brokers.redis.wire import KVStoreInstance

__all__ = ["RedisRuntime"]

#: Shared by the Redis broker's step modules (the Redis broker has no facts of its own).
RedisRuntime = CloudRuntime[CloudBrokerSettings, KvstoreApi, RedisPlan, KVStoreInstance]

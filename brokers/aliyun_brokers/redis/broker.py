"""``RedisBroker``: ApsaraDB for Redis (R-kvstore) as an OSB service broker plug-in.

The shared ``CloudBroker`` (checks, the dispatch of every operation, deprovisioning and
unbinding, the batched prefetch: see ``aliyun_brokers.common.broker``) with the Redis
catalog and runtime, the refusal of a bind on an engine without accounts, and ``STEPS``:
the Redis records and the stage tables of the step modules (provision.py, update.py,
binding.py).
"""

from __future__ import annotations

import time
from typing import Any, Callable

from aliyun_brokers.common.broker import BrokerSteps, CloudBroker
from aliyun_brokers.common.settings import CloudBrokerSettings
from aliyun_brokers.redis import binding, provision, update
from aliyun_brokers.redis.catalog import load_redis_catalog
from aliyun_brokers.redis.cloud import KvstoreApi
from aliyun_brokers.redis.plans import has_accounts
from aliyun_brokers.redis.progress import RedisBinding, RedisProgress, RedisUpdate
from aliyun_brokers.redis.runtime import RedisRuntime
from openbroker_aliyun.aliyun.port import AliyunPort
from openbroker_aliyun.catalog.model import Plan
from openbroker_aliyun.domain import BindRequest, InstanceRecord, UpdateRequest
from openbroker_aliyun.errors import BadRequest

__all__ = ["STEPS", "RedisBroker"]

#: What the Redis broker records, and which stage runs for which ``step`` of each operation.
STEPS: BrokerSteps[RedisRuntime, RedisProgress, RedisUpdate, RedisBinding] = BrokerSteps(
    progress=RedisProgress,
    binding=RedisBinding,
    provision_start=provision.start,
    provision=provision.PROVISION,
    update=update.UPDATE,
    bind=binding.BIND,
)


class RedisBroker(CloudBroker[RedisRuntime, RedisProgress, RedisUpdate, RedisBinding]):
    """ApsaraDB for Redis (see docs/redis.md).

    ``port`` is the Alibaba transport (``SdkAliyunClient`` in production); ``clock``
    (monotonic seconds) drives the describe cache and is replaced in tests.
    """

    bind_target = "Redis instance"

    def __init__(
        self, settings: CloudBrokerSettings, port: AliyunPort, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        catalog, plans = load_redis_catalog(
            settings.catalog_file, user_zones=list(settings.zones_for_users())
        )
        runtime = RedisRuntime(settings, KvstoreApi(port, settings.region_id), plans, clock)
        super().__init__(catalog, runtime, STEPS)

    def validate_update(
        self, request: UpdateRequest, instance: InstanceRecord, plan: Plan, parameters: dict[str, Any]
    ) -> None:
        old, new = self.runtime.plan(instance.plan_id), self.runtime.plan(plan.id)
        update.check_update(self.runtime, instance, old, new, parameters)

    def validate_bind(
        self, request: BindRequest, instance: InstanceRecord, plan: Plan, parameters: dict[str, Any]
    ) -> None:
        super().validate_bind(request, instance, plan, parameters)
        version = self.progress(instance).engine_version or "0.0"
        if not has_accounts(version):
            raise BadRequest(
                f"Redis {version} has no accounts, so this broker cannot make "
                "credentials of the binding's own; use a plan with Redis 4.0 or later."
            )

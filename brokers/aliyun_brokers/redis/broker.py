"""``RedisBroker``: ApsaraDB for Redis (R-kvstore) as an OSB service broker plug-in.

The plug-in holds the catalog, the checks that run before anything is recorded, and the
dispatch to the step modules (provision.py, update.py, binding.py, deletion.py). Every
operation is asynchronous: creates, changes and deletes take minutes, and accounts are
created through the same throttled API.

API economy: the framework's driver calls ``prefetch`` once per batch of steps; that
refreshes, in one ``DescribeInstances`` call per 30 instances, every instance whose cached
describe is older than ``refresh_seconds``. Steps read the cache, and platforms'
``last_operation`` polls are answered from the broker's store, so polling costs no
Alibaba call at all.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable, Sequence

from aliyun_brokers.common.describe_cache import DescribeCache
from aliyun_brokers.common.settings import CloudBrokerSettings
from aliyun_brokers.redis import binding, deletion, provision, update
from aliyun_brokers.redis.catalog import load_redis_catalog
from aliyun_brokers.redis.cloud import DESCRIBE_BATCH, KvstoreApi
from aliyun_brokers.redis.cloud_kind import CloudKind
from aliyun_brokers.redis.network_parameters import refuse_public_ips
from aliyun_brokers.redis.plans import has_accounts
from aliyun_brokers.redis.runtime import BUSY_STATES, GONE_STATES, RedisRuntime
from openbroker_aliyun.aliyun.port import AliyunError, AliyunPort
from openbroker_aliyun.broker import BindStepResult, InstanceStepResult, ServiceBroker
from openbroker_aliyun.catalog.model import Plan
from openbroker_aliyun.domain import (
    BindingOperation,
    BindRequest,
    InstanceOperation,
    InstanceRecord,
    OperationKind,
    ProvisionRequest,
    UpdateRequest,
)
from openbroker_aliyun.errors import BadRequest

__all__ = ["RedisBroker"]

_log = logging.getLogger("aliyun_brokers.redis")


class RedisBroker(ServiceBroker):
    """ApsaraDB for Redis (see docs/redis.md).

    ``port`` is the Alibaba transport (``SdkAliyunClient`` in production); ``clock``
    (monotonic seconds) drives the describe cache and is replaced in tests.
    """

    async_operations = frozenset(OperationKind)

    def __init__(
        self, settings: CloudBrokerSettings, port: AliyunPort, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.catalog, plans = load_redis_catalog(
            settings.catalog_file, user_zones=list(settings.zones_for_users())
        )
        api = KvstoreApi(port, settings.region_id)
        cache = DescribeCache(
            api.describe_instances,
            refresh_seconds=settings.refresh_seconds,
            batch_size=DESCRIBE_BATCH,
            clock=clock,
        )
        kind = CloudKind(
            noun="Redis instance",
            id_detail="instance_id",
            id_key="InstanceId",
            status_key="InstanceStatus",
            gone_states=GONE_STATES,
            wait_states=BUSY_STATES,
            busy_codes=frozenset(
                {"IncorrectDBInstanceState", "IncorrectInstanceState", "IncorrectInstanceStatus"}
            ),
            find_by_tags=api.find_by_tags,
            delete=api.delete_instance,
        )
        self.runtime = RedisRuntime(settings=settings, api=api, cache=cache, plans=plans, kind=kind)

    # -- checks before anything is recorded ------------------------------------------------

    def validate_provision(self, request: ProvisionRequest, plan: Plan, parameters: dict[str, Any]) -> None:
        refuse_public_ips(parameters.get("security_ips"), allowed=self.runtime.settings.allow_public_access)

    def validate_update(
        self, request: UpdateRequest, instance: InstanceRecord, plan: Plan, parameters: dict[str, Any]
    ) -> None:
        old, new = self.runtime.plan(instance.plan_id), self.runtime.plan(plan.id)
        update.check_update(self.runtime, instance, old, new, parameters)

    def validate_bind(
        self, request: BindRequest, instance: InstanceRecord, plan: Plan, parameters: dict[str, Any]
    ) -> None:
        details = instance.details
        if not details.get("instance_id") or not details.get("host"):
            # The engine refuses binds before provisioning succeeded; a record without an
            # instance can only come from a failed provision.
            raise BadRequest("This service instance has no Redis instance to bind to; provision it again.")
        if not has_accounts(str(details.get("engine_version", "0.0"))):
            raise BadRequest(
                f"Redis {details.get('engine_version')} has no accounts, so this broker cannot make "
                "credentials of the binding's own; use a plan with Redis 4.0 or later."
            )

    # -- steps -------------------------------------------------------------------------------

    def provision(self, op: InstanceOperation) -> InstanceStepResult:
        return provision.provision(self.runtime, op)

    def update(self, op: InstanceOperation) -> InstanceStepResult:
        return update.update(self.runtime, op)

    def deprovision(self, op: InstanceOperation) -> InstanceStepResult:
        rt = self.runtime
        return deletion.deprovision(
            rt.kind, op, broker_id=rt.settings.broker_id, cache=rt.cache, refresh_seconds=rt.refresh
        )

    def bind(self, op: BindingOperation) -> BindStepResult:
        return binding.bind(self.runtime, op)

    def unbind(self, op: BindingOperation) -> InstanceStepResult:
        return binding.unbind(self.runtime, op)

    # -- API economy -------------------------------------------------------------------------

    def prefetch(self, operations: Sequence[InstanceOperation | BindingOperation]) -> None:
        ids = self.runtime.kind.watched_ids(operations)
        if not ids:
            return
        try:
            self.runtime.cache.prefetch(ids)
        except AliyunError as error:
            # The steps ask the cache again and handle the error as theirs.
            _log.info("batched describe failed: %s", error.code)

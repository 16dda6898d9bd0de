"""``RdsBroker``: ApsaraDB RDS for MySQL and PostgreSQL as an OSB service broker plug-in.

The plug-in holds the catalog, the checks that run before anything is recorded, and the
dispatch to the step modules (provision.py, update.py, deprovision.py, binding.py).
Every operation is asynchronous: RDS creates, changes and deletes take minutes, and
accounts are created through the same throttled API.

API economy: the framework's driver calls ``prefetch`` once per batch of steps; that
refreshes, in one ``DescribeDBInstances`` call per 100 instances, every instance whose
cached describe is older than ``refresh_seconds``. Steps read the cache, and platforms'
``last_operation`` polls are answered from the broker's store, so polling costs no
Alibaba call at all.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable, Sequence

from aliyun_brokers.common.describe_cache import DescribeCache
from aliyun_brokers.common.settings import is_public
from aliyun_brokers.rds import binding, deprovision, provision, update
from aliyun_brokers.rds.catalog import load_rds_catalog
from aliyun_brokers.rds.cloud import DESCRIBE_BATCH, RdsApi
from aliyun_brokers.rds.runtime import RdsRuntime
from aliyun_brokers.rds.settings import RdsSettings
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

__all__ = ["RdsBroker"]

_log = logging.getLogger("aliyun_brokers.rds")


class RdsBroker(ServiceBroker):
    """ApsaraDB RDS for MySQL and PostgreSQL (see docs/rds.md).

    ``port`` is the Alibaba transport (``SdkAliyunClient`` in production); ``clock``
    (monotonic seconds) drives the describe cache and is replaced in tests.
    """

    async_operations = frozenset(OperationKind)

    def __init__(
        self, settings: RdsSettings, port: AliyunPort, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.catalog, plans = load_rds_catalog(
            settings.catalog_file, user_zones=list(settings.zones_for_users())
        )
        api = RdsApi(port, settings.region_id)
        cache = DescribeCache(
            api.describe_instances,
            refresh_seconds=settings.refresh_seconds,
            batch_size=DESCRIBE_BATCH,
            clock=clock,
        )
        self.runtime = RdsRuntime(settings=settings, api=api, cache=cache, plans=plans)

    # -- checks before anything is recorded ------------------------------------------------

    def validate_provision(self, request: ProvisionRequest, plan: Plan, parameters: dict[str, Any]) -> None:
        self._check_ips(parameters)

    def validate_update(
        self, request: UpdateRequest, instance: InstanceRecord, plan: Plan, parameters: dict[str, Any]
    ) -> None:
        old = self.runtime.plan(instance.plan_id)
        new = self.runtime.plan(plan.id)
        update.check_update(self.runtime, instance, old, new, parameters)

    def validate_bind(
        self, request: BindRequest, instance: InstanceRecord, plan: Plan, parameters: dict[str, Any]
    ) -> None:
        if not instance.details.get("db_instance_id") or not instance.details.get("host"):
            # The engine refuses binds before provisioning succeeded; a record without an
            # instance can only come from a failed provision.
            raise BadRequest("This service instance has no database to bind to; provision it again.")

    def _check_ips(self, parameters: dict[str, Any]) -> None:
        ips = parameters.get("security_ips") or []
        if any(is_public(ip) for ip in ips) and not self.runtime.settings.allow_public_access:
            raise BadRequest(
                "Invalid parameters: security_ips: whole-internet blocks (0.0.0.0/0) "
                "are not allowed by the operator."
            )

    # -- steps -------------------------------------------------------------------------------

    def provision(self, op: InstanceOperation) -> InstanceStepResult:
        return provision.provision(self.runtime, op)

    def update(self, op: InstanceOperation) -> InstanceStepResult:
        return update.update(self.runtime, op)

    def deprovision(self, op: InstanceOperation) -> InstanceStepResult:
        return deprovision.deprovision(self.runtime, op)

    def bind(self, op: BindingOperation) -> BindStepResult:
        return binding.bind(self.runtime, op)

    def unbind(self, op: BindingOperation) -> InstanceStepResult:
        return binding.unbind(self.runtime, op)

    # -- API economy -------------------------------------------------------------------------

    def prefetch(self, operations: Sequence[InstanceOperation | BindingOperation]) -> None:
        ids: list[str] = []
        for op in operations:
            if isinstance(op, InstanceOperation):
                details = op.instance.details
                if details.get("db_instance_id"):
                    ids.append(details["db_instance_id"])
                ids.extend(details.get("deprovision", {}).get("ids", []))
        if not ids:
            return
        try:
            self.runtime.cache.prefetch(ids)
        except AliyunError as error:
            # The steps ask the cache again and handle the error as theirs.
            _log.info("batched describe failed: %s", error.code)

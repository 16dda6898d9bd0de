"""``RdsBroker``: ApsaraDB RDS for MySQL and PostgreSQL as an OSB service broker plug-in.

The shared ``CloudBroker`` (checks, the dispatch of every operation, deprovisioning and
unbinding, the batched prefetch: see ``aliyun_brokers.common.broker``) with the RDS
catalog and runtime, and ``STEPS``: the RDS records and the stage tables of the step
modules (provision.py, update.py, binding.py).
"""

from __future__ import annotations

import time
from typing import Any, Callable

from aliyun_brokers.common.broker import BrokerSteps, CloudBroker
from aliyun_brokers.common.progress import BindingProgress
from aliyun_brokers.rds import binding, provision, update
from aliyun_brokers.rds.catalog import load_rds_catalog
from aliyun_brokers.rds.cloud import RdsApi
from aliyun_brokers.rds.progress import RdsProgress, RdsUpdate
from aliyun_brokers.rds.runtime import RdsRuntime
from aliyun_brokers.rds.settings import RdsSettings
from openbroker_aliyun.aliyun.port import AliyunPort
from openbroker_aliyun.catalog.model import Plan
from openbroker_aliyun.domain import InstanceRecord, UpdateRequest

__all__ = ["STEPS", "RdsBroker"]

#: What the RDS broker records, and which stage runs for which ``step`` of each operation.
STEPS: BrokerSteps[RdsRuntime, RdsProgress, RdsUpdate, BindingProgress] = BrokerSteps(
    progress=RdsProgress,
    binding=BindingProgress,
    provision=provision.PROVISION,
    update=update.UPDATE,
    bind=binding.BIND,
)


class RdsBroker(CloudBroker[RdsRuntime, RdsProgress, RdsUpdate, BindingProgress]):
    """ApsaraDB RDS for MySQL and PostgreSQL (see docs/rds.md).

    ``port`` is the Alibaba transport (``SdkAliyunClient`` in production); ``clock``
    (monotonic seconds) drives the describe cache and is replaced in tests.
    """

    bind_target = "database"

    def __init__(
        self, settings: RdsSettings, port: AliyunPort, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        catalog, plans = load_rds_catalog(settings.catalog_file, user_zones=list(settings.zones_for_users()))
        super().__init__(catalog, RdsRuntime(settings, RdsApi(port, settings.region_id), plans, clock), STEPS)

    def validate_update(
        self, request: UpdateRequest, instance: InstanceRecord, plan: Plan, parameters: dict[str, Any]
    ) -> None:
        old, new = self.runtime.plan(instance.plan_id), self.runtime.plan(plan.id)
        update.check_update(self.runtime, instance, old, new, parameters)

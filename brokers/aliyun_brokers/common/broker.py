"""``CloudBroker``: what the plug-ins of the Alibaba brokers share.

Every operation is asynchronous: creates, changes and deletes take minutes, and accounts
are created through the same throttled API. The checks that run before anything is
recorded (whitelist entries outside the operator's policy, a bind on an instance without one), deprovisioning
(deletion.py) and the batched prefetch are the same for every product; a product's
broker adds its catalog, its runtime and the dispatch to its step modules.

API economy: the framework's driver calls ``prefetch`` once per batch of steps; that
refreshes, in one describe call per batch of ids (RDS: 100, R-kvstore: 30), every
instance whose cached describe is older than ``refresh_seconds``. Steps read the cache,
and platforms' ``last_operation`` polls are answered from the broker's store, so polling
costs no Alibaba call at all.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar, Generic, Sequence, TypeVar

from aliyun_brokers.common import deletion
from aliyun_brokers.common.parameters import refuse_disallowed_ips
from aliyun_brokers.common.runtime import CloudRuntime
from openbroker_aliyun.aliyun.port import AliyunError
from openbroker_aliyun.broker import InstanceStepResult, ServiceBroker
from openbroker_aliyun.catalog.model import Catalog, Plan
from openbroker_aliyun.domain import (
    BindingOperation,
    BindRequest,
    InstanceOperation,
    InstanceRecord,
    OperationKind,
    ProvisionRequest,
)
from openbroker_aliyun.errors import BadRequest

__all__ = ["CloudBroker"]

_log = logging.getLogger(__name__)

RuntimeT = TypeVar("RuntimeT", bound=CloudRuntime[Any, Any, Any])


class CloudBroker(ServiceBroker, Generic[RuntimeT]):
    """The shared part of an Alibaba broker plug-in (see the module docstring).

    Subclasses build the catalog and runtime, and implement ``validate_update``,
    ``provision``, ``update``, ``bind`` and ``unbind`` with their step modules.
    """

    async_operations = frozenset(OperationKind)
    #: What a binding is made on, in "This service instance has no database to bind to".
    bind_target: ClassVar[str]

    def __init__(self, catalog: Catalog, runtime: RuntimeT) -> None:
        self.catalog = catalog
        self.runtime = runtime

    # -- checks before anything is recorded ------------------------------------------------

    def validate_provision(self, request: ProvisionRequest, plan: Plan, parameters: dict[str, Any]) -> None:
        refuse_disallowed_ips(parameters.get("security_ips"), self.runtime.settings.whitelist_policy)

    def validate_bind(
        self, request: BindRequest, instance: InstanceRecord, plan: Plan, parameters: dict[str, Any]
    ) -> None:
        details = instance.details
        if not details.get(self.runtime.kind.id_detail) or not details.get("host"):
            # The engine refuses binds before provisioning succeeded; a record without an
            # instance can only come from a failed provision.
            raise BadRequest(
                f"This service instance has no {self.bind_target} to bind to; provision it again."
            )

    # -- steps -------------------------------------------------------------------------------

    def deprovision(self, op: InstanceOperation) -> InstanceStepResult:
        return deletion.deprovision(self.runtime, op)

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

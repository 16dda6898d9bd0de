"""``CloudBroker``: what the plug-ins of the Alibaba brokers share, dispatch included.

Every operation is asynchronous: creates, changes and deletes take minutes, and accounts
are created through the same throttled API. A product's broker declares its ``BrokerSteps``
(its progress records and a ``StageTable`` per operation); the rest is here, once:

* the checks that run before anything is recorded (whitelist entries outside the
  operator's policy, a bind on an instance without one);
* the dispatch: which table runs for which operation, where its progress is kept
  (``details``, ``details["update"]``, ``details["deprovision"]``, the binding's
  ``details``), how a new operation starts over and how a run ends; deprovisioning
  (deletion.py) and unbinding (binding.py) are the same for every product;
* the batched prefetch.

API economy: the framework's driver calls ``prefetch`` once per batch of steps; that
refreshes, in one describe call per batch of ids (RDS: 100, R-kvstore: 30), every
instance whose cached describe is older than ``refresh_seconds``. Steps read the cache,
and platforms' ``last_operation`` polls are answered from the broker's store, so polling
costs no Alibaba call at all.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Generic, Sequence, TypeVar, cast

from aliyun_brokers.common import deletion
from aliyun_brokers.common.binding import unbind
from aliyun_brokers.common.parameters import refuse_disallowed_ips
from aliyun_brokers.common.progress import (
    Binding,
    BindingProgress,
    CloudProgress,
    Deleting,
    UpdateProgress,
    Updating,
    recorded,
)
from aliyun_brokers.common.runtime import CloudRuntime
from aliyun_brokers.common.stages import StageTable, run_stages
from openbroker_aliyun.aliyun.port import AliyunError
from openbroker_aliyun.broker import BindStepResult, InstanceStepResult, ServiceBroker
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

__all__ = ["BindSteps", "BrokerSteps", "CloudBroker", "UpdateSteps"]

_log = logging.getLogger(__name__)

RuntimeT = TypeVar("RuntimeT", bound=CloudRuntime[Any, Any, Any, Any])
ProgressT = TypeVar("ProgressT", bound=CloudProgress)
UpdateT = TypeVar("UpdateT", bound=UpdateProgress)
BindingT = TypeVar("BindingT", bound=BindingProgress)


@dataclass(frozen=True)
class UpdateSteps(Generic[RuntimeT, ProgressT, UpdateT]):
    """An update: its targets (recorded once per operation, in ``details["update"]``) and its stages."""

    targets: Callable[[RuntimeT, InstanceOperation, ProgressT], UpdateT]
    stages: StageTable[RuntimeT, InstanceOperation, Updating[ProgressT, UpdateT], InstanceStepResult]


@dataclass(frozen=True)
class BindSteps(Generic[RuntimeT, ProgressT, BindingT]):
    """A bind: its stages and its result (the credentials); and the account unbind deletes."""

    stages: StageTable[RuntimeT, BindingOperation, Binding[ProgressT, BindingT], BindStepResult]
    bound: Callable[[RuntimeT, BindingOperation, Binding[ProgressT, BindingT]], BindStepResult]
    #: The account a binding gets (unbind deletes it when the bind did not record it).
    account: Callable[[RuntimeT, BindingOperation, ProgressT], str]
    #: The binding's account in descriptions ("database account").
    account_noun: str


@dataclass(frozen=True)
class BrokerSteps(Generic[RuntimeT, ProgressT, UpdateT, BindingT]):
    """What a product's broker declares; ``CloudBroker`` runs it."""

    #: The record of an instance's ``details`` and of a binding's.
    progress: type[ProgressT]
    binding: type[BindingT]
    provision: StageTable[RuntimeT, InstanceOperation, ProgressT, InstanceStepResult]
    update: UpdateSteps[RuntimeT, ProgressT, UpdateT]
    bind: BindSteps[RuntimeT, ProgressT, BindingT]
    #: Called before a provision's stages: may start over for a new operation.
    provision_start: Callable[[InstanceOperation, ProgressT], None] | None = None


class CloudBroker(ServiceBroker, Generic[RuntimeT, ProgressT, UpdateT, BindingT]):
    """The shared part of an Alibaba broker plug-in (see the module docstring).

    Subclasses build the catalog, the runtime and the steps, and implement
    ``validate_update``.
    """

    async_operations = frozenset(OperationKind)
    #: What a binding is made on, in "This service instance has no database to bind to".
    bind_target: ClassVar[str]

    def __init__(
        self, catalog: Catalog, runtime: RuntimeT, steps: BrokerSteps[RuntimeT, ProgressT, UpdateT, BindingT]
    ) -> None:
        self.catalog = catalog
        self.runtime = runtime
        self.steps = steps
        self._deprovision = deletion.stages(runtime.kind.noun)

    def progress(self, instance: InstanceRecord) -> ProgressT:
        """The instance's recorded progress (to read; steps record theirs with ``recorded``)."""
        return self.steps.progress.load(instance.details)

    # -- checks before anything is recorded ------------------------------------------------

    def validate_provision(self, request: ProvisionRequest, plan: Plan, parameters: dict[str, Any]) -> None:
        refuse_disallowed_ips(parameters.get("security_ips"), self.runtime.settings.whitelist_policy)

    def validate_bind(
        self, request: BindRequest, instance: InstanceRecord, plan: Plan, parameters: dict[str, Any]
    ) -> None:
        progress = self.progress(instance)
        if not progress.recorded_id or not progress.host:
            # The engine refuses binds before provisioning succeeded; a record without an
            # instance can only come from a failed provision.
            raise BadRequest(
                f"This service instance has no {self.bind_target} to bind to; provision it again."
            )

    # -- steps -------------------------------------------------------------------------------

    def provision(self, op: InstanceOperation) -> InstanceStepResult:
        rt, steps = self.runtime, self.steps
        with recorded(steps.progress, op.instance.details) as progress:
            if steps.provision_start is not None:
                steps.provision_start(op, progress)
            return run_stages(rt, op, progress, steps.provision, lambda: rt.ready(progress), at=progress)

    def update(self, op: InstanceOperation) -> InstanceStepResult:
        rt, steps = self.runtime, self.steps
        with recorded(steps.progress, op.instance.details) as progress:
            # The product's record declares its own update type (``RdsUpdate``).
            update = cast("UpdateT | None", progress.update)
            if update is None or update.op != op.id:
                update = steps.update.targets(rt, op, progress)
                progress.update = update
            state = Updating(instance=progress, update=update)

            def finish() -> InstanceStepResult:
                progress.unset("update")
                return rt.finish(progress, f"The {rt.kind.noun} was updated.")

            stages = steps.update.stages
            return run_stages(
                rt, op, state, stages, finish, at=update, instance_usable=True, update_repeatable=True
            )

    def deprovision(self, op: InstanceOperation) -> InstanceStepResult:
        rt: CloudRuntime[Any, Any, Any, Any] = self.runtime
        with recorded(self.steps.progress, op.instance.details) as progress:
            deprovision = progress.deprovision
            if deprovision is None or deprovision.op != op.id:
                deprovision = progress.deprovision = deletion.start(op)
            state: Deleting[CloudProgress] = Deleting(instance=progress, deprovision=deprovision)
            return run_stages(
                rt,
                op,
                state,
                self._deprovision,
                lambda: deletion.finish(rt, state),
                at=deprovision,
                instance_usable=True,
            )

    def bind(self, op: BindingOperation) -> BindStepResult:
        rt, steps = self.runtime, self.steps
        instance = self.progress(op.instance)
        with recorded(steps.binding, op.binding.details) as binding:
            state = Binding(instance=instance, binding=binding)
            finish = steps.bind.bound
            return run_stages(rt, op, state, steps.bind.stages, lambda: finish(rt, op, state), at=binding)

    def unbind(self, op: BindingOperation) -> InstanceStepResult:
        rt, steps = self.runtime, self.steps
        instance = self.progress(op.instance)
        return unbind(
            rt,
            instance,
            steps.binding.load(op.binding.details),
            derived_account=lambda: steps.bind.account(rt, op, instance),
            account_noun=steps.bind.account_noun,
        )

    # -- API economy -------------------------------------------------------------------------

    def prefetch(self, operations: Sequence[InstanceOperation | BindingOperation]) -> None:
        ids = self._watched_ids(operations)
        if not ids:
            return
        try:
            self.runtime.cache.prefetch(ids)
        except AliyunError as error:
            # The steps ask the cache again and handle the error as theirs.
            _log.info("batched describe failed: %s", error.code)

    def _watched_ids(self, operations: Sequence[InstanceOperation | BindingOperation]) -> list[str]:
        """The instances the steps of ``operations`` will describe."""
        ids: list[str] = []
        for op in operations:
            if isinstance(op, InstanceOperation):
                progress = self.progress(op.instance)
                if progress.recorded_id:
                    ids.append(progress.recorded_id)
                if progress.deprovision is not None:
                    ids.extend(progress.deprovision.ids or ())
        return list(dict.fromkeys(ids))

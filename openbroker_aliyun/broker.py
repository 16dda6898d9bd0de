"""The plug-in interface: what a broker author writes.

A broker is a small class: a catalog plus one step method per operation. The engine
owns HTTP, validation, state, idempotency and async work; it calls a step method, and
the step either finishes (returns ``Done`` or, for bind, ``Bound``) or reports progress
(returns ``InProgress``), in which case the engine calls it again later, in the
background, possibly in another process after a restart. A step therefore reads what it
needs from its record and the cloud, does one thing, records its progress in
``record.details`` and returns; it must be safe to run again after a crash.

To end an operation as failed, raise ``openbroker_aliyun.errors.OperationFailed``. Any
other exception is treated as transient: the engine retries the step with backoff until
the plan's ``maximum_polling_duration`` (or the engine's default) runs out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping, Sequence

from openbroker_aliyun.catalog.model import Catalog, Plan
from openbroker_aliyun.domain import (
    BindingOperation,
    BindRequest,
    Endpoint,
    InstanceMetadata,
    InstanceOperation,
    InstanceRecord,
    OperationKind,
    ProvisionRequest,
    UpdateRequest,
)
from openbroker_aliyun.errors import UnprocessableEntity


@dataclass(frozen=True)
class InProgress:
    """The operation goes on; call the step again in ``retry_after`` seconds."""

    description: str = ""
    retry_after: float = 5.0


@dataclass(frozen=True)
class Done:
    """The operation finished. For provision and update, the instance's new facts."""

    description: str = ""
    dashboard_url: str | None = None
    metadata: InstanceMetadata | None = None


@dataclass(frozen=True)
class Bound:
    """A bind finished; ``credentials`` are stored encrypted and returned to the platform."""

    credentials: Mapping[str, Any]
    endpoints: tuple[Endpoint, ...] = ()
    syslog_drain_url: str | None = None
    route_service_url: str | None = None
    volume_mounts: tuple[Mapping[str, Any], ...] = ()
    expires_at: datetime | None = None
    renew_before: datetime | None = None
    description: str = ""


InstanceStepResult = InProgress | Done
BindStepResult = InProgress | Bound


class ServiceBroker:
    """Base class of every broker plug-in.

    Subclasses set ``catalog`` and implement ``provision`` and ``deprovision`` (plus
    ``bind``/``unbind`` for bindable services and ``update`` for updateable ones).
    ``async_operations`` names the operations that may take long: those answer 202 and
    run in the background, and need ``accepts_incomplete=true`` from the platform. The
    others run inline during the request; a step there that returns ``InProgress``
    continues in the background with a 202 when the platform sent
    ``accepts_incomplete=true``, and is rolled back with 422 ``AsyncRequired`` otherwise.

    ``requires_app``: set it to True when a binding needs an application (credentials
    tied to an app); a bind without ``bind_resource.app_guid`` (or the deprecated
    top-level ``app_guid``) is then answered 422 ``RequiresApp``.
    """

    catalog: Catalog
    async_operations: frozenset[OperationKind] = frozenset()
    requires_app: bool = False

    def is_async(self, kind: OperationKind, plan: Plan, accepts_incomplete: bool) -> bool:
        """Whether this operation runs asynchronously (answering 202)."""
        return kind in self.async_operations

    # -- checks that run before anything is recorded: raise a BrokerError (4xx) ---------

    def validate_provision(self, request: ProvisionRequest, plan: Plan, parameters: dict[str, Any]) -> None:
        """Reject a provision request that cannot succeed (no state has changed yet)."""

    def validate_update(
        self, request: UpdateRequest, instance: InstanceRecord, plan: Plan, parameters: dict[str, Any]
    ) -> None:
        """Reject an update that is not supported (e.g. an engine change: 422)."""

    def validate_bind(
        self, request: BindRequest, instance: InstanceRecord, plan: Plan, parameters: dict[str, Any]
    ) -> None:
        """Reject a bind request that cannot succeed."""

    # -- steps ---------------------------------------------------------------------------

    def provision(self, op: InstanceOperation) -> InstanceStepResult:
        """Create the instance (one resumable step)."""
        raise NotImplementedError

    def update(self, op: InstanceOperation) -> InstanceStepResult:
        """Change the instance's plan, parameters or context."""
        raise UnprocessableEntity("This service does not support updates.")

    def deprovision(self, op: InstanceOperation) -> InstanceStepResult:
        """Delete the instance, including a half-created one."""
        raise NotImplementedError

    def bind(self, op: BindingOperation) -> BindStepResult:
        """Create credentials for a binding."""
        raise UnprocessableEntity("This service is not bindable.")

    def unbind(self, op: BindingOperation) -> InstanceStepResult:
        """Revoke a binding's credentials; an unknown or half-made binding is fine."""
        return Done()

    # -- batching hook -------------------------------------------------------------------

    def prefetch(self, operations: Sequence[InstanceOperation | BindingOperation]) -> None:
        """Called by the background driver with the operations it will step next.

        Lets a broker fetch the state of many cloud resources in one call (e.g.
        ``DescribeDBInstances`` with a list of ids) and answer the steps from that.
        """

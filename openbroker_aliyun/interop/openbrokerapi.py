"""Run brokers written for ``openbrokerapi`` on this library's engine.

``OpenBrokerAPIAdapter(*brokers)`` is one of our ``ServiceBroker`` plug-ins built from
one or more ``openbrokerapi.service_broker.ServiceBroker`` objects (one per service id,
like openbrokerapi's ``Router``). Serve it with ``create_app`` and the broker gains what
openbrokerapi leaves to its authors: persistent state, idempotent PUT/DELETE (200 for an
identical provision, 409 for a different one, 410 for an unknown delete), parameter
validation against the plan's JSON Schema, checks that a plan belongs to its service,
and async operations driven in the background and remembered across restarts.

How the calls map:

* Catalog: their ``Service``/``ServicePlan`` objects become our ``Catalog``; each plan's
  JSON Schemas become marshmallow schemas (``json_schema_params``), so the engine
  enforces them. Their ``Service`` keyword extras (``allow_context_updates``) and plan
  extras (``plan_updateable``, ``maximum_polling_duration``, ``maintenance_info``,
  ``binding_rotatable``) are read too.
* Steps: the first step calls their ``provision``/``update``/``deprovision``/``bind``/
  ``unbind`` during the request, with ``async_allowed`` = the platform's
  ``accepts_incomplete``. A synchronous answer finishes the operation (201/200). An
  async one (``IS_ASYNC``, ``is_async=True``) becomes ``InProgress``: the engine answers
  202 and keeps their ``operation`` string in the record's ``details``; the following
  steps run in the background and call their ``last_operation``/``last_binding_operation``
  with it (``in progress`` -> ``InProgress``; ``succeeded`` -> ``Done``, or ``Bound`` with
  the credentials of their ``get_binding``; ``failed`` -> ``OperationFailed``).
* Errors: their exceptions map to ours, so the first call answers with the right status:
  ``ErrInstanceAlreadyExists``/``ErrBindingAlreadyExists`` -> 409,
  ``ErrInvalidParameters``/``ErrBadRequest`` -> 400, ``ErrPlanChangeNotSupported`` -> 422,
  ``ErrAsyncRequired`` -> 422 ``AsyncRequired``, ``ErrAppGuidNotProvided`` -> 422
  ``RequiresApp``, ``ErrConcurrentInstanceAccess`` -> 422 ``ConcurrencyError``, quota
  errors -> 400 (422 on update). Raised in a background step they end the operation as
  ``failed`` with the same description. ``ErrInstanceDoesNotExist`` on deprovision and
  ``ErrBindingDoesNotExist`` on unbind mean already gone: done. Other exceptions are
  the engine's business: an internal error inline, retried in the background.
* ``async_operations`` (default none) names operations whose *first* call is itself too
  slow for a request: those answer 202 at once and make that call in the background.

Caveat: when the broker process dies after their first call returned and before the
engine recorded the answer, the first call is made again on restart; a wrapped broker
that answers that with ``ErrInstanceAlreadyExists`` fails the operation (409's text).
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping, TypeVar

from openbrokerapi import errors as obe
from openbrokerapi import service_broker as obs
from openbrokerapi import settings as ob_settings

from openbroker_aliyun.broker import (
    BindStepResult,
    Bound,
    Done,
    InProgress,
    InstanceStepResult,
    ServiceBroker,
)
from openbroker_aliyun.catalog.model import Catalog, MaintenanceInfo, Plan, PlanSchemas, Service
from openbroker_aliyun.domain import (
    BindingOperation,
    InstanceOperation,
    OperationKind,
    OriginatingIdentity,
    ProvisionRequest,
    RequestInfo,
)
from openbroker_aliyun.errors import (
    AsyncRequired,
    BadRequest,
    BrokerError,
    ConcurrencyError,
    Conflict,
    OperationFailed,
    RequiresApp,
    UnprocessableEntity,
)
from openbroker_aliyun.interop.json_schema_params import schema_from_json_schema

__all__ = ["OpenBrokerAPIAdapter"]

_T = TypeVar("_T")

#: Key of the adapter's bookkeeping in ``InstanceRecord.details`` / ``BindingRecord.details``.
STATE_KEY = "openbrokerapi"
#: The wait between polls of the wrapped broker's last_operation.
DEFAULT_RETRY_AFTER = 5.0


class OpenBrokerAPIAdapter(ServiceBroker):
    """A plug-in that runs one or more openbrokerapi brokers on our engine.

    Each wrapped broker serves the service ids of its ``catalog()``. ``retry_after`` is
    the wait, in seconds, between calls of their last_operation.
    """

    def __init__(
        self,
        *service_brokers: obs.ServiceBroker,
        async_operations: Iterable[OperationKind] = (),
        retry_after: float = DEFAULT_RETRY_AFTER,
    ) -> None:
        if not service_brokers:
            raise ValueError("OpenBrokerAPIAdapter needs at least one openbrokerapi ServiceBroker")
        self.async_operations = frozenset(async_operations)
        self.retry_after = retry_after
        services: list[Service] = []
        self._by_service: dict[str, obs.ServiceBroker] = {}
        for wrapped in service_brokers:
            for theirs in _as_list(wrapped.catalog()):
                ours = convert_service(theirs)
                if ours.id in self._by_service:
                    raise ValueError(f"service id {ours.id} is offered by two wrapped brokers")
                self._by_service[ours.id] = wrapped
                services.append(ours)
        self.catalog = Catalog(services=tuple(services))

    def _broker(self, service_id: str) -> obs.ServiceBroker:
        return self._by_service[service_id]

    # ------------------------------------------------------------------- validation

    def validate_provision(self, request: ProvisionRequest, plan: Plan, parameters: dict[str, Any]) -> None:
        """openbrokerapi's ProvisionDetails insists on org and space guids; say so as a 400."""
        if ob_settings.DISABLE_SPACE_ORG_GUID_CHECK:
            return
        org = request.organization_guid or request.context.organization_guid
        space = request.space_guid or request.context.space_guid
        if org is None or space is None:
            raise BadRequest("organization_guid and space_guid are required by this broker.")

    # ------------------------------------------------------------------ instances

    def provision(self, op: InstanceOperation) -> InstanceStepResult:
        state = op.instance.details.setdefault(STATE_KEY, {})
        instance = op.instance
        wrapped = self._broker(instance.service_id)
        if state.get("started"):
            return self._instance_poll(op, state)
        details = obs.ProvisionDetails(
            service_id=instance.service_id,
            plan_id=op.plan_id,
            # Both are checked in validate_provision; context supplies them when the
            # platform (Korifi, some Kubernetes clients) leaves the top-level ones out.
            organization_guid=instance.organization_guid or instance.context.organization_guid,
            space_guid=instance.space_guid or instance.context.space_guid,
            parameters=dict(op.parameters),
            context=dict(instance.context.raw),
        )
        _identify(details, op.info)
        spec = _guard(
            lambda: wrapped.provision(instance.id, details, op.info.accepts_incomplete),
            conflict="An instance with this id already exists in the wrapped broker.",
        )
        if spec.state == obs.ProvisionState.IS_ASYNC:
            state.update(started=True, operation=spec.operation, dashboard_url=spec.dashboard_url)
            return InProgress(retry_after=self.retry_after)
        return Done(dashboard_url=spec.dashboard_url)

    def update(self, op: InstanceOperation) -> InstanceStepResult:
        state = op.instance.details.setdefault(STATE_KEY, {})
        instance = op.instance
        wrapped = self._broker(instance.service_id)
        if state.get("started"):
            return self._instance_poll(op, state)
        details = obs.UpdateDetails(
            service_id=instance.service_id,
            plan_id=op.plan_id,
            parameters=dict(op.parameters),
            previous_values={
                "plan_id": op.previous_plan_id or instance.plan_id,
                "service_id": instance.service_id,
            },
            context=dict(op.context.raw) if op.context is not None else None,
        )
        _identify(details, op.info)
        try:
            spec = _guard(
                lambda: wrapped.update(instance.id, details, op.info.accepts_incomplete), update=True
            )
        except NotImplementedError:
            raise UnprocessableEntity("This service does not support updates.") from None
        if spec.is_async:
            state.update(started=True, operation=spec.operation, dashboard_url=spec.dashboard_url)
            return InProgress(retry_after=self.retry_after)
        state.clear()
        return Done(dashboard_url=spec.dashboard_url)

    def deprovision(self, op: InstanceOperation) -> InstanceStepResult:
        # A deprovision may follow a provision whose bookkeeping is still there.
        state = op.instance.details.setdefault(STATE_KEY, {})
        instance = op.instance
        wrapped = self._broker(instance.service_id)
        if state.get("deleting"):
            return self._instance_poll(op, state, deleting=True)
        details = obs.DeprovisionDetails(service_id=instance.service_id, plan_id=instance.plan_id)
        _identify(details, op.info)
        try:
            spec = _guard(lambda: wrapped.deprovision(instance.id, details, op.info.accepts_incomplete))
        except obe.ErrInstanceDoesNotExist:
            return Done(description="The wrapped broker no longer knows this instance.")
        if spec.is_async:
            state.update(deleting=True, operation=spec.operation)
            return InProgress(retry_after=self.retry_after)
        return Done()

    def _instance_poll(
        self, op: InstanceOperation, state: dict[str, Any], *, deleting: bool = False
    ) -> InstanceStepResult:
        instance = op.instance
        wrapped = self._broker(instance.service_id)
        try:
            last = _guard(
                lambda: wrapped.last_operation(
                    instance.id, state.get("operation"), instance.service_id, op.plan_id
                )
            )
        except obe.ErrInstanceDoesNotExist:
            if deleting:
                return Done()
            raise OperationFailed("The wrapped broker lost the instance.") from None
        if last.state == obs.OperationState.IN_PROGRESS:
            return InProgress(description=last.description or "", retry_after=self.retry_after)
        dashboard_url = state.get("dashboard_url")
        state.clear()
        if last.state == obs.OperationState.FAILED:
            raise OperationFailed(last.description or f"The {op.kind} failed.")
        return Done(description=last.description or "", dashboard_url=dashboard_url)

    # ------------------------------------------------------------------- bindings

    def bind(self, op: BindingOperation) -> BindStepResult:
        binding = op.binding
        state = binding.details.setdefault(STATE_KEY, {})
        wrapped = self._broker(binding.service_id)
        if state.get("started"):
            return self._bind_poll(op, state)
        details = obs.BindDetails(
            service_id=binding.service_id,
            plan_id=binding.plan_id,
            app_guid=binding.app_guid,
            bind_resource=dict(binding.bind_resource) or None,
            parameters=dict(op.parameters),
            context=dict(binding.context.raw),
        )
        _identify(details, op.info)
        result = _guard(
            lambda: wrapped.bind(binding.instance_id, binding.id, details, op.info.accepts_incomplete),
            conflict="A binding with this id already exists in the wrapped broker.",
        )
        if result.state == obs.BindState.IS_ASYNC:
            state.update(started=True, operation=result.operation)
            return InProgress(retry_after=self.retry_after)
        return _bound(result)

    def _bind_poll(self, op: BindingOperation, state: dict[str, Any]) -> BindStepResult:
        binding = op.binding
        wrapped = self._broker(binding.service_id)
        last = _guard(
            lambda: wrapped.last_binding_operation(
                binding.instance_id, binding.id, state.get("operation"), binding.service_id, binding.plan_id
            ),
        )
        if last.state == obs.OperationState.IN_PROGRESS:
            return InProgress(description=last.description or "", retry_after=self.retry_after)
        if last.state == obs.OperationState.FAILED:
            state.clear()
            raise OperationFailed(last.description or "The bind failed.")
        fetched = _guard(lambda: wrapped.get_binding(binding.instance_id, binding.id))
        state.clear()
        return _bound(fetched)

    def unbind(self, op: BindingOperation) -> InstanceStepResult:
        binding = op.binding
        state = binding.details.setdefault(STATE_KEY, {})
        wrapped = self._broker(binding.service_id)
        if state.get("deleting"):
            try:
                last = _guard(
                    lambda: wrapped.last_binding_operation(
                        binding.instance_id,
                        binding.id,
                        state.get("operation"),
                        binding.service_id,
                        binding.plan_id,
                    ),
                )
            except obe.ErrBindingDoesNotExist:
                return Done()
            if last.state == obs.OperationState.IN_PROGRESS:
                return InProgress(description=last.description or "", retry_after=self.retry_after)
            state.clear()
            if last.state == obs.OperationState.FAILED:
                raise OperationFailed(last.description or "The unbind failed.")
            return Done()
        details = obs.UnbindDetails(service_id=binding.service_id, plan_id=binding.plan_id)
        _identify(details, op.info)
        try:
            spec = _guard(
                lambda: wrapped.unbind(binding.instance_id, binding.id, details, op.info.accepts_incomplete)
            )
        except obe.ErrBindingDoesNotExist:
            return Done(description="The wrapped broker no longer knows this binding.")
        if spec.is_async:
            state.update(deleting=True, operation=spec.operation)
            return InProgress(retry_after=self.retry_after)
        return Done()


# ------------------------------------------------------------------------- helpers


def _guard(action: Callable[[], _T], *, conflict: str = "Conflict.", update: bool = False) -> _T:
    """Run a call of the wrapped broker, turning its errors into ours.

    ``ErrInstanceDoesNotExist`` and ``ErrBindingDoesNotExist`` pass through: what they
    mean depends on the step. Other exceptions pass through as well: the engine treats
    them as transient (retried) in the background and as an internal error inline.
    """
    try:
        return action()
    except (obe.ErrInstanceDoesNotExist, obe.ErrBindingDoesNotExist):
        raise
    except (obe.ErrInstanceAlreadyExists, obe.ErrBindingAlreadyExists):
        raise Conflict(conflict) from None
    except obe.ErrPlanChangeNotSupported as exc:
        raise UnprocessableEntity(str(exc)) from None
    except (obe.ErrInvalidParameters, obe.ErrBadRequest) as exc:
        raise BadRequest(str(exc)) from None
    except obe.ErrAsyncRequired:
        raise AsyncRequired("This operation can only run asynchronously.") from None
    except obe.ErrAppGuidNotProvided:
        raise RequiresApp("This service can only be bound to an application.") from None
    except obe.ErrConcurrentInstanceAccess:
        raise ConcurrencyError("Another operation is in progress on this instance.") from None
    except (obe.ErrInstanceLimitMet, obe.ErrPlanQuotaExceeded, obe.ErrServiceQuotaExceeded) as exc:
        # A bare 422 is 'rejected' for an update but orphan-mitigated on a create (CF).
        error: BrokerError = UnprocessableEntity(str(exc)) if update else BadRequest(str(exc))
        raise error from None


def _identify(details: Any, info: RequestInfo) -> None:
    """Fill openbrokerapi's HTTP context fields as its blueprint does."""
    identity: OriginatingIdentity | None = info.originating_identity
    details.originating_identity = (
        {"platform": identity.platform, "value": dict(identity.value)} if identity is not None else None
    )
    details.authorization_username = None


def _bound(result: obs.Binding | obs.GetBindingSpec) -> Bound:
    return Bound(
        credentials=dict(result.credentials or {}),
        syslog_drain_url=result.syslog_drain_url,
        route_service_url=result.route_service_url,
        volume_mounts=tuple(_plain(mount) for mount in result.volume_mounts or ()),
    )


# ------------------------------------------------------------------------- catalog


def convert_service(theirs: obs.Service) -> Service:
    """Our catalog ``Service`` for an openbrokerapi ``Service`` (with its plans)."""
    extra = vars(theirs)
    return Service(
        id=theirs.id,
        name=theirs.name,
        description=theirs.description,
        bindable=bool(theirs.bindable),
        plans=tuple(convert_plan(plan, theirs.name) for plan in theirs.plans),
        tags=tuple(theirs.tags or ()),
        requires=tuple(theirs.requires or ()),
        instances_retrievable=bool(theirs.instances_retrievable),
        bindings_retrievable=bool(theirs.bindings_retrievable),
        allow_context_updates=bool(extra.get("allow_context_updates", False)),
        plan_updateable=bool(theirs.plan_updateable),
        metadata=_plain(theirs.metadata) if theirs.metadata is not None else {},
        dashboard_client=_plain(theirs.dashboard_client) if theirs.dashboard_client is not None else None,
    )


def convert_plan(theirs: Any, service_name: str = "service") -> Plan:
    """Our ``Plan`` for an openbrokerapi ``ServicePlan``; its JSON Schemas become enforced."""
    extra = vars(theirs)
    info = extra.get("maintenance_info")
    maintenance = None
    if info is not None:
        info = _plain(info)
        maintenance = MaintenanceInfo(version=info["version"], description=info.get("description"))
    return Plan(
        id=theirs.id,
        name=theirs.name,
        description=theirs.description,
        free=True if theirs.free is None else bool(theirs.free),
        bindable=theirs.bindable,
        plan_updateable=extra.get("plan_updateable"),
        binding_rotatable=bool(extra.get("binding_rotatable", False)),
        maximum_polling_duration=extra.get("maximum_polling_duration"),
        maintenance_info=maintenance,
        schemas=_schemas(theirs.schemas, f"{service_name}.{theirs.name}"),
        metadata=_plain(theirs.metadata) if theirs.metadata is not None else {},
    )


def _schemas(theirs: Any, name: str) -> PlanSchemas:
    if theirs is None:
        return PlanSchemas()
    plain = _plain(theirs)

    def pick(section: str, action: str) -> Any:
        found = (plain.get(section) or {}).get(action) or {}
        parameters = found.get("parameters")
        if parameters is None:
            return None
        return schema_from_json_schema(parameters, f"{name}.{section}.{action}")

    return PlanSchemas(
        provision=pick("service_instance", "create"),
        update=pick("service_instance", "update"),
        bind=pick("service_binding", "create"),
    )


def _plain(value: Any) -> Any:
    """openbrokerapi's objects as JSON values: public attributes, None left out."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "__dict__") and not isinstance(value, type):
        return {k: _plain(v) for k, v in vars(value).items() if not k.startswith("_") and v is not None}
    return value


def _as_list(value: obs.Service | list[obs.Service]) -> list[obs.Service]:
    return list(value) if isinstance(value, list | tuple) else [value]

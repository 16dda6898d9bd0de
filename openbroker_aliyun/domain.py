"""Domain types: what travels between the HTTP layer, the engine and broker plug-ins.

These are plain dataclasses, kept apart from the wire schemas (``openbroker_aliyun.api``
parses JSON into them) and from the database tables (``openbroker_aliyun.store`` maps
them to rows). Broker authors see the records and operations; the requests and
responses are the engine's interface to the HTTP layer.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping

JSONDict = dict[str, Any]


class OperationKind(enum.StrEnum):
    """The five mutating OSB operations."""

    PROVISION = "provision"
    UPDATE = "update"
    DEPROVISION = "deprovision"
    BIND = "bind"
    UNBIND = "unbind"


class OperationState(enum.StrEnum):
    """last_operation states, spelled as on the wire."""

    IN_PROGRESS = "in progress"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True)
class OriginatingIdentity:
    """``X-Broker-API-Originating-Identity``: platform word plus the decoded JSON."""

    platform: str
    value: Mapping[str, Any]

    @property
    def user(self) -> str | None:
        """The acting user: CF ``user_id`` or Kubernetes ``username``."""
        for key in ("user_id", "username"):
            found = self.value.get(key)
            if isinstance(found, str):
                return found
        return None


@dataclass(frozen=True)
class Context:
    """The OSB ``context`` object, read leniently in both platforms' spellings.

    ``raw`` keeps the object verbatim; the properties read the profile's fields and the
    camelCase spellings that Crossplane's provider-osb sends (``clusterId``,
    ``instanceName``). Every field is optional: Korifi sends no context at all.
    """

    raw: Mapping[str, Any] = field(default_factory=dict)

    def _first(self, *keys: str) -> str | None:
        for key in keys:
            value = self.raw.get(key)
            if isinstance(value, str) and value:
                return value
        return None

    @property
    def platform(self) -> str | None:
        return self._first("platform")

    @property
    def organization_guid(self) -> str | None:
        return self._first("organization_guid", "organizationGuid")

    @property
    def space_guid(self) -> str | None:
        return self._first("space_guid", "spaceGuid")

    @property
    def organization_name(self) -> str | None:
        return self._first("organization_name", "organizationName")

    @property
    def space_name(self) -> str | None:
        return self._first("space_name", "spaceName")

    @property
    def instance_name(self) -> str | None:
        return self._first("instance_name", "instanceName")

    @property
    def namespace(self) -> str | None:
        return self._first("namespace")

    @property
    def cluster_id(self) -> str | None:
        return self._first("clusterid", "clusterId", "cluster_id")


@dataclass(frozen=True)
class RequestInfo:
    """Facts of the HTTP request that broker code may want (audit, tagging, logs)."""

    api_version: str = "2.17"
    originating_identity: OriginatingIdentity | None = None
    request_identity: str | None = None
    accepts_incomplete: bool = False


# --------------------------------------------------------------------------- requests


@dataclass(frozen=True)
class ProvisionRequest:
    instance_id: str
    service_id: str
    plan_id: str
    organization_guid: str | None = None
    space_guid: str | None = None
    context: Context = field(default_factory=Context)
    parameters: JSONDict | None = None
    maintenance_info_version: str | None = None
    info: RequestInfo = field(default_factory=RequestInfo)


@dataclass(frozen=True)
class UpdateRequest:
    instance_id: str
    service_id: str
    plan_id: str | None = None
    context: Context | None = None
    parameters: JSONDict | None = None
    previous_values: JSONDict | None = None
    maintenance_info_version: str | None = None
    info: RequestInfo = field(default_factory=RequestInfo)


@dataclass(frozen=True)
class DeprovisionRequest:
    instance_id: str
    service_id: str
    plan_id: str
    info: RequestInfo = field(default_factory=RequestInfo)


@dataclass(frozen=True)
class FetchInstanceRequest:
    instance_id: str
    service_id: str | None = None
    plan_id: str | None = None
    info: RequestInfo = field(default_factory=RequestInfo)


@dataclass(frozen=True)
class BindRequest:
    instance_id: str
    binding_id: str
    service_id: str
    plan_id: str
    context: Context = field(default_factory=Context)
    parameters: JSONDict | None = None
    bind_resource: JSONDict | None = None
    app_guid: str | None = None
    predecessor_binding_id: str | None = None
    info: RequestInfo = field(default_factory=RequestInfo)

    @property
    def effective_app_guid(self) -> str | None:
        """``bind_resource.app_guid``, falling back to the deprecated top-level field."""
        if self.bind_resource and isinstance(self.bind_resource.get("app_guid"), str):
            return str(self.bind_resource["app_guid"])
        return self.app_guid


@dataclass(frozen=True)
class UnbindRequest:
    instance_id: str
    binding_id: str
    service_id: str
    plan_id: str
    info: RequestInfo = field(default_factory=RequestInfo)


@dataclass(frozen=True)
class FetchBindingRequest:
    instance_id: str
    binding_id: str
    service_id: str | None = None
    plan_id: str | None = None
    info: RequestInfo = field(default_factory=RequestInfo)


@dataclass(frozen=True)
class LastOperationRequest:
    """Instance last_operation when ``binding_id`` is None, binding last_operation otherwise."""

    instance_id: str
    binding_id: str | None = None
    service_id: str | None = None
    plan_id: str | None = None
    operation: str | None = None
    info: RequestInfo = field(default_factory=RequestInfo)


# -------------------------------------------------------------------------- responses


@dataclass(frozen=True)
class InstanceMetadata:
    """OSB 2.17 instance ``metadata``: user-facing labels, broker-made attributes."""

    labels: Mapping[str, Any] = field(default_factory=dict)
    attributes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Endpoint:
    """A binding ``endpoints`` entry: host, ports (``"5432"`` or ``"9000-9010"``), protocol."""

    host: str
    ports: tuple[str, ...]
    protocol: str = "tcp"


@dataclass(frozen=True)
class InstanceResponse:
    """Answer to provision or update: 200, 201 or 202."""

    status: int
    operation: str | None = None
    dashboard_url: str | None = None
    metadata: InstanceMetadata | None = None


@dataclass(frozen=True)
class DeleteResponse:
    """Answer to deprovision or unbind: 200 ``{}`` or 202 with ``operation``."""

    status: int
    operation: str | None = None


@dataclass(frozen=True)
class InstanceView:
    """GET instance body."""

    service_id: str
    plan_id: str
    dashboard_url: str | None = None
    parameters: JSONDict | None = None
    maintenance_info_version: str | None = None
    metadata: InstanceMetadata | None = None


@dataclass(frozen=True)
class BindingView:
    """A binding's body: on a 200/201 bind and on GET binding."""

    credentials: JSONDict | None = None
    endpoints: tuple[Endpoint, ...] = ()
    syslog_drain_url: str | None = None
    route_service_url: str | None = None
    volume_mounts: tuple[JSONDict, ...] = ()
    parameters: JSONDict | None = None
    expires_at: datetime | None = None
    renew_before: datetime | None = None


@dataclass(frozen=True)
class BindingResponse:
    """Answer to bind: 200/201 with ``binding``, or 202 with ``operation`` only."""

    status: int
    operation: str | None = None
    binding: BindingView | None = None


@dataclass(frozen=True)
class LastOperation:
    """last_operation body, plus the ``Retry-After`` seconds to send while in progress."""

    state: OperationState
    description: str | None = None
    instance_usable: bool | None = None
    update_repeatable: bool | None = None
    retry_after: int | None = None


# ----------------------------------------------------------- what broker steps receive


@dataclass
class InstanceRecord:
    """A service instance as the framework stores it.

    ``details`` belongs to the broker: it is persisted (encrypted) after every step, so a
    step records its progress there (cloud resource id, which step is next) and a restart
    resumes from it. Keep it JSON-serialisable.
    """

    id: str
    service_id: str
    plan_id: str
    parameters: JSONDict = field(default_factory=dict)
    context: Context = field(default_factory=Context)
    organization_guid: str | None = None
    space_guid: str | None = None
    maintenance_info_version: str | None = None
    dashboard_url: str | None = None
    metadata: InstanceMetadata = field(default_factory=InstanceMetadata)
    details: JSONDict = field(default_factory=dict)


@dataclass
class BindingRecord:
    """A service binding as the framework stores it; ``details`` as for instances."""

    id: str
    instance_id: str
    service_id: str
    plan_id: str
    parameters: JSONDict = field(default_factory=dict)
    context: Context = field(default_factory=Context)
    bind_resource: JSONDict = field(default_factory=dict)
    app_guid: str | None = None
    predecessor_binding_id: str | None = None
    details: JSONDict = field(default_factory=dict)


@dataclass
class InstanceOperation:
    """One provision, update or deprovision, handed to the broker's step method.

    ``parameters`` are the validated parameters of this request (defaults applied): all of
    them for provision, only the changed ones for update (the current ones are in
    ``instance.parameters``). ``plan_id`` is the target plan; ``previous_plan_id`` is set
    on update. ``attempt`` counts calls of the step for this operation, from 1.
    """

    id: str
    kind: OperationKind
    instance: InstanceRecord
    plan_id: str
    parameters: JSONDict = field(default_factory=dict)
    previous_plan_id: str | None = None
    context: Context | None = None
    info: RequestInfo = field(default_factory=RequestInfo)
    attempt: int = 1
    started_at: datetime | None = None


@dataclass
class BindingOperation:
    """One bind or unbind, handed to the broker's step method."""

    id: str
    kind: OperationKind
    instance: InstanceRecord
    binding: BindingRecord
    parameters: JSONDict = field(default_factory=dict)
    info: RequestInfo = field(default_factory=RequestInfo)
    attempt: int = 1
    started_at: datetime | None = None

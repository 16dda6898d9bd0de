"""The engine as the HTTP layer sees it.

``openbroker_aliyun.api`` depends on this protocol only; ``openbroker_aliyun.engine.engine``
implements it. Every method takes a validated-for-shape domain request and returns a
domain response, or raises an ``openbroker_aliyun.errors.BrokerError`` that the HTTP
layer turns into the error response. Catalog checks (unknown service, plan of another
service), parameter validation and every idempotency decision of OSB table A6 happen
behind this line.
"""

from __future__ import annotations

from typing import Protocol

from openbroker_aliyun.catalog.model import Catalog
from openbroker_aliyun.domain import (
    BindingResponse,
    BindingView,
    BindRequest,
    DeleteResponse,
    DeprovisionRequest,
    FetchBindingRequest,
    FetchInstanceRequest,
    InstanceResponse,
    InstanceView,
    LastOperation,
    LastOperationRequest,
    ProvisionRequest,
    UnbindRequest,
    UpdateRequest,
)


class BrokerEngine(Protocol):
    @property
    def catalog(self) -> Catalog: ...

    def catalog_json(self) -> bytes:
        """The serialised catalog, built once."""
        ...

    def provision(self, request: ProvisionRequest) -> InstanceResponse: ...

    def fetch_instance(self, request: FetchInstanceRequest) -> InstanceView: ...

    def update(self, request: UpdateRequest) -> InstanceResponse: ...

    def deprovision(self, request: DeprovisionRequest) -> DeleteResponse: ...

    def last_operation(self, request: LastOperationRequest) -> LastOperation: ...

    def bind(self, request: BindRequest) -> BindingResponse: ...

    def fetch_binding(self, request: FetchBindingRequest) -> BindingView: ...

    def unbind(self, request: UnbindRequest) -> DeleteResponse: ...

    def ready(self) -> bool:
        """True when the state store answers (for /health/ready)."""
        ...

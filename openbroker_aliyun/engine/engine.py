"""The engine: what the HTTP layer calls (``BrokerEngine``) plus the background driver.

Build it with ``build_engine(broker, state_url=..., encryption_keys=[...])``, call
``start()`` in each serving process (after any fork) and ``stop(timeout)`` on shutdown.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Sequence, TypeVar

from openbroker_aliyun.broker import ServiceBroker
from openbroker_aliyun.catalog.model import Catalog
from openbroker_aliyun.catalog.validation import validate_catalog
from openbroker_aliyun.catalog.wire import catalog_to_wire
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
from openbroker_aliyun.engine.bindings import BindingRequests
from openbroker_aliyun.engine.driver import Driver
from openbroker_aliyun.engine.instances import InstanceRequests
from openbroker_aliyun.engine.last_operation import last_operation
from openbroker_aliyun.engine.leases import LeaseKeeper
from openbroker_aliyun.engine.logfields import fields, log, safe_error
from openbroker_aliyun.engine.parts import EngineParts
from openbroker_aliyun.engine.resolve import CatalogIndex
from openbroker_aliyun.engine.settings import DriverSettings
from openbroker_aliyun.engine.stepping import Stepper
from openbroker_aliyun.errors import BadRequest, InternalError, ServiceUnavailable
from openbroker_aliyun.store import (
    DecryptionError,
    Store,
    StoreUnavailable,
    StoreValueError,
)

T = TypeVar("T")


class Engine:
    """Implements ``BrokerEngine``: OSB decisions, state, and driving async operations."""

    def __init__(
        self,
        broker: ServiceBroker,
        store: Store,
        *,
        settings: DriverSettings | None = None,
        run_driver: bool = True,
    ) -> None:
        self.broker = broker
        self.store = store
        self.settings = settings or DriverSettings()
        self.run_driver = run_driver
        self._catalog_json = json.dumps(catalog_to_wire(broker.catalog), separators=(",", ":")).encode(
            "utf-8"
        )
        self._parts = EngineParts(
            broker=broker,
            store=store,
            catalog=CatalogIndex(broker.catalog),
            settings=self.settings,
            leases=LeaseKeeper(store, self.settings.lease_seconds),
            wake=self._wake,
        )
        self._stepper = Stepper(self._parts)
        self._driver = Driver(self._parts, self._stepper)
        self._instances = InstanceRequests(self._parts, self._stepper)
        self._bindings = BindingRequests(self._parts, self._stepper)

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Start the background driver in this process (no-op when ``run_driver`` is off)."""
        if self.run_driver:
            self._driver.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Graceful shutdown: take no new steps, finish the step in flight, release leases.

        Returns after at most ``timeout`` seconds; a step still running then keeps its
        lease until it runs out, and another process resumes the operation.
        """
        self._driver.stop(timeout)
        self._parts.leases.stop(timeout)

    def close(self) -> None:
        """Stop and close the store's connections (for tests and scripts)."""
        self.stop()
        self.store.close()

    def drive_once(self) -> int:
        """Step the due operations once, in this thread; returns how many were stepped.

        For tests and for processes that drive operations on their own schedule.
        """
        return self._driver.run_once()

    @property
    def driver_running(self) -> bool:
        return self._driver.running

    def _wake(self) -> None:
        if self._driver.running:
            self._driver.wake()

    # -- BrokerEngine --------------------------------------------------------------------

    @property
    def catalog(self) -> Catalog:
        return self.broker.catalog

    def catalog_json(self) -> bytes:
        """The serialised catalog, built once."""
        return self._catalog_json

    def provision(self, request: ProvisionRequest) -> InstanceResponse:
        return self._call(lambda: self._instances.provision(request))

    def fetch_instance(self, request: FetchInstanceRequest) -> InstanceView:
        return self._call(lambda: self._instances.fetch(request))

    def update(self, request: UpdateRequest) -> InstanceResponse:
        return self._call(lambda: self._instances.update(request))

    def deprovision(self, request: DeprovisionRequest) -> DeleteResponse:
        return self._call(lambda: self._instances.deprovision(request))

    def last_operation(self, request: LastOperationRequest) -> LastOperation:
        return self._call(lambda: last_operation(self._parts, request))

    def bind(self, request: BindRequest) -> BindingResponse:
        return self._call(lambda: self._bindings.bind(request))

    def fetch_binding(self, request: FetchBindingRequest) -> BindingView:
        return self._call(lambda: self._bindings.fetch(request))

    def unbind(self, request: UnbindRequest) -> DeleteResponse:
        return self._call(lambda: self._bindings.unbind(request))

    def ready(self) -> bool:
        """True when the state store answers."""
        return self.store.ping()

    def operation_counts(self) -> dict[tuple[str, str], int]:
        """Operations in the state store by (kind, state), for ``/metrics``."""
        return self.store.operation_counts()

    @staticmethod
    def _call(fn: Callable[[], T]) -> T:
        """``fn()``, with state store failures as OSB errors that tell nothing secret.

        Unreachable: 503 with ``Retry-After``, not logged here (the store's outage
        tracker logs the outage once). A value the database refuses: 400, logged as the
        bug it is (the request should have been refused before reaching the store),
        with the statement's kind and table, never the value. Any other failure of the
        store (``StoreFailure``: a bug, a schema that does not match) goes up as it is:
        the HTTP layer answers it 500 naming the request, with the traceback in its log.
        """
        try:
            return fn()
        except StoreUnavailable:
            raise ServiceUnavailable("The broker's state store is unreachable; retry later.") from None
        except StoreValueError as error:
            log.error("a value cannot be stored in the state store", extra=fields(**error.log_fields()))
            raise BadRequest(
                "The request holds a value the broker's state store cannot store (for example "
                "an id longer than 255 characters, or a NUL character); correct it and retry."
            ) from None
        except DecryptionError as error:
            log.error("stored data cannot be decrypted", extra=fields(**safe_error(error)))
            # The message names the row, never a key.
            raise InternalError(f"The broker cannot read its state: {error}") from None


def build_engine(
    broker: ServiceBroker,
    *,
    state_url: str = "sqlite:///openbroker.db",
    encryption_keys: Sequence[str] = (),
    allow_plaintext: bool = False,
    run_driver: bool = True,
    driver: DriverSettings | None = None,
) -> Engine:
    """Validate the broker's catalog, open (and migrate) the state store, build the engine.

    ``encryption_keys``: Fernet keys for secrets at rest, first encrypts, all decrypt
    (see ``openbroker_aliyun.store.generate_key``). Without keys the store refuses to
    start unless ``allow_plaintext=True``. ``run_driver``: whether ``start()`` runs the
    background driver in this process. Call ``start()`` once the process is the serving
    one (after a fork), and ``stop(timeout)`` on shutdown.

    Raises ``CatalogError`` for an invalid catalog and ``StoreConfigError`` for a bad
    state URL or keys.
    """
    validate_catalog(broker.catalog)
    store = Store.open(state_url, encryption_keys=encryption_keys, allow_plaintext=allow_plaintext)
    return Engine(broker, store, settings=driver, run_driver=run_driver)

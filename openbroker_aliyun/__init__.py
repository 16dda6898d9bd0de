"""openbroker_aliyun: write Open Service Broker (OSB 2.17) brokers in Python.

A broker is a ``ServiceBroker`` subclass: a ``Catalog`` plus step methods returning
``InProgress``, ``Done`` or ``Bound``. ``create_app(broker, settings)`` turns it into a
Flask app and ``serve(...)`` runs that under gunicorn::

    from openbroker_aliyun import create_app, load_settings, serve

    settings = load_settings(os.environ, "broker.yaml")
    serve(lambda: create_app(MyBroker(), settings), settings)

Names are imported on first use, so ``import openbroker_aliyun`` stays cheap.
``openbroker_aliyun.__version__`` is the installed distribution's version.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    # plug-in interface
    "ServiceBroker": "openbroker_aliyun.broker",
    "InProgress": "openbroker_aliyun.broker",
    "Done": "openbroker_aliyun.broker",
    "Bound": "openbroker_aliyun.broker",
    # catalog model
    "Catalog": "openbroker_aliyun.catalog.model",
    "Service": "openbroker_aliyun.catalog.model",
    "Plan": "openbroker_aliyun.catalog.model",
    "PlanSchemas": "openbroker_aliyun.catalog.model",
    "MaintenanceInfo": "openbroker_aliyun.catalog.model",
    # what steps receive and return
    "InstanceOperation": "openbroker_aliyun.domain",
    "BindingOperation": "openbroker_aliyun.domain",
    "InstanceRecord": "openbroker_aliyun.domain",
    "BindingRecord": "openbroker_aliyun.domain",
    "InstanceMetadata": "openbroker_aliyun.domain",
    "Endpoint": "openbroker_aliyun.domain",
    "Context": "openbroker_aliyun.domain",
    "OriginatingIdentity": "openbroker_aliyun.domain",
    "RequestInfo": "openbroker_aliyun.domain",
    "OperationKind": "openbroker_aliyun.domain",
    # errors
    "BrokerError": "openbroker_aliyun.errors",
    "BadRequest": "openbroker_aliyun.errors",
    "NotFound": "openbroker_aliyun.errors",
    "Conflict": "openbroker_aliyun.errors",
    "Gone": "openbroker_aliyun.errors",
    "UnprocessableEntity": "openbroker_aliyun.errors",
    "AsyncRequired": "openbroker_aliyun.errors",
    "ConcurrencyError": "openbroker_aliyun.errors",
    "RequiresApp": "openbroker_aliyun.errors",
    "MaintenanceInfoConflict": "openbroker_aliyun.errors",
    "ServiceUnavailable": "openbroker_aliyun.errors",
    "InternalError": "openbroker_aliyun.errors",
    "OperationFailed": "openbroker_aliyun.errors",
    # running a broker
    "create_app": "openbroker_aliyun.app",
    "start_driver": "openbroker_aliyun.app",
    "stop_driver": "openbroker_aliyun.app",
    "serve": "openbroker_aliyun.serving",
    "BrokerSettings": "openbroker_aliyun.config",
    "Credential": "openbroker_aliyun.config",
    "ConfigError": "openbroker_aliyun.config",
    "load_settings": "openbroker_aliyun.config",
    "setting": "openbroker_aliyun.config",
    "configure_logging": "openbroker_aliyun.logs",
}

__all__ = [
    "AsyncRequired",
    "BadRequest",
    "BindingOperation",
    "BindingRecord",
    "Bound",
    "BrokerError",
    "BrokerSettings",
    "Catalog",
    "ConcurrencyError",
    "ConfigError",
    "Conflict",
    "Context",
    "Credential",
    "Done",
    "Endpoint",
    "Gone",
    "InProgress",
    "InstanceMetadata",
    "InstanceOperation",
    "InstanceRecord",
    "InternalError",
    "MaintenanceInfo",
    "MaintenanceInfoConflict",
    "NotFound",
    "OperationFailed",
    "OperationKind",
    "OriginatingIdentity",
    "Plan",
    "PlanSchemas",
    "RequestInfo",
    "RequiresApp",
    "Service",
    "ServiceBroker",
    "ServiceUnavailable",
    "UnprocessableEntity",
    "__version__",
    "configure_logging",
    "create_app",
    "load_settings",
    "serve",
    "setting",
    "start_driver",
    "stop_driver",
]


#: The distribution's name, whose installed metadata holds the version.
DISTRIBUTION = "openbroker-aliyun"


def _version() -> str:
    """The installed version (``__version__``), read from the distribution's metadata."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:  # imported from a source tree that was never installed
        return "0+unknown"


def __getattr__(name: str) -> Any:
    if name == "__version__":
        # Read on first use, like the exports, so that the import stays cheap.
        globals()[name] = found = _version()
        return found
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:
    __version__: str
    from openbroker_aliyun.app import create_app, start_driver, stop_driver
    from openbroker_aliyun.broker import Bound, Done, InProgress, ServiceBroker
    from openbroker_aliyun.catalog.model import Catalog, MaintenanceInfo, Plan, PlanSchemas, Service
    from openbroker_aliyun.config import BrokerSettings, ConfigError, Credential, load_settings, setting
    from openbroker_aliyun.domain import (
        BindingOperation,
        BindingRecord,
        Context,
        Endpoint,
        InstanceMetadata,
        InstanceOperation,
        InstanceRecord,
        OperationKind,
        OriginatingIdentity,
        RequestInfo,
    )
    from openbroker_aliyun.errors import (
        AsyncRequired,
        BadRequest,
        BrokerError,
        ConcurrencyError,
        Conflict,
        Gone,
        InternalError,
        MaintenanceInfoConflict,
        NotFound,
        OperationFailed,
        RequiresApp,
        ServiceUnavailable,
        UnprocessableEntity,
    )
    from openbroker_aliyun.logs import configure_logging
    from openbroker_aliyun.serving import serve

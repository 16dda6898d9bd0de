"""The three WSGI apps the HTTP benchmark compares, each behind the same gunicorn settings.

- ``ours()``: the example broker served by ``openbroker_aliyun.create_app`` (state in the
  SQLite file named by ``BENCH_STATE_URL``, encrypted with ``BENCH_KEY``).
- ``openbrokerapi_app()``: a minimal ``openbrokerapi`` broker with the same catalog.
- ``raw()``: a bare WSGI function returning fixed JSON: the ceiling for any framework.

gunicorn loads them as ``benchmarks.bench_apps:ours()`` and so on.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from flask import Flask

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))

from minimal_broker import KeyValueBroker

from openbroker_aliyun import BrokerSettings
from openbroker_aliyun.app import create_app
from openbroker_aliyun.catalog.wire import catalog_to_wire

USERNAME = "bench"
PASSWORD = "bench-password-not-secret"  # a loopback-only benchmark credential


def ours() -> Flask:
    """The example broker on our engine."""
    settings = BrokerSettings(
        credentials=[{"username": USERNAME, "password": PASSWORD}],
        state_url=os.environ["BENCH_STATE_URL"],
        encryption_keys=[os.environ["BENCH_KEY"]],
        log_level="WARNING",
    )
    return create_app(KeyValueBroker(), settings)


def openbrokerapi_app() -> Flask:
    """The same catalog served by openbrokerapi's own blueprint."""
    from openbrokerapi import api
    from openbrokerapi.catalog import ServicePlan
    from openbrokerapi.service_broker import LastOperation, OperationState, Service, ServiceBroker

    wire = catalog_to_wire(KeyValueBroker.catalog)["services"][0]

    class Theirs(ServiceBroker):
        def catalog(self) -> Service:
            plans = [
                ServicePlan(id=p["id"], name=p["name"], description=p["description"]) for p in wire["plans"]
            ]
            return Service(
                id=wire["id"], name=wire["name"], description=wire["description"], bindable=True, plans=plans
            )

        def last_operation(
            self, instance_id: str, operation_data: str | None, **kwargs: Any
        ) -> LastOperation:
            return LastOperation(OperationState.SUCCEEDED, "done")

    logger = logging.getLogger("openbrokerapi-bench")
    logger.setLevel(logging.WARNING)
    app = Flask("openbrokerapi-bench")
    app.register_blueprint(api.get_blueprint(Theirs(), api.BrokerCredentials(USERNAME, PASSWORD), logger))
    return app


_FIXED = json.dumps({"state": "succeeded", "description": "done"}).encode()


def raw() -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]:
    """A WSGI app that answers every request with the same small JSON body."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(_FIXED)))])
        return [_FIXED]

    return app

"""The three WSGI apps the HTTP benchmark compares, each behind the same gunicorn settings.

- ``ours()``: the example broker served by ``openbroker_aliyun.create_app`` (state in the
  SQLite file named by ``BENCH_STATE_URL``, encrypted with ``BENCH_KEY``).
- ``openbrokerapi_app()``: a minimal ``openbrokerapi`` broker with the same catalog.
- ``raw()``: a bare WSGI function returning fixed JSON: the ceiling for any framework.
- ``variant(name)``: ``ours()`` with one speed-only mechanism (or a group of them) turned
  off (``VARIANTS``), to measure what it earns side by side with ``ours()``; ``control``
  is ``ours()`` unchanged, to show what a ratio of 1 looks like on the machine.

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


# -- variants: ours without one mechanism ---------------------------------------------
# Each turns one mechanism off in the gunicorn worker that loads it (the patches stay in
# that process), so that the benchmark measures ours with and without it side by side.


def _flask_only(app: Flask) -> Flask:
    """No fast path: Flask serves every request (the pipeline's hooks run the same checks)."""
    del app.wsgi_app  # the instance attribute the fast path set; Flask's own method again
    return app


def _no_direct_query() -> None:
    """last_operation's lookup statement run through ``Store.read`` (a SQLAlchemy read on
    the reader pool) instead of on the driver (store/direct.py, kept SQLite connections)."""
    from openbroker_aliyun.store import lookups, store
    from openbroker_aliyun.store.rows import OperationLookup

    def operation_lookup(self: Any, instance_id: str, binding_id: str | None, operation: str | None) -> Any:
        statement = lookups.OPERATION_LOOKUPS[(binding_id is not None, bool(operation))]
        params = {"instance_id": instance_id, "binding_id": binding_id, "operation": operation}
        row = self.read(lambda reader: reader.connection.execute(statement, params).first())
        if row is None:
            return OperationLookup(instance_found=False, binding_found=False, operation=None)
        return OperationLookup(
            instance_found=True, binding_found=row[0] is not None, operation=self._map.operation_summary(row)
        )

    store.Store.operation_lookup = operation_lookup  # type: ignore[method-assign]


def _plain_reads() -> None:
    """last_operation answered from the store's ordinary record reads (instance, binding,
    operation: whole rows, decrypted) in one ``Store.read``: no lookup statement at all."""
    from openbroker_aliyun.store import store
    from openbroker_aliyun.store.rows import OperationLookup, OperationSummary

    def operation_lookup(self: Any, instance_id: str, binding_id: str | None, operation: str | None) -> Any:
        def read(reader: Any) -> OperationLookup:
            instance = reader.instance(instance_id)
            if instance is None:
                return OperationLookup(False, False, None)
            current = instance.operation_id
            if binding_id is not None:
                binding = reader.binding(instance_id, binding_id)
                if binding is None:
                    return OperationLookup(True, False, None)
                current = binding.operation_id
            wanted = operation or current
            op = reader.operation(wanted) if wanted else None
            summary = None
            if op is not None:
                summary = OperationSummary(
                    op.id, op.instance_id, op.binding_id, op.kind, op.state, op.description,
                    op.instance_usable, op.update_repeatable, op.retry_after,
                )  # fmt: skip
            return OperationLookup(True, True, summary)

        return self.read(read)

    store.Store.operation_lookup = operation_lookup  # type: ignore[method-assign]


def _small_ones() -> None:
    """The four small mechanisms of a request at once (each alone is within the noise):
    the digest of the usual Authorization header (api/auth.py), the request id made only
    when asked for (request_state.py), the JSON bytes of each distinct last_operation
    answer kept (responses.py), and what an empty query string loads to kept (schemas.py)."""
    import uuid

    from openbroker_aliyun.api import responses, schemas
    from openbroker_aliyun.api.auth import CredentialChecker
    from openbroker_aliyun.api.reply import json_bytes
    from openbroker_aliyun.api.request_state import RequestState

    CredentialChecker.accepts_header = lambda self, header: False  # type: ignore[method-assign]
    made = RequestState.__post_init__

    def post_init(self: Any) -> None:
        made(self)
        self._request_id = self.request_identity or uuid.uuid4().hex

    RequestState.__post_init__ = post_init  # type: ignore[method-assign]
    responses.last_operation_json = lambda found: json_bytes(responses.last_operation_body(found))

    class Forgetful(dict[Any, Any]):
        def __setitem__(self, key: Any, value: Any) -> None:
            pass

    schemas._EMPTY_LOADS = Forgetful()


VARIANTS: dict[str, Callable[[], None] | None] = {
    "flask-only": None,
    "no-direct-query": _no_direct_query,
    "plain-reads": _plain_reads,
    "without-small-ones": _small_ones,
    # Ours as it is, as a second app: what a ratio of 1 looks like on this machine.
    "control": lambda: None,
}


def variant(name: str) -> Flask:
    """``ours()`` without the mechanism ``name`` (one of ``VARIANTS``; ``control``: as is)."""
    patch = VARIANTS[name]
    if patch is not None:
        patch()
    app = ours()
    return _flask_only(app) if name == "flask-only" else app

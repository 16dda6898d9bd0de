"""``GET /metrics`` for Prometheus, and the hooks that count every request.

The route is outside /v2 and, like the health routes, needs no credentials unless the
settings say ``metrics_auth`` (``BROKER_METRICS_AUTH=true``): then the broker's own Basic
auth. Requests are counted by route template (``/v2/service_instances/<instance_id>``),
never by raw path, so no instance or binding id becomes a label.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from flask import Flask, Response, g, request

from openbroker_aliyun import metrics
from openbroker_aliyun.api import request_state
from openbroker_aliyun.api.auth import CredentialChecker, require_basic_auth
from openbroker_aliyun.config import Credential
from openbroker_aliyun.engine.protocol import BrokerEngine
from openbroker_aliyun.metrics import CountsOperations, OperationsCollector

PATH = "/metrics"

# Set on ``g`` when the in-progress gauge went up, so teardown takes it down exactly once.
_COUNTED = "osb_metrics_in_progress"


def _endpoint() -> str:
    rule = request.url_rule
    return rule.rule if rule is not None else metrics.UNMATCHED


def begin_request() -> None:
    """``before_request``: one more request in progress."""
    metrics.request_started()
    setattr(g, _COUNTED, True)


def record_request(response: Response) -> Response:
    """``after_request``: count the request with its status and duration."""
    started = request_state.current().started
    metrics.observe_request(_endpoint(), request.method, response.status_code, time.perf_counter() - started)
    return response


def end_request(error: BaseException | None) -> None:
    """``teardown_request``: the request is no longer in progress (runs even after a crash)."""
    if g.pop(_COUNTED, False):
        metrics.request_finished()


def metrics_view(engine: BrokerEngine, credentials: Sequence[Credential] | None) -> Callable[[], Response]:
    """The ``/metrics`` view; ``credentials`` given means Basic auth is required."""
    check = CredentialChecker(credentials) if credentials else None
    # Operations are counted in the shared state store: right whichever worker answers.
    extra = [OperationsCollector(engine.operation_counts)] if isinstance(engine, CountsOperations) else []

    def serve_metrics() -> Response:
        if check is not None:
            require_basic_auth(check)
        body, content_type = metrics.render(request.headers.get("Accept"), extra)
        return Response(body, status=200, headers={"Content-Type": content_type})

    return serve_metrics


def install_hooks(app: Flask) -> None:
    """Count every request (install right after the request state, before any hook that may raise)."""
    app.before_request(begin_request)
    app.after_request(record_request)
    app.teardown_request(end_request)


def install_route(app: Flask, engine: BrokerEngine, credentials: Sequence[Credential] | None) -> None:
    """Serve ``/metrics``; with ``credentials`` it needs Basic auth with one of them."""
    app.add_url_rule(PATH, endpoint="metrics", view_func=metrics_view(engine, credentials), methods=["GET"])

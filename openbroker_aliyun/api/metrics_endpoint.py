"""``GET /metrics`` for Prometheus (the pipeline's ``metrics`` check counts every request).

The route is outside /v2 and, like the health routes, needs no credentials unless the
settings say ``metrics_auth`` (``BROKER_METRICS_AUTH=true``): then the broker's own Basic
auth. Requests are counted by route template (``/v2/service_instances/<instance_id>``),
never by raw path, so no instance or binding id becomes a label.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from flask import Flask, Response, request

from openbroker_aliyun import metrics
from openbroker_aliyun.api.auth import CredentialChecker, require_basic_auth
from openbroker_aliyun.config import Credential
from openbroker_aliyun.engine.protocol import BrokerEngine
from openbroker_aliyun.metrics import CountsOperations, OperationsCollector

PATH = "/metrics"


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


def install_route(app: Flask, engine: BrokerEngine, credentials: Sequence[Credential] | None) -> None:
    """Serve ``/metrics``; with ``credentials`` it needs Basic auth with one of them."""
    app.add_url_rule(PATH, endpoint="metrics", view_func=metrics_view(engine, credentials), methods=["GET"])

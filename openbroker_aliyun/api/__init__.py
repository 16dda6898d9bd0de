"""The HTTP layer: OSB routes, one request pipeline of checks, one error handler.

``install_api(app, engine, settings)`` adds all of it to a Flask app; ``create_app`` in
``openbroker_aliyun.app`` is the usual way to get one. Every request passes the checks
of ``openbroker_aliyun.api.pipeline`` in one order, whether Flask or the fast path
(``openbroker_aliyun.api.fast_path``) serves it.
"""

from __future__ import annotations

from collections.abc import Sequence

from flask import Flask

from openbroker_aliyun.api import errors, fast_path, health, metrics_endpoint, routes
from openbroker_aliyun.api.extension import KEY, ApiState
from openbroker_aliyun.api.pipeline import Check, Pipeline, standard_checks
from openbroker_aliyun.config import BrokerSettings
from openbroker_aliyun.engine.protocol import BrokerEngine

__all__ = ["Check", "install_api", "standard_checks"]


def install_api(
    app: Flask, engine: BrokerEngine, settings: BrokerSettings, *, checks: Sequence[Check] | None = None
) -> None:
    """Add the OSB API, the health endpoints and ``/metrics``, serving ``engine``, to ``app``.

    ``checks``: the request pipeline, ``standard_checks(settings)`` unless given. Also
    puts the fast path in front of ``app`` when it is a plain ``Flask`` app with no WSGI
    middleware and no request hooks yet; add middleware after this call.
    """
    why_not_fast = fast_path.unsuitable(app)
    state = app.extensions[KEY] = ApiState.for_engine(engine)
    pipeline = Pipeline(standard_checks(settings) if checks is None else checks)
    pipeline.install(app)
    errors.install(app)
    routes.install(app)
    health.install(app)
    metrics_endpoint.install_route(app, engine, settings.credentials if settings.metrics_auth else None)
    if why_not_fast is None:
        fast_path.install(app, state, pipeline)

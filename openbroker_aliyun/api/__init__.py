"""The HTTP layer: OSB routes, one middleware per header, one error handler.

``install_api(app, engine, settings)`` adds all of it to a Flask app; ``create_app`` in
``openbroker_aliyun.app`` is the usual way to get one.
"""

from __future__ import annotations

from flask import Flask

from openbroker_aliyun.api import (
    access_log,
    auth,
    body,
    errors,
    fast_lane,
    health,
    identity,
    metrics_endpoint,
    routes,
    version,
    wire_text,
)
from openbroker_aliyun.api.extension import KEY, ApiState
from openbroker_aliyun.config import BrokerSettings
from openbroker_aliyun.engine.protocol import BrokerEngine

__all__ = ["install_api"]


def install_api(app: Flask, engine: BrokerEngine, settings: BrokerSettings) -> None:
    """Add the OSB API, the health endpoints and ``/metrics``, serving ``engine``, to ``app``.

    Also puts the fast lane (``openbroker_aliyun.api.fast_lane``) in front of ``app`` when
    it has no WSGI middleware yet; add middleware after this call.
    """
    hooks_before = fast_lane.Hooks.of(app)
    state = app.extensions[KEY] = ApiState.for_engine(engine)
    # Hooks run in the order installed: the request state first, then the request
    # metrics, then authentication (a 401 before anything else), then the version
    # header, the path and query encoding, identities and body.
    access_log.install(app)
    metrics_endpoint.install_hooks(app)
    auth.install(app, settings.credentials)
    version.install(app)
    wire_text.install(app)
    identity.install(app)
    body.install(app, settings.max_body_bytes)
    errors.install(app)
    routes.install(app)
    health.install(app)
    metrics_endpoint.install_route(app, engine, settings.credentials if settings.metrics_auth else None)
    fast_lane.install(app, state, auth.CredentialChecker(settings.credentials), hooks_before)

"""Unauthenticated health endpoints for platform probes, outside /v2.

``/health/live`` answers 200 while the process serves; ``/health/ready`` answers 200
when the engine's state store answers, else 503 with ``Retry-After`` and
``{"status": "unavailable", "state_store": "unreachable", "description": ...}``, so a
platform stops routing requests to a broker that could only answer them 503.
"""

from __future__ import annotations

import logging

from flask import Flask, Response

from openbroker_aliyun.api.errors import json_response
from openbroker_aliyun.api.extension import api_state
from openbroker_aliyun.errors import ServiceUnavailable

log = logging.getLogger("openbroker_aliyun.api")

_UNREACHABLE = ServiceUnavailable("The broker's state store does not answer.")


def live() -> Response:
    return json_response({"status": "ok"}, 200)


def ready() -> Response:
    try:
        is_ready = api_state().engine.ready()
    except Exception:
        # A probe must get an answer, not a 500: not ready, and the reason in the log.
        log.exception("readiness check failed")
        is_ready = False
    if is_ready:
        return json_response({"status": "ok"}, 200)
    body = {"status": "unavailable", "state_store": "unreachable", "description": _UNREACHABLE.description}
    return json_response(body, _UNREACHABLE.status, _UNREACHABLE.headers())


def install(app: Flask) -> None:
    app.add_url_rule("/health/live", endpoint="health.live", view_func=live, methods=["GET"])
    app.add_url_rule("/health/ready", endpoint="health.ready", view_func=ready, methods=["GET"])

"""Unauthenticated health endpoints for platform probes, outside /v2.

``/health/live`` answers 200 while the process serves; ``/health/ready`` answers 200
when the engine's state store answers, else 503.
"""

from __future__ import annotations

import logging

from flask import Flask, Response

from openbroker_aliyun.api.errors import json_response
from openbroker_aliyun.api.extension import api_state

log = logging.getLogger("openbroker_aliyun.api")


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
    return json_response({"status": "unavailable", "description": "The state store does not answer."}, 503)


def install(app: Flask) -> None:
    app.add_url_rule("/health/live", endpoint="health.live", view_func=live, methods=["GET"])
    app.add_url_rule("/health/ready", endpoint="health.ready", view_func=ready, methods=["GET"])

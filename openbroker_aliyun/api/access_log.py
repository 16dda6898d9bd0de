"""One JSON log line per request: who, what, how it ended, how long it took.

Only the path is logged, never the query string or a body.
"""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, request

from openbroker_aliyun.api import request_state

log = logging.getLogger("openbroker_aliyun.api.access")


def log_request(response: Response) -> Response:
    """``after_request`` hook writing the request line."""
    state = request_state.current()
    identity = state.originating_identity
    level = logging.WARNING if response.status_code >= 500 else logging.INFO
    log.log(
        level,
        "%s %s %s",
        request.method,
        request.path,
        response.status_code,
        extra={
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - state.started) * 1000, 1),
            "request_id": state.request_id,
            "request_identity": state.request_identity,
            "vcap_request_id": state.vcap_request_id,
            "instance_id": state.instance_id,
            "binding_id": state.binding_id,
            "operation": state.operation,
            "platform": identity.platform if identity else None,
            "user": identity.user if identity else None,
        },
    )
    return response


def install(app: Flask) -> None:
    """Start the request state first of all hooks, and log every request at the end."""
    app.before_request(request_state.begin_request)
    app.after_request(log_request)

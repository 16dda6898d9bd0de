"""One JSON log line per request: who, what, how it ended, how long it took.

Only the path is logged, never the query string or a body.
"""

from __future__ import annotations

import logging
import time

from openbroker_aliyun.api import request_state

log = logging.getLogger("openbroker_aliyun.api.access")


def write_line(method: str, path: str, status: int, state: request_state.RequestState) -> None:
    """Log the line of a request that ended with ``status``."""
    level = logging.WARNING if status >= 500 else logging.INFO
    if not log.isEnabledFor(level):
        return
    identity = state.originating_identity
    log.log(
        level,
        "%s %s %s",
        method,
        path,
        status,
        extra={
            "method": method,
            "path": path,
            "status": status,
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

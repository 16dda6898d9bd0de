"""The one place where errors become answers.

A ``BrokerError`` becomes its status, its headers (``Retry-After`` on a 503) and
``{"error"?, "description"}``; a werkzeug HTTP error (unknown route, wrong method, body
too large) gets the same JSON shape; anything else is a bug: 500 with a description
pointing at the log, the traceback only in the log. ``error_reply`` makes the answer;
Flask's error handlers and the fast path both send what it makes.

A 503 is not logged per request: it means the state store is unreachable, which the
store logs once when it happens and once when it is over (the access log still has a
line for each request).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response
from werkzeug.exceptions import HTTPException

from openbroker_aliyun.api import request_state
from openbroker_aliyun.api.reply import Reply, json_bytes, json_reply, to_response
from openbroker_aliyun.api.request_state import RequestState
from openbroker_aliyun.errors import BrokerError, ServiceUnavailable, Unauthorized

log = logging.getLogger("openbroker_aliyun.api")

AUTH_REALM = 'Basic realm="Open Service Broker", charset="UTF-8"'

# Werkzeug's own texts talk about "the server" and HTML forms; these are for platforms.
_HTTP_DESCRIPTIONS = {
    404: "No such endpoint; see the OSB API for the routes this broker serves.",
    405: "This endpoint does not accept that HTTP method.",
    413: "The request body is larger than this broker accepts.",
}

__all__ = ["AUTH_REALM", "error_reply", "install", "json_bytes", "json_response"]


def json_response(body: Any, status: int, headers: dict[str, str] | None = None) -> Response:
    """A JSON response (for the routes outside the OSB API: health, metrics)."""
    return to_response(json_reply(body, status, (headers or {}).items()))


def error_reply(error: Exception, state: RequestState) -> Reply:
    """The answer to a request that raised ``error``."""
    if not isinstance(error, BrokerError):
        log.exception("unhandled error", extra={"request_id": state.request_id}, exc_info=error)
        return json_reply(
            {"description": f"Internal error; see the broker log (request id {state.request_id})."}, 500
        )
    if error.status >= 500 and not isinstance(error, ServiceUnavailable):
        log.error(
            "request failed: %s",
            error.description,
            extra={"request_id": state.request_id, "error": error.error},
        )
    headers = error.headers()
    if isinstance(error, Unauthorized):
        headers["WWW-Authenticate"] = AUTH_REALM
    return json_reply(error.body(), error.status, headers.items())


def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    description = _HTTP_DESCRIPTIONS.get(status) or exc.description or exc.name
    # Keep werkzeug's headers that matter (Allow on 405), never its HTML content type.
    headers = {name: value for name, value in exc.get_headers() if name.lower() != "content-type"}
    return json_response({"description": description}, status, headers)


def _any_error(exc: Exception) -> Response:
    return to_response(error_reply(exc, request_state.current()))


def install(app: Flask) -> None:
    """Register the error handlers on ``app``."""
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _any_error)

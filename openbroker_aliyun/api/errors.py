"""The one place where errors become responses.

A ``BrokerError`` becomes its status, its headers (``Retry-After`` on a 503) and
``{"error"?, "description"}``; a werkzeug HTTP error (unknown route, wrong method, body
too large) gets the same JSON shape; anything else is a bug: 500 with a description
pointing at the log, the traceback only in the log.

A 503 is not logged per request: it means the state store is unreachable, which the
store logs once when it happens and once when it is over (the access log still has a
line for each request).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import Flask, Response
from werkzeug.exceptions import HTTPException

from openbroker_aliyun.api import request_state
from openbroker_aliyun.errors import BrokerError, ServiceUnavailable, Unauthorized

log = logging.getLogger("openbroker_aliyun.api")

AUTH_REALM = 'Basic realm="Open Service Broker", charset="UTF-8"'

# Werkzeug's own texts talk about "the server" and HTML forms; these are for platforms.
_HTTP_DESCRIPTIONS = {
    404: "No such endpoint; see the OSB API for the routes this broker serves.",
    405: "This endpoint does not accept that HTTP method.",
    413: "The request body is larger than this broker accepts.",
}


def json_response(body: Any, status: int, headers: dict[str, str] | None = None) -> Response:
    """A JSON response; every body this broker sends goes through here."""
    return Response(json_bytes(body), status=status, headers=headers, mimetype="application/json")


def json_bytes(body: Any) -> bytes:
    """The bytes of a JSON response body."""
    return json.dumps(body).encode("utf-8")


def _broker_error(exc: BrokerError) -> Response:
    if exc.status >= 500 and not isinstance(exc, ServiceUnavailable):
        log.error(
            "request failed: %s",
            exc.description,
            extra={"request_id": request_state.current().request_id, "error": exc.error},
        )
    headers = exc.headers()
    if isinstance(exc, Unauthorized):
        headers["WWW-Authenticate"] = AUTH_REALM
    return json_response(exc.body(), exc.status, headers)


def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    description = _HTTP_DESCRIPTIONS.get(status) or exc.description or exc.name
    # Keep werkzeug's headers that matter (Allow on 405), never its HTML content type.
    headers = {name: value for name, value in exc.get_headers() if name.lower() != "content-type"}
    return json_response({"description": description}, status, headers)


def _unexpected(exc: Exception) -> Response:
    request_id = request_state.current().request_id
    log.exception("unhandled error", extra={"request_id": request_id})
    return json_response(
        {"description": f"Internal error; see the broker log (request id {request_id})."}, 500
    )


def install(app: Flask) -> None:
    """Register the error handlers on ``app``."""
    app.register_error_handler(BrokerError, _broker_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)

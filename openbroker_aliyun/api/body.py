"""Request bodies of PUT and PATCH: JSON, an object, and not larger than the limit.

Checked before any handler runs, so a handler only ever sees a parsed JSON object.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from flask import Flask, request

from openbroker_aliyun.api import request_state
from openbroker_aliyun.errors import BadRequest, PayloadTooLarge

BODY_METHODS = frozenset({"PUT", "PATCH"})


def _is_json(mimetype: str) -> bool:
    return mimetype == "application/json" or (
        mimetype.startswith("application/") and mimetype.endswith("+json")
    )


def body_hook(max_bytes: int) -> Callable[[], None]:
    """A ``before_request`` hook that parses the body into the request state."""

    def read_body() -> None:
        if not request_state.is_osb_request() or request.method not in BODY_METHODS:
            return
        if request.url_rule is None:
            # No such route (or method): the router answers 404/405, whatever the body.
            return
        if request.content_length is not None and request.content_length > max_bytes:
            raise PayloadTooLarge(f"The request body is larger than {max_bytes} bytes.")
        raw = request.get_data(cache=True)
        # A chunked body has no Content-Length: werkzeug stops reading at MAX_CONTENT_LENGTH
        # (one byte over our limit) without an error, so a body that long is too large.
        if len(raw) > max_bytes:
            raise PayloadTooLarge(f"The request body is larger than {max_bytes} bytes.")
        if not raw.strip():
            raise BadRequest("A JSON object body is required.")
        if not _is_json(request.mimetype):
            raise BadRequest("The request body must be JSON with 'Content-Type: application/json'.")
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError):
            raise BadRequest("The request body is not valid JSON.") from None
        if not isinstance(body, dict):
            raise BadRequest("The request body must be a JSON object.")
        request_state.current().body = body

    return read_body


def install(app: Flask, max_bytes: int) -> None:
    """Parse and check PUT/PATCH bodies on /v2 routes; bodies over ``max_bytes`` get 413."""
    app.config["MAX_CONTENT_LENGTH"] = max_bytes + 1
    app.before_request(body_hook(max_bytes))

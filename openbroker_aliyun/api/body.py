"""Request bodies of PUT and PATCH: JSON, an object, and not larger than the limit.

Checked by the pipeline before any handler runs, so a handler only ever sees a parsed
JSON object.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from openbroker_aliyun.api.request_state import RequestState
from openbroker_aliyun.errors import BadRequest, PayloadTooLarge

BODY_METHODS = frozenset({"PUT", "PATCH"})


def _is_json(mimetype: str) -> bool:
    return mimetype == "application/json" or (
        mimetype.startswith("application/") and mimetype.endswith("+json")
    )


def reader(max_bytes: int) -> Callable[[RequestState], None]:
    """The pipeline's body check: parse the body of a PUT or PATCH into the request state."""

    def read_body(state: RequestState) -> None:
        if state.method not in BODY_METHODS or state.route is None:
            # No body to read, or no such route: the router answers 404/405, whatever the body.
            return
        request = state.request
        if request.content_length is not None and request.content_length > max_bytes:
            raise PayloadTooLarge(f"The request body is larger than {max_bytes} bytes.")
        # A chunked body has no Content-Length: werkzeug stops reading one byte over the
        # limit without an error, so a body that long is too large.
        request.max_content_length = max_bytes + 1
        raw = request.get_data(cache=True)
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
        state.body = body

    return read_body

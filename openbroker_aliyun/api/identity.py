"""The identity headers: who acts (originating identity) and which request this is.

``X-Broker-API-Originating-Identity: <platform> <base64 JSON>`` is decoded for any
platform word (``cloudfoundry``, ``kubernetes``, ...) and handed to the engine; a value
that cannot be decoded is a 400. ``X-Broker-API-Request-Identity`` is echoed on the
response (the spec's SHOULD) and logged with ``X-VCAP-Request-ID``.
"""

from __future__ import annotations

import base64
import binascii
import json

from flask import Flask, Response, request

from openbroker_aliyun.api import request_state
from openbroker_aliyun.domain import OriginatingIdentity
from openbroker_aliyun.errors import BadRequest

ORIGINATING_IDENTITY = "X-Broker-API-Originating-Identity"
REQUEST_IDENTITY = request_state.REQUEST_IDENTITY


def parse_originating_identity(value: str) -> OriginatingIdentity:
    """Decode ``<platform> <base64 JSON object>``; raise ``BadRequest`` when malformed."""
    parts = value.strip().split(None, 1)
    if len(parts) != 2:
        raise BadRequest(f"{ORIGINATING_IDENTITY} must be '<platform> <base64-encoded JSON object>'.")
    platform, encoded = parts
    try:
        decoded = json.loads(base64.b64decode(encoded.strip(), validate=True))
    except (binascii.Error, ValueError, RecursionError):
        raise BadRequest(f"{ORIGINATING_IDENTITY}: the value is not base64-encoded JSON.") from None
    if not isinstance(decoded, dict):
        raise BadRequest(f"{ORIGINATING_IDENTITY}: the decoded value must be a JSON object.")
    return OriginatingIdentity(platform=platform, value=decoded)


def originating_identity(header: str | None) -> OriginatingIdentity | None:
    """The decoded value of the header, None when absent; ``BadRequest`` when malformed."""
    return None if header is None else parse_originating_identity(header)


def read_originating_identity() -> None:
    """``before_request`` hook: decode the header (absent is fine) into the request state."""
    if not request_state.is_osb_request():
        return
    found = originating_identity(request.headers.get(ORIGINATING_IDENTITY))
    if found is not None:
        request_state.current().originating_identity = found


def echo_request_identity(response: Response) -> Response:
    """``after_request`` hook: return the platform's request identity on every response."""
    identity = request_state.current().request_identity
    if identity is not None:
        response.headers[REQUEST_IDENTITY] = identity
    return response


def install(app: Flask) -> None:
    """Decode the originating identity on /v2 routes and echo the request identity."""
    app.before_request(read_originating_identity)
    app.after_request(echo_request_identity)

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

from openbroker_aliyun.api import request_state
from openbroker_aliyun.api.request_state import RequestState, environ_key
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


def read_originating_identity(state: RequestState) -> None:
    """The pipeline's identity check: decode the header (absent is fine); 400 when malformed."""
    state.originating_identity = originating_identity(state.header(_ORIGINATING_IDENTITY))


def echo_request_identity(state: RequestState, status: int, headers: list[tuple[str, str]]) -> None:
    """Return the platform's request identity on every answer."""
    if state.request_identity is not None:
        headers.append((REQUEST_IDENTITY, state.request_identity))


_ORIGINATING_IDENTITY = environ_key(ORIGINATING_IDENTITY)

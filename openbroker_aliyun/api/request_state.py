"""What the middleware learns about the current request, kept for handlers and the log."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any

from flask import g, request

from openbroker_aliyun.domain import OriginatingIdentity, RequestInfo

OSB_PREFIX = "/v2"


@dataclass
class RequestState:
    """Per-request facts: filled by the middleware, read by handlers, the log and errors."""

    request_identity: str | None = None
    vcap_request_id: str | None = None
    api_version: str | None = None
    originating_identity: OriginatingIdentity | None = None
    instance_id: str | None = None
    binding_id: str | None = None
    operation: str | None = None
    body: dict[str, Any] | None = None
    started: float = field(default_factory=time.perf_counter)
    _request_id: str | None = field(default=None, repr=False)

    @property
    def request_id(self) -> str:
        """The platform's request identity, or else an id of our own, so that a 500 can
        still point at the log line. Made when first asked for: most requests log no
        line at the usual level and answer no 500."""
        if self._request_id is None:
            self._request_id = self.request_identity or _new_request_id()
        return self._request_id

    def info(self, accepts_incomplete: bool = False) -> RequestInfo:
        """The ``RequestInfo`` handed to the engine."""
        return RequestInfo(
            api_version=self.api_version or RequestInfo.api_version,
            originating_identity=self.originating_identity,
            request_identity=self.request_identity,
            accepts_incomplete=accepts_incomplete,
        )


REQUEST_IDENTITY = "X-Broker-API-Request-Identity"
VCAP_REQUEST_ID = "X-VCAP-Request-ID"


def new_state(request_identity: str | None, vcap_request_id: str | None) -> RequestState:
    """The state of a request that starts now, from its correlation headers' values."""
    return RequestState(request_identity=request_identity or None, vcap_request_id=vcap_request_id or None)


def _new_request_id() -> str:
    """A random UUID 4 in hex, as ``uuid.uuid4().hex`` writes it.

    From the random module rather than os.urandom: the id only correlates log lines, and
    os.urandom's system call releases the GIL, which under threaded workers costs a wait
    for it on every request. (``random`` is seeded again in every forked worker.) The
    version and variant bits are set on the integer: building a ``uuid.UUID`` costs more
    than the rest of the id.
    """
    return f"{random.getrandbits(128) & _UUID4_CLEAR | _UUID4_SET:032x}"


# The bits uuid.UUID(version=4) sets: version 4 (bits 76-79) and the RFC 4122 variant (bits 62-63).
_UUID4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID4_SET = (0x4000 << 64) | (0x8000 << 48)


def begin_request() -> None:
    """First hook of every request: start the clock and read the correlation headers."""
    g.osb = new_state(request.headers.get(REQUEST_IDENTITY), request.headers.get(VCAP_REQUEST_ID))


def current() -> RequestState:
    """The current request's state (created on demand if the first hook did not run)."""
    state = g.get("osb")
    if state is None:
        begin_request()
        state = g.osb
    return state


def is_osb_request() -> bool:
    """Whether the request is for the OSB API (auth and the version header apply)."""
    path = request.path
    return path == OSB_PREFIX or path.startswith(OSB_PREFIX + "/")

"""One request as the pipeline's checks and the handlers see it, and what they learn about it.

A ``RequestState`` is made for every request, by the pipeline's Flask hook or by the fast
path (``openbroker_aliyun.api.pipeline``), from the WSGI environ: the same object either
way, so that a check reads a header the same way whoever serves the request.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from flask import g, request
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Request

from openbroker_aliyun.api import wire_text
from openbroker_aliyun.domain import OriginatingIdentity, RequestInfo

OSB_PREFIX = "/v2"
REQUEST_IDENTITY = "X-Broker-API-Request-Identity"
VCAP_REQUEST_ID = "X-VCAP-Request-ID"


def environ_key(header: str) -> str:
    """Where WSGI puts a request header (what werkzeug's ``EnvironHeaders`` reads)."""
    return "HTTP_" + header.upper().replace("-", "_")


_REQUEST_IDENTITY = environ_key(REQUEST_IDENTITY)
_VCAP_REQUEST_ID = environ_key(VCAP_REQUEST_ID)


@dataclass
class RequestState:
    """A request: what it is (from the environ), and what the checks and handlers learn.

    ``route`` is the template of the route it matched (``/v2/service_instances/<instance_id>``),
    None when it matched none; ``fast`` tells whether the fast path serves it.
    """

    environ: dict[str, Any]
    method: str
    path: str
    route: str | None
    fast: bool = False
    request_identity: str | None = None
    vcap_request_id: str | None = None
    api_version: str | None = None
    originating_identity: OriginatingIdentity | None = None
    instance_id: str | None = None
    binding_id: str | None = None
    operation: str | None = None
    body: dict[str, Any] | None = None
    started: float = field(default_factory=time.perf_counter)
    #: How many of the pipeline's checks have passed their ``before`` (see ``Pipeline``).
    passed: int = 0
    _request_id: str | None = field(default=None, repr=False)
    _args: MultiDict[str, str] | None = field(default=None, repr=False)
    _request: Request | None = field(default=None, repr=False)

    #: Whether the request is for the OSB API (``/v2``: auth and the version header apply).
    osb: bool = field(init=False)

    def __post_init__(self) -> None:
        path = self.path
        self.osb = path == OSB_PREFIX or path.startswith(OSB_PREFIX + "/")
        self.request_identity = self.environ.get(_REQUEST_IDENTITY) or None
        self.vcap_request_id = self.environ.get(_VCAP_REQUEST_ID) or None

    def header(self, environ_name: str) -> str | None:
        """A request header by its environ name (``environ_key``)."""
        value: str | None = self.environ.get(environ_name)
        return value

    @property
    def args(self) -> MultiDict[str, str]:
        """The query arguments, decoded strictly as UTF-8 (a 400 when they are not)."""
        if self._args is None:
            raw = self.environ.get("QUERY_STRING", "")
            self._args = MultiDict(wire_text.decode_query(raw)) if raw else MultiDict()
        return self._args

    @property
    def request(self) -> Request:
        """The werkzeug request (Flask's own under Flask), for what needs more than headers."""
        if self._request is None:
            self._request = Request(self.environ)
        return self._request

    @property
    def request_id(self) -> str:
        """The platform's request identity, or else an id of our own, so that a 500 can
        still point at the log line. Made when first asked for: most requests log no
        line at the usual level and answer no 500."""
        if self._request_id is None:
            self._request_id = self.request_identity or uuid.uuid4().hex
        return self._request_id

    def info(self, accepts_incomplete: bool = False) -> RequestInfo:
        """The ``RequestInfo`` handed to the engine."""
        return RequestInfo(
            api_version=self.api_version or RequestInfo.api_version,
            originating_identity=self.originating_identity,
            request_identity=self.request_identity,
            accepts_incomplete=accepts_incomplete,
        )


def begin_request() -> RequestState:
    """The state of the current Flask request, made now (the pipeline's first hook)."""
    rule = request.url_rule
    state = RequestState(
        request.environ,
        request.method,
        request.path,
        rule.rule if rule is not None else None,
        _request=request._get_current_object(),  # type: ignore[attr-defined]
    )
    g.osb = state
    return state


def current() -> RequestState:
    """The current Flask request's state (made on demand if the pipeline's hook did not run)."""
    state: RequestState | None = g.get("osb")
    return state if state is not None else begin_request()

"""The fast lane: GET /v2/catalog and GET last_operation answered without Flask's machinery.

Platforms fetch the catalog and poll last_operation (every few seconds for every
operation in flight) far more often than they call anything else, and Flask's own work
per request (request and application contexts, URL matching, a dozen hooks, a Response
object) costs more than these answers do. The fast lane is a WSGI wrapper around the
Flask app that answers the ordinary case of these two requests itself, with the same
checks and the same functions as the Flask hooks and handlers: credentials, version
header, identity headers, query schema, the engine call, the response body, the request
log line and the request metrics.

Everything else goes to Flask untouched: other routes and methods (HEAD included),
conditional catalog requests, and any request that a check rejects or that the engine
answers with an error. The fast lane steps aside *before* answering, so a request is
answered once, and every error response comes from the one error handler.

It must not skip behind the application's back what Flask would run, so it is only put
in front of an app that is a plain ``Flask`` with no WSGI middleware yet, and it serves
only while the app's request hooks are those ``install_api`` found and added: the
``before_request`` hooks the app had already (``create_app``'s lazy start of the engine
driver) it calls itself, and it steps aside for good when one of them needs Flask (it
raises or answers). A hook added later, an ``after_request`` or teardown hook of the
application's own, or a receiver of Flask's request signals keeps it out of the way.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from flask import Flask, signals
from werkzeug.datastructures import MultiDict
from werkzeug.http import http_date, quote_etag

from openbroker_aliyun import metrics
from openbroker_aliyun.api import (
    access_log,
    identity,
    request_state,
    responses,
    routes,
    schemas,
    version,
    wire_text,
)
from openbroker_aliyun.api.auth import CredentialChecker, check_authorization
from openbroker_aliyun.api.extension import ApiState
from openbroker_aliyun.api.request_state import RequestState
from openbroker_aliyun.errors import BrokerError

log = logging.getLogger("openbroker_aliyun.api")

Environ = dict[str, Any]
WsgiApp = Callable[[Environ, Callable[..., Any]], Iterable[bytes]]
Hook = Callable[..., Any]

CATALOG = "/v2/catalog"
INSTANCE_LAST_OPERATION = routes.INSTANCE + "/last_operation"
BINDING_LAST_OPERATION = routes.BINDING + "/last_operation"

# What werkzeug's router matches for the two templates above ("<name>" is "[^/]+").
_INSTANCE_LAST_OPERATION = re.compile(r"/v2/service_instances/([^/]+)/last_operation")
_BINDING_LAST_OPERATION = re.compile(r"/v2/service_instances/([^/]+)/service_bindings/([^/]+)/last_operation")
# Requests Flask answers differently from a plain 200 (304, 412, 206): left to Flask.
_CONDITIONAL = (
    "HTTP_IF_NONE_MATCH",
    "HTTP_IF_MODIFIED_SINCE",
    "HTTP_IF_MATCH",
    "HTTP_IF_UNMODIFIED_SINCE",
    "HTTP_RANGE",
    "HTTP_IF_RANGE",
)
_SIGNALS = (
    signals.request_started,
    signals.request_finished,
    signals.got_request_exception,
    signals.request_tearing_down,
    signals.appcontext_pushed,
    signals.appcontext_popped,
    signals.appcontext_tearing_down,
)
# Flask methods a subclass might change the handling of a request with.
_FLASK_METHODS = (
    "__call__",
    "wsgi_app",
    "request_context",
    "app_context",
    "full_dispatch_request",
    "preprocess_request",
    "dispatch_request",
    "finalize_request",
    "make_response",
    "process_response",
    "do_teardown_request",
)
_JSON = ("Content-Type", "application/json")
_NO_HOOKS: list[Hook] = []  # what an app without hooks of a kind has (never changed)


def _environ_key(header: str) -> str:
    """Where WSGI puts a request header (what werkzeug's ``EnvironHeaders`` reads)."""
    return "HTTP_" + header.upper().replace("-", "_")


_AUTHORIZATION = _environ_key("Authorization")
_VERSION = _environ_key(version.HEADER)
_ORIGINATING_IDENTITY = _environ_key(identity.ORIGINATING_IDENTITY)
_REQUEST_IDENTITY = _environ_key(request_state.REQUEST_IDENTITY)
_VCAP_REQUEST_ID = _environ_key(request_state.VCAP_REQUEST_ID)


class Hooks(NamedTuple):
    """The app-wide request hooks of a Flask app, as they are at one moment."""

    before: tuple[Hook, ...]
    after: tuple[Hook, ...]
    teardown: tuple[Hook, ...]
    url_values: tuple[Hook, ...]

    @classmethod
    def of(cls, app: Flask) -> Hooks:
        return cls(
            before=tuple(app.before_request_funcs.get(None, ())),
            after=tuple(app.after_request_funcs.get(None, ())),
            teardown=tuple(app.teardown_request_funcs.get(None, ())),
            url_values=tuple(app.url_value_preprocessors.get(None, ())),
        )


@dataclass
class _Answer:
    endpoint: str
    body: bytes
    headers: list[tuple[str, str]]


class FastLane:
    """The WSGI app in front of a Flask app (see the module's description).

    ``flask`` is the Flask WSGI app behind it, which answers whatever the lane leaves.
    """

    def __init__(
        self,
        app: Flask,
        api: ApiState,
        check: CredentialChecker,
        *,
        run_first: Sequence[Hook],
    ) -> None:
        self.app = app
        self.flask: WsgiApp = app.wsgi_app
        self._api = api
        self._check = check
        self._run_first = tuple(run_first)
        self._hook_lists = tuple(list(hooks) for hooks in Hooks.of(app))
        self._open = True
        etag = quote_etag(api.catalog_etag)
        self._catalog_headers = [
            _JSON,
            ("Content-Length", str(len(api.catalog_body))),
            ("ETag", etag),
            ("Last-Modified", http_date(api.catalog_since)),
        ]
        self._date = (0, "")

    @property
    def open(self) -> bool:
        """False once the lane has stepped aside for good."""
        return self._open

    def __call__(self, environ: Environ, start_response: Callable[..., Any]) -> Iterable[bytes]:
        serve = self._route(environ)
        if serve is None:
            return self.flask(environ, start_response)
        started = time.perf_counter()
        metrics.request_started()
        answer: _Answer | None = None
        try:
            answer = self._answer(serve, environ, started)
        finally:
            metrics.request_finished()
        if answer is None:
            return self.flask(environ, start_response)
        start_response("200 OK", answer.headers)
        return [answer.body]

    # -- which requests ------------------------------------------------------------------

    def _route(self, environ: Environ) -> Callable[[Environ, str, RequestState], _Answer] | None:
        if not self._open or environ.get("REQUEST_METHOD") != "GET":
            return None
        if self.app.config.get("TRUSTED_HOSTS") is not None:
            return None  # Flask checks the Host header against them
        path = environ.get("PATH_INFO", "")
        if path == CATALOG:
            if any(name in environ for name in _CONDITIONAL):
                return None
            serve = self._catalog
        elif path.endswith("/last_operation") and path.startswith("/v2/service_instances/"):
            serve = self._last_operation
        else:
            return None
        if not self._hooks_unchanged():
            self._close("the app's request hooks or signal receivers changed")
            return None
        return serve

    def _hooks_unchanged(self) -> bool:
        for signal in _SIGNALS:
            if signal.receivers:
                return False
        app = self.app
        before, after, teardown, url_values = self._hook_lists
        # List against list: no copy of the app's hooks on every request.
        return (
            app.before_request_funcs.get(None, _NO_HOOKS) == before
            and app.after_request_funcs.get(None, _NO_HOOKS) == after
            and app.teardown_request_funcs.get(None, _NO_HOOKS) == teardown
            and app.url_value_preprocessors.get(None, _NO_HOOKS) == url_values
        )

    def _close(self, why: str) -> None:
        if self._open:
            self._open = False
            log.info("fast lane off: Flask answers every request", extra={"reason": why})

    # -- answering -----------------------------------------------------------------------

    def _answer(
        self, serve: Callable[[Environ, str, RequestState], _Answer], environ: Environ, started: float
    ) -> _Answer | None:
        """The answer, or None when Flask is to answer (nothing has been done then)."""
        try:
            get = environ.get
            check_authorization(get(_AUTHORIZATION), self._check)
            state = request_state.new_state(get(_REQUEST_IDENTITY), get(_VCAP_REQUEST_ID))
            state.started = started
            state.api_version = version.api_version(get(_VERSION))
            state.originating_identity = identity.originating_identity(get(_ORIGINATING_IDENTITY))
            wire_text.check_encoding(environ)  # not UTF-8: Flask's hook refuses it
            # As werkzeug decodes the path for its router and ``request.path``.
            path = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace")
            answer = serve(environ, path, state)
        except BrokerError:  # a check or the engine said no: Flask answers that, the one way
            return None
        except Exception as error:  # e.g. a query string that is not UTF-8; Flask decides
            log.debug("fast lane: Flask answers", extra={"error": type(error).__name__})
            return None
        if not self._ran_first_hooks():
            return None
        if state.request_identity is not None:
            answer.headers.append((identity.REQUEST_IDENTITY, state.request_identity))
        metrics.observe_request(answer.endpoint, "GET", 200, time.perf_counter() - state.started)
        access_log.write_line("GET", path, 200, state)
        return answer

    def _ran_first_hooks(self) -> bool:
        """Run the hooks the app had before the API; False (and the lane off) if one needs Flask."""
        for hook in self._run_first:
            try:
                answered = hook()
            except Exception:
                answered = True
            if answered is not None:
                self._close(f"the request hook {getattr(hook, '__qualname__', hook)!r} needs Flask")
                return False
        return True

    def _catalog(self, environ: Environ, path: str, state: RequestState) -> _Answer:
        # make_conditional, which Flask's handler calls, adds a Date header.
        return _Answer(CATALOG, self._api.catalog_body, [*self._catalog_headers, ("Date", self._now())])

    def _last_operation(self, environ: Environ, path: str, state: RequestState) -> _Answer:
        binding = _BINDING_LAST_OPERATION.fullmatch(path)
        if binding is not None:
            instance_id, binding_id = binding.groups()
            endpoint = BINDING_LAST_OPERATION
        else:
            instance = _INSTANCE_LAST_OPERATION.fullmatch(path)
            if instance is None:
                raise LookupError(path)  # not a route of ours: Flask's 404
            instance_id, binding_id, endpoint = instance.group(1), None, INSTANCE_LAST_OPERATION
        state.instance_id, state.binding_id = instance_id, binding_id
        asked = schemas.last_operation_request(
            instance_id, binding_id, _query(environ), state.info(accepts_incomplete=False)
        )
        state.operation = asked.operation
        found = self._api.engine.last_operation(asked)
        body = responses.last_operation_json(found)
        # In the order Flask's Response puts them: the handler's headers first.
        headers = list(responses.retry_after_header(found).items())
        headers += [_JSON, ("Content-Length", str(len(body)))]
        return _Answer(endpoint, body, headers)

    def _now(self) -> str:
        # One formatting per second: http_date is slow next to the rest of an answer.
        second = int(time.time())
        cached = self._date
        if cached[0] != second:
            cached = self._date = (second, http_date(second))
        return cached[1]


def _query(environ: Environ) -> MultiDict[str, str]:
    """The query arguments, as ``request.args`` has them once wire_text's hook let them pass."""
    raw = environ.get("QUERY_STRING", "")
    if not raw:
        return MultiDict()
    return MultiDict(wire_text.decode_query(raw))


def install(app: Flask, api: ApiState, check: CredentialChecker, before: Hooks) -> bool:
    """Put the fast lane in front of ``app``, whose hooks were ``before`` the API was added.

    Returns False (and leaves the app alone) when the app is not one the lane can stand in
    front of without changing what it does.
    """
    why = _unsuitable(app, before)
    if why is not None:
        log.debug("no fast lane: %s", why)
        return False
    app.wsgi_app = FastLane(app, api, check, run_first=before.before)  # type: ignore[method-assign]
    return True


def _unsuitable(app: Flask, before: Hooks) -> str | None:
    cls = type(app)
    changed = [name for name in _FLASK_METHODS if getattr(cls, name) is not getattr(Flask, name)]
    if changed:
        return f"the app's class changes {', '.join(changed)}"
    if getattr(app.wsgi_app, "__func__", None) is not Flask.wsgi_app:
        return "the app has WSGI middleware already"
    if app.url_map.host_matching or app.subdomain_matching:
        return "the app matches hosts or subdomains"
    if before.after or before.teardown or before.url_values:
        return "the app has request hooks of its own that need Flask"
    return None

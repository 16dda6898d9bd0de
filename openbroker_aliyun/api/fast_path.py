"""The fast path: the routes marked ``fast`` served without Flask's per-request machinery.

Platforms fetch the catalog and poll last_operation (every few seconds for every
operation in flight) far more often than they call anything else, and Flask's own work
per request (request and application contexts, URL matching, response objects, signals)
costs more than these answers do. The fast path is a WSGI wrapper around the Flask app
that serves the routes ``routes.ROUTES`` marks ``fast`` itself, through the same
pipeline (``Pipeline.serve``: every check, in the same order, errors answered by the one
``error_reply``) and the same handlers as Flask. It adds nothing of its own to a request
but the routing: its patterns are derived from the route table.

Everything else goes to Flask: other routes and methods (HEAD included), conditional
requests on a conditional route (the catalog's 304).

It must not skip what Flask would run, so it is only put in front of an app that is a
plain ``Flask`` with no WSGI middleware and no request hooks of its own, and it steps
aside for good when the app gets a request hook besides the pipeline's or a receiver of
Flask's request signals (so a hook of yours added after ``create_app`` runs on every
request, at Flask's speed). WSGI middleware wrapped around the app later costs it nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from flask import Flask, signals

from openbroker_aliyun.api.extension import ApiState
from openbroker_aliyun.api.pipeline import Pipeline
from openbroker_aliyun.api.reply import status_line
from openbroker_aliyun.api.request_state import RequestState
from openbroker_aliyun.api.routes import ROUTES, Route

log = logging.getLogger("openbroker_aliyun.api")

Environ = dict[str, Any]
WsgiApp = Callable[[Environ, Callable[..., Any]], Iterable[bytes]]
Hook = Callable[..., Any]

# Requests Flask answers differently from a plain 200 (304, 412, 206) on a conditional route.
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
_NO_HOOKS: list[Hook] = []  # what an app without hooks of a kind has (never changed)


class Hooks(NamedTuple):
    """The app-wide request hooks of a Flask app, as they are at one moment."""

    before: list[Hook]
    after: list[Hook]
    teardown: list[Hook]
    url_values: list[Hook]

    @classmethod
    def of(cls, app: Flask) -> Hooks:
        return cls(
            before=list(app.before_request_funcs.get(None, _NO_HOOKS)),
            after=list(app.after_request_funcs.get(None, _NO_HOOKS)),
            teardown=list(app.teardown_request_funcs.get(None, _NO_HOOKS)),
            url_values=list(app.url_value_preprocessors.get(None, _NO_HOOKS)),
        )

    @property
    def empty(self) -> bool:
        return not any(self)


class FastPath:
    """The WSGI app in front of a Flask app (see the module's description).

    ``flask`` is the Flask WSGI app behind it, which answers whatever the path leaves.
    """

    def __init__(self, app: Flask, api: ApiState, pipeline: Pipeline) -> None:
        self.app = app
        self.flask: WsgiApp = app.wsgi_app
        self._api = api
        self._pipeline = pipeline
        self._hooks = Hooks.of(app)  # the pipeline's own
        self._open = True
        self._routes = [route for route in ROUTES if route.fast]

    @property
    def open(self) -> bool:
        """False once the fast path has stepped aside for good."""
        return self._open

    def __call__(self, environ: Environ, start_response: Callable[..., Any]) -> Iterable[bytes]:
        found = self._route(environ)
        if found is None:
            return self.flask(environ, start_response)
        route, path, ids = found
        state = RequestState(environ, "GET", path, route.rule, fast=True)
        api = self._api
        reply = self._pipeline.serve(state, lambda: route.handler(api, state, **ids))
        start_response(status_line(reply.status), reply.headers)
        return [reply.body]

    def _route(self, environ: Environ) -> tuple[Route, str, dict[str, str]] | None:
        """The fast route the request is for, its decoded path and ids; None: Flask's."""
        if not self._open or environ.get("REQUEST_METHOD") != "GET":
            return None
        if self.app.config.get("TRUSTED_HOSTS") is not None:
            return None  # Flask checks the Host header against them
        # As werkzeug decodes the path for its router and ``request.path``.
        path = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace")
        for route in self._routes:
            match = route.pattern.fullmatch(path)
            if match is not None:
                break
        else:
            return None
        if route.conditional and any(name in environ for name in _CONDITIONAL):
            return None
        if not self._hooks_unchanged():
            self._close("the app's request hooks or signal receivers changed")
            return None
        return route, path, match.groupdict()

    def _hooks_unchanged(self) -> bool:
        for signal in _SIGNALS:
            if signal.receivers:
                return False
        app = self.app
        before, after, teardown, url_values = self._hooks
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
            log.info("fast path off: Flask answers every request", extra={"reason": why})


def unsuitable(app: Flask) -> str | None:
    """Why the fast path cannot stand in front of ``app`` (before the API is added), or None."""
    cls = type(app)
    changed = [name for name in _FLASK_METHODS if getattr(cls, name) is not getattr(Flask, name)]
    if changed:
        return f"the app's class changes {', '.join(changed)}"
    if getattr(app.wsgi_app, "__func__", None) is not Flask.wsgi_app:
        return "the app has WSGI middleware already"
    if app.url_map.host_matching or app.subdomain_matching:
        return "the app matches hosts or subdomains"
    if not Hooks.of(app).empty:
        return "the app has request hooks of its own, which need Flask"
    return None


def install(app: Flask, api: ApiState, pipeline: Pipeline) -> None:
    """Put the fast path in front of ``app``, once ``pipeline`` is installed in it."""
    app.wsgi_app = FastPath(app, api, pipeline)  # type: ignore[method-assign]

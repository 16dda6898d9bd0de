"""The request pipeline: the one ordered list of checks every request passes.

``standard_checks`` declares the list; ``Pipeline`` runs it, the same way for every
request, whoever serves it: ``Pipeline.install`` puts it into a Flask app as one
``before_request``, one ``after_request`` and one ``teardown_request`` hook, and the fast
path (``openbroker_aliyun.api.fast_path``) calls ``Pipeline.serve`` itself. A check added
to the list therefore applies to every route, fast or not.

A check has up to three parts, each optional:

- ``before(state)``, in list order before the handler: it may raise a ``BrokerError``,
  which becomes the answer (the handler and the later checks' ``before`` do not run);
- ``after(state, status, headers)``, in reverse list order on every answer, errors
  included (like middleware unwinding): it may append response headers to ``headers``;
- ``finish(state)``, in reverse order at the very end, even after a crash, for each
  check whose ``before`` passed (or that has none): to release what ``before`` took.

A check with ``osb_only`` applies to the OSB API (``/v2``) only; the others to every
request (health probes and ``/metrics`` included).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from flask import Flask, Response, g

from openbroker_aliyun import metrics
from openbroker_aliyun.api import access_log, auth, body, identity, request_state, version, wire_text
from openbroker_aliyun.api.errors import error_reply
from openbroker_aliyun.api.reply import Reply, with_body_headers
from openbroker_aliyun.api.request_state import RequestState
from openbroker_aliyun.config import BrokerSettings


@dataclass(frozen=True)
class Check:
    """One step of the pipeline (see the module's description)."""

    name: str
    before: Callable[[RequestState], None] | None = None
    after: Callable[[RequestState, int, list[tuple[str, str]]], None] | None = None
    finish: Callable[[RequestState], None] | None = None
    osb_only: bool = True


class Pipeline:
    """Runs an ordered list of checks around a request's handler."""

    def __init__(self, checks: Sequence[Check]) -> None:
        names = [check.name for check in checks]
        if len(set(names)) != len(names):
            raise ValueError(f"check names must be unique: {names}")
        self.checks = tuple(checks)

    def before(self, state: RequestState) -> None:
        """Run every check's ``before`` in order; a ``BrokerError`` stops the request."""
        osb = state.osb
        for check in self.checks:
            if check.before is not None and (osb or not check.osb_only):
                check.before(state)
            state.passed += 1

    def after(self, state: RequestState, status: int, headers: list[tuple[str, str]]) -> None:
        """Run every check's ``after`` in reverse order, on the answer ``status``; they
        append the headers they add to ``headers``."""
        osb = state.osb
        for check in reversed(self.checks):
            if check.after is not None and (osb or not check.osb_only):
                check.after(state, status, headers)

    def finish(self, state: RequestState) -> None:
        """Run the ``finish`` of every check whose ``before`` passed, in reverse order."""
        osb = state.osb
        for check in reversed(self.checks[: state.passed]):
            if check.finish is not None and (osb or not check.osb_only):
                check.finish(state)

    def serve(self, state: RequestState, handler: Callable[[], Reply]) -> Reply:
        """The whole pipeline around ``handler`` without Flask: what the fast path runs."""
        try:
            try:
                self.before(state)
                reply = handler()
            except Exception as error:  # a BrokerError, or a bug: the one error reply
                reply = error_reply(error, state)
            with_body_headers(reply)
            self.after(state, reply.status, reply.headers)
            return reply
        finally:
            self.finish(state)

    def install(self, app: Flask) -> None:
        """Run this pipeline on every request Flask serves (three hooks)."""

        def begin() -> None:
            self.before(request_state.begin_request())

        def end(response: Response) -> Response:
            added: list[tuple[str, str]] = []
            self.after(request_state.current(), response.status_code, added)
            for name, value in added:
                response.headers[name] = value
            return response

        def tear_down(error: BaseException | None) -> None:
            state: RequestState | None = g.get("osb")
            if state is not None:
                self.finish(state)

        app.before_request(begin)
        app.after_request(end)
        app.teardown_request(tear_down)


# -- the standard checks ------------------------------------------------------------------


def _log(state: RequestState, status: int, headers: list[tuple[str, str]]) -> None:
    access_log.write_line(state.method, state.path, status, state)


def _count(state: RequestState) -> None:
    metrics.request_started()


def _observe(state: RequestState, status: int, headers: list[tuple[str, str]]) -> None:
    route = state.route if state.route is not None else metrics.UNMATCHED
    metrics.observe_request(route, state.method, status, time.perf_counter() - state.started)


def _uncount(state: RequestState) -> None:
    metrics.request_finished()


def _check_encoding(state: RequestState) -> None:
    wire_text.check_encoding(state.environ)


def draining(start_driver: Callable[[], None]) -> Check:
    """The check that starts this process's engine driver on a request, unless the process
    is draining: ``start_driver`` (``DriverRunner.start_lazily``) does nothing once the
    driver was stopped here (SIGTERM), so requests still in flight never start it again.
    """

    def start(state: RequestState) -> None:
        start_driver()

    return Check("draining", before=start, osb_only=False)


def standard_checks(
    settings: BrokerSettings, *, start_driver: Callable[[], None] | None = None
) -> list[Check]:
    """The checks of every request, in order: the one declaration of the request path.

    ``start_driver``: the engine driver's lazy start (``create_app`` passes it), which
    becomes the ``draining`` check.
    """
    checks = [
        # Last to run after the answer: the log line sees the final status and ids.
        Check("log", after=_log, osb_only=False),
        Check("metrics", before=_count, after=_observe, finish=_uncount, osb_only=False),
    ]
    if start_driver is not None:
        checks.append(draining(start_driver))
    checks += [
        # Authentication first of the OSB checks: a 401 before anything is parsed.
        Check("auth", before=auth.checker(settings.credentials)),
        Check("version", before=version.read_version),
        Check("encoding", before=_check_encoding),
        Check("identity", before=identity.read_originating_identity, after=identity.echo_request_identity),
        Check("body", before=body.reader(settings.max_body_bytes)),
    ]
    return checks

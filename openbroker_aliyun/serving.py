"""``serve``: run a broker app under gunicorn, the way platforms expect.

Binds ``host:port`` (``0.0.0.0:$PORT`` by default), threaded workers
(``DrainingThreadWorker``, gunicorn's ``gthread``), a worker timeout of 55 s (below
Cloud Foundry's 60 s broker timeout) and the settings' graceful timeout (below Diego's
~10 s). SIGTERM is graceful, within that timeout: each worker closes its listening
socket at once (new connections are refused, not queued), finishes the requests in
flight and, at the same time, stops its engine driver, which finishes the step it is
running and releases its leases, so every operation goes on in the next process.

Metrics: the master turns on prometheus-client's multiprocess mode before it forks the
workers (``openbroker_aliyun.metrics.enable_multiprocess``), so ``/metrics`` answered by
any worker sums them all.

Pass a factory (``lambda: create_app(MyBroker(), settings)``) rather than an app: each
worker then builds its own engine after the fork, so no database connection is shared
between processes.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.config import Config
from gunicorn.workers.gthread import ThreadWorker

from openbroker_aliyun import metrics
from openbroker_aliyun.app import KEY as _APP_KEY
from openbroker_aliyun.app import runtime, start_driver, stop_driver
from openbroker_aliyun.config import BrokerSettings
from openbroker_aliyun.logs import configure_logging, dict_config

WORKER_TIMEOUT = 55

# The driver gets the graceful timeout less this, so that a worker whose step ends late
# still exits on its own before the master's SIGKILL.
DRIVER_STOP_MARGIN = 1.0

AppOrFactory = Flask | Callable[[], Flask]


def _our_app(worker: Any) -> Flask | None:
    """The worker's app if ``create_app`` made it (only those have a driver to run)."""
    app = getattr(worker, "wsgi", None)
    if isinstance(app, Flask) and _APP_KEY in app.extensions:
        return app
    return None


class DrainingThreadWorker(ThreadWorker):
    """gunicorn's ``gthread`` worker, stopping the way a broker should on SIGTERM.

    * It closes its listening sockets as soon as it stops accepting: ``gthread`` keeps
      them open until the requests in flight end, and the kernel queues new connections
      for a worker that will never take them; closed, they are refused at once (the
      master has closed its copy already), and a client or router tries elsewhere.
    * It sets ``stopping``, on which ``serve``'s hooks stop the engine driver while the
      requests drain rather than after them, so both fit in the graceful timeout.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stopping = threading.Event()

    def handle_exit(self, sig: int, frame: Any) -> None:
        super().handle_exit(sig, frame)
        # Only an Event here: a signal handler must not take the locks the driver uses.
        self.stopping.set()

    def set_accept_enabled(self, enabled: bool) -> None:
        super().set_accept_enabled(enabled)
        if not enabled and not self.alive:
            for listener in self.sockets:
                listener.close()


def _driver_stop_timeout(app: Flask) -> float:
    graceful = runtime(app).settings.graceful_timeout
    return max(graceful - DRIVER_STOP_MARGIN, graceful / 2)


def _stop_driver_when(stopping: threading.Event, app: Flask) -> None:
    stopping.wait()
    stop_driver(app, _driver_stop_timeout(app))


def _post_worker_init(worker: Any) -> None:
    # Runs in the worker after the fork and after the app is loaded: threads start here.
    app = _our_app(worker)
    if app is None:
        return
    start_driver(app)
    stopping = getattr(worker, "stopping", None)
    if isinstance(stopping, threading.Event):
        stopper = threading.Thread(
            target=_stop_driver_when, args=(stopping, app), name="openbroker-driver-stopper", daemon=True
        )
        stopper.start()
        worker.driver_stopper = stopper


def _worker_exit(server: Any, worker: Any) -> None:
    app = _our_app(worker)
    if app is None:
        return
    stopping = getattr(worker, "stopping", None)
    stopper = getattr(worker, "driver_stopper", None)
    if not (isinstance(stopping, threading.Event) and stopping.is_set()):
        # Exiting without SIGTERM (max requests, SIGQUIT, another worker class).
        stop_driver(app, _driver_stop_timeout(app))
    if isinstance(stopper, threading.Thread) and stopping is not None and stopping.is_set():
        # The stop SIGTERM began: the process must not end before it does.
        stopper.join(_driver_stop_timeout(app) + DRIVER_STOP_MARGIN)


def _on_starting(server: Any) -> None:
    # In the master, before any worker forks: the workers inherit the directory.
    metrics.enable_multiprocess()


def _on_exit(server: Any) -> None:
    metrics.disable_multiprocess()


def _child_exit(server: Any, worker: Any) -> None:
    # In the master: a dead worker's in-progress requests are no longer in progress.
    metrics.mark_process_dead(worker.pid)


def gunicorn_options(settings: BrokerSettings) -> dict[str, Any]:
    """The gunicorn settings ``serve`` uses (also handy for a broker's own gunicorn config)."""
    options: dict[str, Any] = {
        "bind": [f"{settings.host}:{settings.port}"],
        "workers": settings.workers,
        "threads": settings.threads,
        "worker_class": DrainingThreadWorker,
        "timeout": WORKER_TIMEOUT,
        "graceful_timeout": max(1, math.ceil(settings.graceful_timeout)),
        "accesslog": None,
        "errorlog": "-",
        "loglevel": settings.log_level.lower(),
        "logconfig_dict": dict_config(settings.log_level),
        "on_starting": _on_starting,
        "on_exit": _on_exit,
        "post_worker_init": _post_worker_init,
        "worker_exit": _worker_exit,
        "child_exit": _child_exit,
    }
    if _gunicorn_knows("control_socket_disable"):
        # gunicorn 25+ opens a control socket in $HOME by default: a broker has no use for
        # it, and several brokers (or test runs) on one host would take each other's.
        options["control_socket_disable"] = True
    return options


def _gunicorn_knows(setting: str) -> bool:
    return setting in Config().settings


class BrokerApplication(BaseApplication):
    """gunicorn's programmatic application: our options, the given app or factory."""

    def __init__(self, app: AppOrFactory, options: dict[str, Any]) -> None:
        self._app = app
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        # Called in each worker after the fork (preload is off): a factory builds there.
        return self._app if isinstance(self._app, Flask) else self._app()


def serve(app: AppOrFactory, settings: BrokerSettings | None = None, **overrides: Any) -> None:
    """Serve ``app`` (a Flask app from ``create_app``, or a factory of one) with gunicorn.

    ``settings`` default to the app's own (from ``create_app``); a factory needs them
    given. ``overrides`` are extra gunicorn settings (e.g. ``certfile``/``keyfile``).
    Blocks until gunicorn exits (SIGTERM or SIGINT).
    """
    if settings is None:
        if not isinstance(app, Flask):
            raise ValueError("serve(factory) needs the settings: serve(factory, settings)")
        settings = runtime(app).settings
    configure_logging(settings.log_level)
    try:
        BrokerApplication(app, {**gunicorn_options(settings), **overrides}).run()
    finally:
        # gunicorn's on_exit does it too, but not when the master fails to start.
        metrics.disable_multiprocess()

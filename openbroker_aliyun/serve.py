"""``serve``: run a broker app under gunicorn, the way platforms expect.

Binds ``host:port`` (``0.0.0.0:$PORT`` by default), ``gthread`` workers, a worker
timeout of 55 s (below Cloud Foundry's 60 s broker timeout) and the settings' graceful
timeout (below Diego's ~10 s). SIGTERM is graceful: gunicorn stops accepting, finishes
the requests in flight, and each worker stops its engine driver on the way out.

Pass a factory (``lambda: create_app(MyBroker(), settings)``) rather than an app: each
worker then builds its own engine after the fork, so no database connection is shared
between processes.
"""

from __future__ import annotations

import math
import sys
import types
from collections.abc import Callable
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from openbroker_aliyun.app import KEY as _APP_KEY
from openbroker_aliyun.app import runtime, start_driver, stop_driver
from openbroker_aliyun.config import BrokerSettings
from openbroker_aliyun.logs import configure_logging, dict_config

WORKER_TIMEOUT = 55

AppOrFactory = Flask | Callable[[], Flask]


def _our_app(worker: Any) -> Flask | None:
    """The worker's app if ``create_app`` made it (only those have a driver to run)."""
    app = getattr(worker, "wsgi", None)
    if isinstance(app, Flask) and _APP_KEY in app.extensions:
        return app
    return None


def _post_worker_init(worker: Any) -> None:
    # Runs in the worker after the fork and after the app is loaded: threads start here.
    app = _our_app(worker)
    if app is not None:
        start_driver(app)


def _worker_exit(server: Any, worker: Any) -> None:
    app = _our_app(worker)
    if app is not None:
        stop_driver(app)


def gunicorn_options(settings: BrokerSettings) -> dict[str, Any]:
    """The gunicorn settings ``serve`` uses (also handy for a broker's own gunicorn config)."""
    return {
        "bind": [f"{settings.host}:{settings.port}"],
        "workers": settings.workers,
        "threads": settings.threads,
        "worker_class": "gthread",
        "timeout": WORKER_TIMEOUT,
        "graceful_timeout": max(1, math.ceil(settings.graceful_timeout)),
        "accesslog": None,
        "errorlog": "-",
        "loglevel": settings.log_level.lower(),
        "logconfig_dict": dict_config(settings.log_level),
        "post_worker_init": _post_worker_init,
        "worker_exit": _worker_exit,
    }


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
    BrokerApplication(app, {**gunicorn_options(settings), **overrides}).run()


class _CallableModule(types.ModuleType):
    """``openbroker_aliyun.serve`` is both this module and the package's ``serve`` export.

    Importing a submodule sets the package attribute of the same name to the module,
    replacing the function; making the module callable keeps ``serve(...)`` working
    whichever of the two a caller got.
    """

    def __call__(self, app: AppOrFactory, settings: BrokerSettings | None = None, **overrides: Any) -> None:
        serve(app, settings, **overrides)


sys.modules[__name__].__class__ = _CallableModule

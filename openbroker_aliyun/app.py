"""``create_app``: a broker plug-in in, a Flask WSGI app serving OSB 2.17 out.

The engine's background driver (which steps async operations) is a thread, and threads
do not survive ``fork``: it is started in the serving process, lazily on the first
request (or by ``start_driver``, which ``serve`` calls in each gunicorn worker after
the fork), and stopped at exit or by ``stop_driver``.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from flask import Flask

from openbroker_aliyun.api import install_api, standard_checks
from openbroker_aliyun.broker import ServiceBroker
from openbroker_aliyun.config import BrokerSettings, load_settings
from openbroker_aliyun.engine.protocol import BrokerEngine
from openbroker_aliyun.forking import on_fork_in_child

if TYPE_CHECKING:
    from openbroker_aliyun.engine import DriverSettings

log = logging.getLogger("openbroker_aliyun.app")

KEY = "openbroker_aliyun.app"


class RunnableEngine(Protocol):
    """What ``build_engine`` returns besides the ``BrokerEngine`` calls."""

    def start(self) -> None: ...

    def stop(self, timeout: float) -> None: ...


class DriverRunner:
    """Starts an engine's driver once per process and stops it once."""

    def __init__(self, engine: RunnableEngine, stop_timeout: float) -> None:
        self._engine = engine
        self._stop_timeout = stop_timeout
        self._start_afresh()
        # A forked child (a gunicorn worker) has none of its parent's threads: it starts a
        # driver of its own. The reset runs in the child at the fork, so the hook that
        # runs on every request reads two flags instead of asking the system for its pid.
        on_fork_in_child(self, DriverRunner._start_afresh)

    def _start_afresh(self) -> None:
        self._lock = threading.Lock()  # a lock inherited from the parent may be held
        self._running = False
        # Stopped in this process: requests still draining must not start it again (see
        # ``start_lazily``).
        self._stopped = False

    @property
    def running(self) -> bool:
        return self._running

    def start(self) -> None:
        """Start the driver in this process, if not yet started here (cheap when it is)."""
        if self._running:
            return
        with self._lock:
            if self._running:
                return
            self._engine.start()
            self._running = True
            self._stopped = False
            atexit.register(self.stop)
        log.info("engine driver started", extra={"pid": os.getpid()})

    def start_lazily(self) -> None:
        """``start``, unless the driver was stopped in this process (it is shutting down)."""
        if not self._running and not self._stopped:
            self.start()

    def stop(self, timeout: float | None = None) -> None:
        """Stop the driver started in this process (finishing the step in flight)."""
        with self._lock:
            if not self._running:
                return
            self._running = False
            self._stopped = True
            atexit.unregister(self.stop)
        self._engine.stop(self._stop_timeout if timeout is None else timeout)
        log.info("engine driver stopped")


@dataclass(frozen=True)
class AppRuntime:
    """What ``create_app`` keeps on the app: its settings, engine and driver runner."""

    settings: BrokerSettings
    engine: BrokerEngine
    # None when the caller passed its own engine: its lifecycle is the caller's.
    driver: DriverRunner | None


def create_app(
    broker: ServiceBroker,
    settings: BrokerSettings | None = None,
    *,
    engine: BrokerEngine | None = None,
    driver_settings: DriverSettings | None = None,
) -> Flask:
    """Build the Flask app serving ``broker`` over OSB 2.17.

    ``settings`` default to ``load_settings(os.environ)``. Unless ``engine`` is given,
    one is built with ``build_engine`` from the settings (state store, encryption keys);
    its driver starts on the first request in the serving process and stops at exit
    (or call ``start_driver``/``stop_driver``); ``driver_settings`` tune it (poll
    interval, leases, retries). An ``engine`` passed in is used as is: starting and
    stopping it is then the caller's business.
    """
    settings = settings if settings is not None else load_settings(os.environ)
    driver: DriverRunner | None = None
    if engine is None:
        from openbroker_aliyun.engine import build_engine

        built = build_engine(
            broker,
            state_url=settings.state_url,
            encryption_keys=settings.encryption_keys,
            allow_plaintext=settings.allow_plaintext,
            run_driver=True,
            driver=driver_settings,
        )
        engine = built
        driver = DriverRunner(built, stop_timeout=settings.graceful_timeout)

    app = Flask("openbroker_aliyun")
    app.extensions[KEY] = AppRuntime(settings=settings, engine=engine, driver=driver)
    # The driver starts on a request unless it was stopped (the ``draining`` check).
    start = driver.start_lazily if driver is not None else None
    install_api(app, engine, settings, checks=standard_checks(settings, start_driver=start))
    return app


def runtime(app: Flask) -> AppRuntime:
    """The settings, engine and driver runner of an app made by ``create_app``."""
    try:
        return app.extensions[KEY]
    except KeyError:
        raise ValueError("this Flask app was not made by openbroker_aliyun.create_app") from None


def start_driver(app: Flask) -> None:
    """Start the engine driver of ``app`` in this process now (no-op for a given engine)."""
    driver = runtime(app).driver
    if driver is not None:
        driver.start()


def stop_driver(app: Flask, timeout: float | None = None) -> None:
    """Stop the engine driver of ``app`` (default timeout: the graceful timeout)."""
    driver = runtime(app).driver
    if driver is not None:
        driver.stop(timeout)

"""Real HTTP servers on loopback for tests: any WSGI app, or a whole broker.

``serve_wsgi(app)`` runs a WSGI app (a broker from ``create_app``, plain openbrokerapi,
a scripted fake) in werkzeug's threaded server on 127.0.0.1 and a free port, in a
background thread, and yields its base URL. ``broker_server(broker)`` builds the engine
and app of a ``ServiceBroker`` plug-in with throw-away settings (generated credentials
and encryption key, a SQLite state store in a temporary directory) and a fast driver,
starts the driver, serves the app, and yields the URL and an ``OSBClient`` logged in to
it. Leaving either block stops everything.
"""

from __future__ import annotations

import secrets
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, NamedTuple

if TYPE_CHECKING:
    from wsgiref.types import WSGIApplication

    from openbroker_aliyun.broker import ServiceBroker
    from openbroker_aliyun.config import BrokerSettings
    from openbroker_aliyun.engine import DriverSettings
    from openbroker_aliyun.testing.client import OSBClient


class RunningBroker(NamedTuple):
    """What ``broker_server`` yields: ``url, client = running``."""

    url: str
    client: OSBClient


@contextmanager
def serve_wsgi(app: WSGIApplication, *, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve ``app`` on ``host`` and a free port; yields ``http://host:port``."""
    from werkzeug.serving import WSGIRequestHandler, make_server

    class QuietHandler(WSGIRequestHandler):
        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            """No access log line per request: test output stays readable."""

    server = make_server(host, 0, app, threaded=True, request_handler=QuietHandler)
    # A short poll interval: shutdown() waits up to one interval, once per test.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"wsgi-{server.port}", daemon=True
    )
    thread.start()
    try:
        yield f"http://{host}:{server.port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def throwaway_settings(state_dir: str | Path, **overrides: Any) -> BrokerSettings:
    """Settings for a broker under test: fresh credentials and key, SQLite in ``state_dir``.

    ``overrides`` replace any field (e.g. ``max_body_bytes=1024``).
    """
    from openbroker_aliyun.config import BrokerSettings, Credential
    from openbroker_aliyun.store.encryption import generate_key

    values: dict[str, Any] = {
        "credentials": (Credential(username="broker-test", password=secrets.token_urlsafe(18)),),
        "state_url": f"sqlite:///{Path(state_dir) / 'state.db'}",
        "encryption_keys": (generate_key(),),
        "host": "127.0.0.1",
        "port": 0,
        "log_level": "WARNING",
    }
    values.update(overrides)
    return BrokerSettings(**values)


def fast_driver_settings() -> DriverSettings:
    """Driver settings for tests: poll and retry within milliseconds, not seconds."""
    from openbroker_aliyun.engine import DriverSettings

    return DriverSettings(
        poll_interval=0.05, lease_seconds=5.0, backoff_base=0.05, backoff_cap=0.5, default_max_duration=600.0
    )


@contextmanager
def broker_server(
    broker: ServiceBroker,
    settings: BrokerSettings | None = None,
    *,
    driver: DriverSettings | None = None,
    **client_options: Any,
) -> Iterator[RunningBroker]:
    """Serve ``broker`` over real HTTP with its engine running; yields ``(url, client)``.

    Without ``settings``, ``throwaway_settings`` in a temporary directory (removed at
    the end). ``driver`` tunes the engine's background driver (default:
    ``fast_driver_settings()``). ``client_options`` go to ``OSBClient`` (``platform``,
    ``polling``, ...); the client logs in with the settings' first credential pair.
    """
    from openbroker_aliyun.app import create_app
    from openbroker_aliyun.engine import build_engine
    from openbroker_aliyun.testing.client import OSBClient

    with tempfile.TemporaryDirectory(prefix="openbroker-test-") as state_dir:
        settings = settings if settings is not None else throwaway_settings(state_dir)
        engine = build_engine(
            broker,
            state_url=settings.state_url,
            encryption_keys=settings.encryption_keys,
            allow_plaintext=settings.allow_plaintext,
            driver=driver if driver is not None else fast_driver_settings(),
        )
        try:
            app = create_app(broker, settings, engine=engine)
            engine.start()
            with serve_wsgi(app) as url:
                credential = settings.credentials[0]
                client = OSBClient(url, credential.username, credential.password, **client_options)
                try:
                    yield RunningBroker(url, client)
                finally:
                    client.session.close()
        finally:
            engine.stop(10)
            engine.store.close()

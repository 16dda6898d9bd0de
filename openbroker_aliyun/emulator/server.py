"""Serving the emulator on loopback from a background thread (tests, a broker's ``--demo``)::

with EmulatorServer(EmulatorConfig.instant()) as server:
    url = server.url                      # http://127.0.0.1:<free port>
    ...                                   # point the SDK at it
    server.app.calls.count("CreateDBInstance")
"""

from __future__ import annotations

import logging
import threading
from types import TracebackType
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .app import EmulatorApp, create_emulator_app
from .config import EmulatorConfig
from .discard import Discarded

log = logging.getLogger("openbroker_aliyun.emulator.http")


class _QuietRequestHandler(WSGIRequestHandler):
    """Logs method and path only: the query string of an Alibaba call carries passwords."""

    def log(self, type: str, message: str, *args: Any) -> None:
        path = getattr(self, "path", "") or ""
        log.debug("%s %s", getattr(self, "command", "-"), path.split("?", 1)[0])


class EmulatorServer:
    """The emulator on a real HTTP socket, served by a daemon thread."""

    def __init__(self, config: EmulatorConfig | None = None, *, app: EmulatorApp | None = None) -> None:
        self.config = config or EmulatorConfig()
        self.app = app or create_emulator_app(self.config)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> str:
        """Listen (``config.port`` 0 picks a free port) and return the base URL."""
        if self._server is not None:
            return self.url
        self._server = make_server(
            self.config.host,
            self.config.port,
            self.app,
            threaded=True,
            request_handler=_QuietRequestHandler,
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="aliyun-emulator",
            daemon=True,
        )
        self._thread.start()
        log.info("aliyun-emulator listening on %s", self.url)
        return self.url

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the emulator server is not started")
        return int(self._server.server_port)

    @property
    def url(self) -> str:
        return f"http://{self.config.host}:{self.port}"

    def stop(self, *, discard: bool = False) -> Discarded | None:
        """Stop serving and stop the redis-server children (idempotent).

        ``discard``: in between, once no call can come in any more, remove every instance
        with what it made on the backing servers (``EmulatorApp.discard``) and return it.
        """
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            if self._thread is not None:
                self._thread.join(timeout=10)
            self._server = None
            self._thread = None
        gone = self.app.discard() if discard else None
        self.app.close()
        return gone

    def __enter__(self) -> EmulatorServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

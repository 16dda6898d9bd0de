"""pytest fixtures for broker authors, loaded automatically once the library is installed.

* ``osb_serve_wsgi``: a function ``serve(app) -> url`` that serves any WSGI app on
  127.0.0.1 and a free port until the test ends.
* ``osb_broker_server``: a function ``start(broker, settings=None, **client_options)
  -> RunningBroker`` that serves a ``ServiceBroker`` plug-in with its engine running,
  throw-away settings and a SQLite state store, and returns ``(url, client)``; the
  client is an ``OSBClient`` logged in to it. Stopped when the test ends.

Example::

    def test_provision(osb_broker_server):
        url, client = osb_broker_server(MyBroker())
        client.provision_and_wait("i-1", SERVICE_ID, PLAN_ID)

This module is imported by every pytest run in an environment where the library is
installed, so it imports nothing heavy at load time.
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import TYPE_CHECKING, Any, Callable, Iterator

import pytest

if TYPE_CHECKING:
    from wsgiref.types import WSGIApplication

    from openbroker_aliyun.broker import ServiceBroker
    from openbroker_aliyun.config import BrokerSettings
    from openbroker_aliyun.testing.servers import RunningBroker


@pytest.fixture
def osb_serve_wsgi() -> Iterator[Callable[[WSGIApplication], str]]:
    """Serve WSGI apps over real HTTP on loopback for this test; returns their URLs."""
    from openbroker_aliyun.testing.servers import serve_wsgi

    with ExitStack() as stack:

        def serve(app: WSGIApplication) -> str:
            return stack.enter_context(serve_wsgi(app))

        yield serve


@pytest.fixture
def osb_broker_server() -> Iterator[Callable[..., RunningBroker]]:
    """Serve broker plug-ins for this test; returns ``(url, client)`` for each."""
    from openbroker_aliyun.testing.servers import broker_server

    with ExitStack() as stack:

        def start(
            broker: ServiceBroker, settings: BrokerSettings | None = None, **client_options: Any
        ) -> RunningBroker:
            return stack.enter_context(broker_server(broker, settings, **client_options))

        yield start

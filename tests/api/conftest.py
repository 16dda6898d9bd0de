"""Fixtures for the HTTP tests: a real broker app on loopback, talked to with ``requests``.

``sync_api`` serves ``RecordingBroker`` through ``create_app`` (which builds the real
engine on a SQLite file); ``async_api`` serves ``AsyncRecordingBroker`` on a real engine
built with fast driver settings and handed to ``create_app``. Both are shared by the
tests of a module (each test uses fresh resource ids, see ``api_support.uid``);
``fresh_sync_api`` is a server of one's own, for tests that break it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from api_support import FAST_DRIVER, Api, Running, make_settings
from http_brokers import AsyncRecordingBroker, RecordingBroker

from openbroker_aliyun.app import create_app, stop_driver
from openbroker_aliyun.testing.servers import serve_wsgi


@contextmanager
def _sync_server(folder: Path) -> Iterator[Running]:
    settings = make_settings(folder)
    broker = RecordingBroker()
    app = create_app(broker, settings)
    try:
        with serve_wsgi(app) as url:
            yield Running(Api(url), app, broker, settings)
    finally:
        stop_driver(app, timeout=5)


@pytest.fixture(scope="module")
def sync_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    with _sync_server(tmp_path_factory.mktemp("sync")) as running:
        yield running


@pytest.fixture
def fresh_sync_api(tmp_path: Path) -> Iterator[Running]:
    with _sync_server(tmp_path) as running:
        yield running


@pytest.fixture(scope="module")
def async_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    from openbroker_aliyun.engine import DriverSettings, build_engine

    settings = make_settings(tmp_path_factory.mktemp("async"))
    broker = AsyncRecordingBroker()
    engine = build_engine(
        broker,
        state_url=settings.state_url,
        encryption_keys=settings.encryption_keys,
        driver=DriverSettings(**FAST_DRIVER),
    )
    app = create_app(broker, settings, engine=engine)
    engine.start()
    try:
        with serve_wsgi(app) as url:
            yield Running(Api(url), app, broker, settings)
    finally:
        engine.stop(5)

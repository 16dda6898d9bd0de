"""Fixtures of the transport tests (the fakes themselves are in ``aliyun_fakes``)."""

from __future__ import annotations

import threading
from typing import Any, Callable, Iterator

import pytest
import requests_mock
from aliyun_fakes import FakeTime, MockedClient, QuietHandler, Recorder, SigningServer, settings_for
from werkzeug.serving import make_server

from openbroker_aliyun.aliyun.retry import RetryPolicy
from openbroker_aliyun.aliyun.sdk_client import CallObserver, SdkAliyunClient


@pytest.fixture
def signing_server() -> Iterator[SigningServer]:
    app = SigningServer()
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    app.url = f"http://127.0.0.1:{server.port}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield app
    finally:
        if app.hold is not None:
            app.hold.set()
        server.shutdown()
        thread.join(5)


@pytest.fixture
def mocked() -> Callable[..., MockedClient]:
    """Build a client whose SDK session answers from requests-mock (no network, no sleep)."""

    def build(
        random: Callable[[], float] = lambda: 0.5,
        retry: RetryPolicy | None = None,
        on_call: CallObserver | None = None,
        **overrides: Any,
    ) -> MockedClient:
        if retry is not None:
            overrides["retry"] = retry
        fake_time = FakeTime()
        recorder = Recorder()
        client = SdkAliyunClient(
            settings_for(**overrides),
            on_call=on_call or recorder,
            sleep=fake_time.sleep,
            clock=fake_time.clock,
            random=random,
        )
        adapter = requests_mock.Adapter()
        client.session.mount("http://", adapter)
        client.session.mount("https://", adapter)
        return MockedClient(client, adapter, fake_time, recorder)

    return build

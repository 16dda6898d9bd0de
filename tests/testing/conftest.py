"""Fixtures of the test-kit tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from scripted_broker import ScriptedBroker

from openbroker_aliyun.testing.servers import serve_wsgi


@pytest.fixture
def scripted() -> Iterator[tuple[ScriptedBroker, str]]:
    broker = ScriptedBroker()
    with serve_wsgi(broker) as url:
        yield broker, url

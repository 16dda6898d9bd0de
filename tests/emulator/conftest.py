"""Fixtures of the emulator tests: emulators served on loopback, an SDK client for them."""

from __future__ import annotations

from typing import Callable, Iterator

import pytest
from emulator_sdk import Sdk

from openbroker_aliyun.emulator import EmulatorConfig, EmulatorServer, create_emulator_app


@pytest.fixture
def serve() -> Iterator[Callable[..., EmulatorServer]]:
    """Start emulators (``serve(config, clock=...)``); all are stopped after the test."""
    servers: list[EmulatorServer] = []

    def start(
        config: EmulatorConfig | None = None, *, clock: Callable[[], float] | None = None
    ) -> EmulatorServer:
        config = config or EmulatorConfig.instant()
        app = create_emulator_app(config, clock=clock) if clock else create_emulator_app(config)
        server = EmulatorServer(config, app=app)
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def emulator(serve: Callable[..., EmulatorServer]) -> EmulatorServer:
    """A metadata-only emulator with zero durations."""
    return serve()


@pytest.fixture
def sdk(emulator: EmulatorServer) -> Sdk:
    return Sdk(emulator.url)

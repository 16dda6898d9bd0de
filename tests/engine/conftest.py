"""Fixtures of the engine tests: a test broker, an engine on a fresh SQLite file."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest
from engine_testkit import FAST, EngineFactory, RecordingBroker

from openbroker_aliyun.engine import DriverSettings, Engine, build_engine
from openbroker_aliyun.store import generate_key


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'state.db'}"


@pytest.fixture
def keys() -> list[str]:
    return [generate_key()]


@pytest.fixture
def make_engine(sqlite_url: str, keys: list[str]) -> Iterator[EngineFactory]:
    """Builds engines (with their test brokers) on one store; closes them afterwards."""
    built: list[Engine] = []

    def factory(
        *,
        url: str | None = None,
        settings: DriverSettings = FAST,
        run_driver: bool = False,
        **broker_args: Any,
    ) -> tuple[Engine, RecordingBroker]:
        broker = RecordingBroker(**broker_args)
        engine = build_engine(
            broker, state_url=url or sqlite_url, encryption_keys=keys, run_driver=run_driver, driver=settings
        )
        built.append(engine)
        return engine, broker

    yield factory
    for engine in built:
        engine.close()

"""Health probes and ``/metrics`` while the state store goes away and comes back.

The store is a real PostgreSQL database that the test drops (closing the broker's
connections) and creates again: readiness follows it, liveness does not, and a scrape
still answers, saying the store is down.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import requests
from gated_broker import SERVICE_ID, SYNC_PLAN, GatedBroker
from observability_support import scrape, value, wait_for

from openbroker_aliyun.testing.servers import RunningBroker, broker_server, throwaway_settings

pytestmark = pytest.mark.services


@pytest.fixture
def on_postgres(postgres_database: str, tmp_path: Path) -> Iterator[tuple[RunningBroker, str]]:
    settings = throwaway_settings(tmp_path, state_url=postgres_database)
    with broker_server(GatedBroker(tmp_path / "gate"), settings) as running:
        yield running, postgres_database


def _database(url: str) -> str:
    return url.rsplit("/", 1)[1]


def _ready(url: str) -> int:
    return requests.get(url + "/health/ready", timeout=10).status_code


def test_ready_follows_the_state_store_and_live_does_not(
    on_postgres: tuple[RunningBroker, str], postgres_admin_url: str
) -> None:
    (url, client), state_url = on_postgres
    assert client.provision("health-1", SERVICE_ID, SYNC_PLAN).status == 201
    assert _ready(url) == 200
    assert value(scrape(url), "osb_state_store_up") == 1

    name = _database(state_url)
    with psycopg.connect(postgres_admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')

    down = requests.get(url + "/health/ready", timeout=10)
    assert down.status_code == 503
    assert down.json()["status"] == "unavailable"
    # Nothing about the database leaks to an unauthenticated caller.
    assert name not in down.text and "postgres" not in down.text.lower()
    assert requests.get(url + "/health/live", timeout=10).status_code == 200
    text = scrape(url)
    assert value(text, "osb_state_store_up") == 0
    assert value(text, "osb_operations") == 0  # no counts rather than wrong ones
    assert value(text, "osb_requests_total", endpoint="/health/ready", status="503") >= 1

    with psycopg.connect(postgres_admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    # The pool's dead connections are replaced on the next checks (bounded).
    wait_for(lambda: _ready(url) == 200, "readiness to come back")

"""Outages of a real state store: PostgreSQL and MariaDB stopped and started again.

How the store goes away: a private server (``private_servers``: its own data directory
in a temporary folder, loopback, a free port) is stopped and started again, the way a
database restart or failover looks to the broker: sessions end mid-statement, new
connections are refused, and after the restart the pool's old connections are dead. A
loopback proxy would only cut TCP; stopping the real server also exercises its shutdown
errors ("terminating connection due to administrator command", "server shutdown in
progress"). The machine's shared servers are never touched.

The broker serves over real HTTP on loopback with its state on that server, while client
threads provision, poll and deprovision in a bounded loop. Asserted: no 500 ever; every
503 carries ``Retry-After``; during the outage the log holds one line when it begins and
one when it ends (not one per request or per background retry), and the background
workers back off; every operation started completes once the store is back.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
import requests
from private_servers import PrivateMariaDB, PrivatePostgres
from store_rows import add_instance

from openbroker_aliyun.broker import Bound, Done, InProgress, ServiceBroker
from openbroker_aliyun.catalog.model import Catalog, Plan, Service
from openbroker_aliyun.domain import BindingOperation, InstanceOperation, OperationKind
from openbroker_aliyun.engine import build_engine
from openbroker_aliyun.engine.leases import utcnow
from openbroker_aliyun.store import Store, StoreUnavailable, StoreValueError, generate_key
from openbroker_aliyun.testing.client import OSBClient, OSBResponse
from openbroker_aliyun.testing.servers import broker_server, fast_driver_settings, throwaway_settings

pytestmark = pytest.mark.services

Server = PrivatePostgres | PrivateMariaDB
S = TypeVar("S", PrivatePostgres, PrivateMariaDB)

SERVICE_ID = "6d0f4c1e-2b3a-4e5f-9a7b-1c2d3e4f5a60"
PLAN_ID = "7e1a5d2f-3c4b-4f60-8b8c-2d3e4f5a6b71"
OTHER_PLAN_ID = "8f2b6e30-4d5c-4071-9c9d-3e4f5a6b7c82"

CLIENTS = 3
MAX_CYCLES = 25  # per client thread: the loop is bounded even if the test's signals never come
CALL_LIMIT = 120.0  # seconds one OSB call may keep getting 503 before the client gives up
OUTAGE = 3.0  # seconds the store stays down


class SteppingBroker(ServiceBroker):
    """Asynchronous provision (two steps), update and deprovision; synchronous bind."""

    catalog = Catalog(
        services=(
            Service(
                id=SERVICE_ID,
                name="outage",
                description="A service for state store outage tests",
                bindable=True,
                instances_retrievable=True,
                bindings_retrievable=True,
                plan_updateable=True,
                plans=(
                    Plan(id=PLAN_ID, name="small", description="Small"),
                    Plan(id=OTHER_PLAN_ID, name="large", description="Large"),
                ),
            ),
        )
    )
    async_operations = frozenset({OperationKind.PROVISION, OperationKind.UPDATE, OperationKind.DEPROVISION})

    def provision(self, op: InstanceOperation) -> InProgress | Done:
        return Done() if op.attempt > 1 else InProgress("creating", retry_after=0.05)

    def update(self, op: InstanceOperation) -> Done:
        return Done()

    def deprovision(self, op: InstanceOperation) -> Done:
        return Done()

    def bind(self, op: BindingOperation) -> Bound:
        return Bound(credentials={"token": "t-" + op.binding.id})

    def unbind(self, op: BindingOperation) -> Done:
        return Done()


@contextmanager
def running(server: S) -> Iterator[S]:
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture(scope="module")
def private_postgres() -> Iterator[PrivatePostgres]:
    with running(PrivatePostgres()) as server:
        yield server


@pytest.fixture(scope="module")
def private_mariadb() -> Iterator[PrivateMariaDB]:
    with running(PrivateMariaDB()) as server:
        yield server


@pytest.fixture(params=["postgresql", "mariadb"])
def server(request: pytest.FixtureRequest) -> Server:
    name = "private_postgres" if request.param == "postgresql" else "private_mariadb"
    found: Server = request.getfixturevalue(name)
    return found


class Records(logging.Handler):
    """The broker's log records at WARNING and above (the access log left out)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []
        self._lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        if not record.name.startswith("openbroker_aliyun.api.access"):
            with self._lock:
                self.records.append(record)

    def since(self, index: int) -> list[logging.LogRecord]:
        with self._lock:
            return self.records[index:]

    def __len__(self) -> int:
        with self._lock:
            return len(self.records)


@pytest.fixture
def broker_log() -> Iterator[Records]:
    logger = logging.getLogger("openbroker_aliyun")
    records, level = Records(), logger.level
    logger.addHandler(records)
    logger.setLevel(logging.WARNING)
    try:
        yield records
    finally:
        logger.removeHandler(records)
        logger.setLevel(level)


# ------------------------------------------------------------------ the clients


@dataclass
class Traffic:
    """Every answer the clients got, and what went wrong for them."""

    responses: list[OSBResponse] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    cycles: dict[int, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    finish: threading.Event = field(default_factory=threading.Event)

    def note(self, response: OSBResponse) -> OSBResponse:
        with self.lock:
            self.responses.append(response)
        return response

    def done_cycles(self) -> list[int]:
        with self.lock:
            return [self.cycles.get(number, 0) for number in range(CLIENTS)]


def _until_answered(traffic: Traffic, call: Callable[[], OSBResponse]) -> OSBResponse:
    """``call()`` again while it answers 503 (sooner than Retry-After asks: a test)."""
    deadline = time.monotonic() + CALL_LIMIT
    while True:
        response = traffic.note(call())
        if response.status != 503 or time.monotonic() > deadline:
            return response
        time.sleep(0.1)


def _until_finished(traffic: Traffic, client: OSBClient, instance_id: str, token: str | None) -> str:
    deadline = time.monotonic() + CALL_LIMIT
    while True:
        polled = _until_answered(traffic, lambda: client.last_operation(instance_id, operation=token))
        state = polled.json.get("state") if polled.status == 200 and isinstance(polled.json, dict) else None
        if state != "in progress" or time.monotonic() > deadline:
            return state or f"HTTP {polled.status}"
        time.sleep(0.05)


def _token(response: OSBResponse) -> str | None:
    return response.json.get("operation") if isinstance(response.json, dict) else None


def _cycle(traffic: Traffic, client: OSBClient, iid: str) -> str | None:
    """Provision, poll, fetch, deprovision, poll; what went wrong, or None."""
    created = _until_answered(traffic, lambda: client.provision(iid, SERVICE_ID, PLAN_ID))
    if created.status not in (200, 201, 202):
        return f"provision {iid}: {created.summary()}"
    outcome = _until_finished(traffic, client, iid, _token(created))
    if outcome != "succeeded":
        return f"provision {iid} ended {outcome}"
    fetched = _until_answered(traffic, lambda: client.fetch_instance(iid))
    if fetched.status != 200:
        return f"GET {iid}: {fetched.summary()}"
    deleted = _until_answered(traffic, lambda: client.deprovision(iid, SERVICE_ID, PLAN_ID))
    if deleted.status not in (200, 202, 410):
        return f"deprovision {iid}: {deleted.summary()}"
    if deleted.status == 202:
        outcome = _until_finished(traffic, client, iid, _token(deleted))
        if outcome != "succeeded":
            return f"deprovision {iid} ended {outcome}"
    return None


def _client_loop(url: str, username: str, password: str, number: int, traffic: Traffic) -> None:
    client = OSBClient(url, username, password, timeout=30.0)
    try:
        for cycle in range(MAX_CYCLES):
            if traffic.finish.is_set():
                return
            failure = _cycle(traffic, client, f"outage-{number}-{cycle}-{uuid.uuid4().hex[:6]}")
            if failure is not None:
                traffic.failures.append(failure)
                return
            with traffic.lock:
                traffic.cycles[number] = cycle + 1
    except Exception as error:  # the test reports it
        traffic.failures.append(f"client {number}: {error!r}")
    finally:
        client.session.close()


def _wait(condition: Callable[[], object], what: str, limit: float = 120.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


def _probe_every_route(client: OSBClient, url: str) -> dict[str, requests.Response | OSBResponse]:
    """One call of each kind while the store is down (an existing instance and binding)."""
    iid, bid = "probe-instance", "probe-binding"
    return {
        "catalog": client.catalog(),
        "provision": client.provision("probe-new", SERVICE_ID, PLAN_ID),
        "fetch instance": client.fetch_instance(iid),
        "update": client.update(iid, SERVICE_ID, plan_id=OTHER_PLAN_ID),
        "last_operation": client.last_operation(iid),
        "binding last_operation": client.last_operation(iid, bid),
        "bind": client.bind(iid, "probe-binding-2", SERVICE_ID, PLAN_ID),
        "fetch binding": client.fetch_binding(iid, bid),
        "unbind": client.unbind(iid, bid, SERVICE_ID, PLAN_ID),
        "deprovision": client.deprovision(iid, SERVICE_ID, PLAN_ID),
        "ready": requests.get(url + "/health/ready", timeout=30),
    }


def test_an_outage_under_load_is_answered_503_logged_once_and_loses_nothing(
    server: Server, broker_log: Records, tmp_path: Path
) -> None:
    state_url = server.create_database("osb_" + uuid.uuid4().hex[:10])
    settings = throwaway_settings(tmp_path, state_url=state_url)
    with broker_server(SteppingBroker(), settings) as (url, client):
        # What the probes need: an instance with a binding, both finished.
        client.provision_and_wait("probe-instance", SERVICE_ID, PLAN_ID)
        assert client.bind("probe-instance", "probe-binding", SERVICE_ID, PLAN_ID).status == 201
        credential = settings.credentials[0]
        traffic = Traffic()
        threads = [
            threading.Thread(
                target=_client_loop,
                args=(url, credential.username, credential.password, number, traffic),
                name=f"client-{number}",
            )
            for number in range(CLIENTS)
        ]
        for thread in threads:
            thread.start()
        try:
            _wait(lambda: min(traffic.done_cycles()) >= 1 or traffic.failures, "a cycle of every client")
            assert not traffic.failures, traffic.failures
            logged_before = len(broker_log)
            before = traffic.done_cycles()

            server.stop()
            probes = _probe_every_route(client, url)
            time.sleep(OUTAGE)  # the clients keep calling meanwhile
            server.start()

            _wait(
                lambda: (
                    traffic.failures
                    or all(now > then + 1 for now, then in zip(traffic.done_cycles(), before, strict=True))
                ),
                "every client to finish two cycles after the outage",
            )
            during = broker_log.since(logged_before)
        finally:
            traffic.finish.set()
            for thread in threads:
                thread.join(CALL_LIMIT)
        assert not any(thread.is_alive() for thread in threads)

        assert not traffic.failures, traffic.failures
        # Every route that needs the store said so, with Retry-After; the catalog did not.
        ready = probes.pop("ready")
        assert isinstance(ready, requests.Response)
        assert ready.status_code == 503 and ready.headers["Retry-After"] == "5"
        assert ready.json()["state_store"] == "unreachable"
        for what, answer in probes.items():
            assert isinstance(answer, OSBResponse)
            if what == "catalog":
                assert answer.status == 200, what
                continue
            assert answer.status == 503, (what, answer.summary())
            assert answer.retry_after == 5, what
            assert "unreachable" in (answer.description or ""), what
        # The clients met the outage too, and never a 500.
        statuses = [response.status for response in traffic.responses]
        assert 503 in statuses
        assert all(status < 500 or status == 503 for status in statuses), sorted(set(statuses))
        assert all(response.retry_after for response in traffic.responses if response.status == 503)

        # Two lines about the outage, whatever the number of failed calls.
        messages = [record.getMessage() for record in during]
        assert sum(message == "state store unreachable" for message in messages) == 1, messages
        back = [record for record in during if message_starts(record, "state store reachable again")]
        assert len(back) == 1, messages
        assert back[0].__dict__["failed_calls"] > len(messages)
        assert len(messages) <= 4, messages

    # Nothing lost: no operation left in progress, every client instance deleted.
    store = Store.open(state_url, encryption_keys=settings.encryption_keys, migrate=False)
    try:
        counts = store.operation_counts()
        assert not [key for key, number in counts.items() if key[1] == "in progress" and number], counts
    finally:
        store.close()


def message_starts(record: logging.LogRecord, text: str) -> bool:
    return record.getMessage().startswith(text)


def test_background_workers_back_off_while_the_store_is_down(
    private_postgres: PrivatePostgres, broker_log: Records
) -> None:
    """No requests: only the driver (polling every 50 ms) and the lease keeper call."""
    state_url = private_postgres.create_database("osb_" + uuid.uuid4().hex[:10])
    engine = build_engine(
        SteppingBroker(), state_url=state_url, encryption_keys=[generate_key()], driver=fast_driver_settings()
    )
    engine.start()
    try:
        _wait(lambda: engine.driver_running, "the driver to start")
        logged_before = len(broker_log)
        private_postgres.stop()
        time.sleep(OUTAGE)
        private_postgres.start()
        # Nothing else calls the store: the driver's next attempt ends the outage.
        _wait(lambda: not engine.store.outage.down and len(broker_log) > logged_before + 1, "the recovery")
        during = broker_log.since(logged_before)
    finally:
        engine.close()
    messages = [record.getMessage() for record in during]
    assert messages[0] == "state store unreachable", messages
    assert messages[1].startswith("state store reachable again"), messages
    assert len(messages) == 2, messages
    # Polling every 50 ms without backing off would have made ~60 attempts.
    assert during[1].__dict__["failed_calls"] <= 10


def test_every_store_call_is_unavailable_while_the_server_is_down(
    server: Server, broker_log: Records
) -> None:
    state_url = server.create_database("osb_" + uuid.uuid4().hex[:10])
    store = Store.open(state_url, encryption_keys=[generate_key()])
    try:
        add_instance(store, "before")
        assert store.operation_lookup("before", None, None).instance_found  # a pooled connection
        logged_before = len(broker_log)
        server.stop()
        now = utcnow()
        calls: dict[str, Callable[[], Any]] = {
            "lookup": lambda: store.operation_lookup("before", None, None),
            "read": lambda: store.read(lambda reader: reader.instance("before")),
            "transact": lambda: add_instance(store, "during"),
            "claim_due": lambda: store.claim_due("me", now, now + timedelta(seconds=5), 5),
            "renew": lambda: store.renew("me", ["x"], now),
            "release": lambda: store.release("x", "me"),
            "purge": lambda: store.purge(now),
            "counts": store.operation_counts,
        }
        for what, call in calls.items():
            with pytest.raises(StoreUnavailable) as raised:
                call()
            assert "unreachable" in str(raised.value), what
        assert store.ping() is False
        assert store.outage.down
        server.start()
        assert store.ping() is True
        assert not store.outage.down
        assert store.operation_lookup("before", None, None).instance_found
    finally:
        store.close()
    messages = [record.getMessage() for record in broker_log.since(logged_before)]
    assert len(messages) == 2 and messages[0] == "state store unreachable", messages


def test_mariadb_without_strict_mode_still_refuses_a_value_too_long() -> None:
    """A server whose sql_mode is empty would cut a 300-character id to 255 silently."""
    with running(PrivateMariaDB("--sql-mode=")) as server:
        store = Store.open(server.create_database("osb_lenient"), encryption_keys=[generate_key()])
        try:
            with pytest.raises(StoreValueError) as raised:
                add_instance(store, "x" * 300)
            assert (raised.value.statement, raised.value.table) == ("INSERT", "osb_instances")
            assert store.read(lambda reader: reader.instance("x" * 255)) is None
        finally:
            store.close()

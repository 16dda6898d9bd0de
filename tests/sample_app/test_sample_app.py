"""examples/sample_app against real bindings, as on Cloud Foundry.

The rds-broker and redis-broker provision and bind a database and a Redis on the emulator
(backed by the real MariaDB/PostgreSQL and real redis-server processes) through the
platform-like client; the test kit builds ``VCAP_SERVICES`` as the Cloud Controller does;
the app runs under gunicorn with its manifest's command and that environment. Over HTTP it
must write and read notes; the rows and the counter must really be in the bound services;
after a restart with file-based ``VCAP_SERVICES`` they must still be there; after unbind
the stale credentials no longer start it; after deprovision nothing is left.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pymysql
import pytest
import redis
from backing_services import MYSQL_HOST, MYSQL_PORT, PG_ADMIN_URL
from sample_app_support import (
    KEY_ID,
    KEY_SECRET,
    broker_catalogs,
    failed_start,
    run_app,
    serve_broker,
)

from openbroker_aliyun.emulator import EmulatorConfig, EmulatorServer
from openbroker_aliyun.testing.client import OSBClient
from openbroker_aliyun.testing.profiles import CloudFoundryProfile
from openbroker_aliyun.testing.vcap import VcapBinding, build_vcap_services

pytestmark = [pytest.mark.services, pytest.mark.slow]

NOTES = ["first note", "ünïcode 🙂, 'quotes'; DROP TABLE notes; --"]


@pytest.fixture
def emulator(mysql_admin_url: str, postgres_admin_url: str, redis_server: str) -> Iterator[EmulatorServer]:
    config = EmulatorConfig.instant(
        access_keys={KEY_ID: KEY_SECRET},
        mysql_url=mysql_admin_url,
        postgres_url=postgres_admin_url,
        redis=True,
        redis_server_binary=redis_server,
    )
    with EmulatorServer(config) as server:
        yield server


def _service(catalog: dict[str, Any], name: str, plan_name: str) -> tuple[str, str]:
    service = next(s for s in catalog["services"] if s["name"] == name)
    return service["id"], next(p["id"] for p in service["plans"] if p["name"] == plan_name)


def _db_rows(kind: str, credentials: dict[str, Any]) -> list[str]:
    """The notes, read with the binding's separate keys (not its ``uri``), as another client would."""
    if kind == "mysql":
        conn = pymysql.connect(
            host=credentials["host"],
            port=int(credentials["port"]),
            user=credentials["username"],
            password=credentials["password"],
            database=credentials["database"],
        )
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT text FROM notes ORDER BY id")
                return [row[0] for row in cur.fetchall()]
        finally:
            conn.close()
    with psycopg.connect(
        host=credentials["host"],
        port=int(credentials["port"]),
        user=credentials["username"],
        password=credentials["password"],
        dbname=credentials["database"],
        connect_timeout=5,
    ) as conn:
        return [row[0] for row in conn.execute("SELECT text FROM notes ORDER BY id").fetchall()]


def _server_leftovers(kind: str, names: set[str]) -> set[str]:
    """Which of ``names`` (databases, users/roles) still exist on the real server."""
    if kind == "mysql":
        conn = pymysql.connect(host=MYSQL_HOST, port=MYSQL_PORT, user="root", password="")
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT schema_name FROM information_schema.schemata")
                found = {row[0] for row in cur.fetchall()}
                cur.execute("SELECT user FROM mysql.user")
                found |= {row[0] for row in cur.fetchall()}
        finally:
            conn.close()
    else:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            found = {row[0] for row in conn.execute("SELECT datname FROM pg_database").fetchall()}
            found |= {row[0] for row in conn.execute("SELECT rolname FROM pg_roles").fetchall()}
    return names & found


@pytest.mark.parametrize(
    ("kind", "offering"), [("mysql", "aliyun-rds-mysql"), ("postgresql", "aliyun-rds-postgresql")]
)
def test_sample_app_uses_real_bindings(
    kind: str, offering: str, emulator: EmulatorServer, tmp_path: Path
) -> None:
    profile = CloudFoundryProfile()  # one org, space and app, as both bindings are for one app
    with (
        serve_broker("rds", emulator.url, tmp_path / "rds-state", profile) as rds,
        serve_broker("redis", emulator.url, tmp_path / "redis-state", profile) as kv,
    ):
        catalog = broker_catalogs(rds.client, kv.client)
        db_service, db_plan = _service(catalog, offering, "basic-small")
        kv_service, kv_plan = _service(catalog, "aliyun-redis", "standard-256mb")
        db = _Bound(rds.client, db_service, db_plan, "notes-db")
        cache = _Bound(kv.client, kv_service, kv_plan, "notes-cache")
        for bound in (db, cache):
            bound.create()
        vcap = build_vcap_services(catalog, [db.vcap(), cache.vcap()])
        assert set(vcap) == {offering, "aliyun-redis"}
        secrets_ = [KEY_SECRET] + [
            bound.credentials[key] for bound in (db, cache) for key in ("password", "uri")
        ]
        output = tmp_path / "app.log"

        # -- VCAP_SERVICES in the environment: write and read through the app.
        with run_app({"VCAP_SERVICES": json.dumps(vcap)}, output) as app:
            health = app.get("/health")
            assert health.status_code == 200, app.output()
            assert health.json() == {"status": "UP", "database": "UP", "redis": "UP"}
            written = [app.post("/notes", json={"text": text}) for text in NOTES]
            assert [r.status_code for r in written] == [201, 201]
            assert [r.json()["written"] for r in written] == [1, 2]
            assert [r.json()["text"] for r in written] == NOTES
            listed = app.get("/notes").json()
            assert [note["text"] for note in listed["notes"]] == NOTES
            assert [note["id"] for note in listed["notes"]] == [r.json()["id"] for r in written]
            assert listed["written"] == 2

            # Bad input: a clear 400 in JSON, and nothing written.
            for body in ({}, {"text": ""}, {"text": 7}, {"text": "x" * 1001}):
                refused = app.post("/notes", json=body)
                assert refused.status_code == 400 and "text" in refused.json()["error"]
            not_json = app.post("/notes", data="text=hi", headers={"Content-Type": "text/plain"})
            assert not_json.status_code == 400
            for limit in ("lots", "0", "²", "1001"):
                assert app.get("/notes", params={"limit": limit}).status_code == 400
            assert [n["text"] for n in app.get("/notes", params={"limit": "1"}).json()["notes"]] == NOTES[:1]
            missing = app.get("/nowhere")
            assert missing.status_code == 404 and missing.json()["error"]
            assert app.get("/notes").json() == listed  # nothing written by the refused calls

        # -- The data is in the bound services, not somewhere of the app's own.
        assert _db_rows(kind, db.credentials) == NOTES
        with redis.Redis.from_url(cache.credentials["uri"], socket_timeout=5) as direct:
            assert direct.get("notes:written") == b"2"

        # -- Restarted with file-based VCAP_SERVICES: the same notes, the counter goes on.
        vcap_file = tmp_path / "vcap_services.json"
        vcap_file.write_text(json.dumps(vcap), encoding="utf-8")
        vcap_file.chmod(0o600)
        with run_app({"VCAP_SERVICES_FILE_PATH": str(vcap_file)}, output) as app:
            assert [note["text"] for note in app.get("/notes").json()["notes"]] == NOTES
            assert app.post("/notes", json={"text": "after restart"}).json()["written"] == 3

        # -- Unbound: the stale credentials no longer start the app, and it says why.
        for bound in (db, cache):
            bound.unbind()
        code, text = failed_start({"VCAP_SERVICES": json.dumps(vcap)}, tmp_path / "stale.log")
        assert code != 0
        assert "cannot use the database of notes-db" in text and "Traceback" not in text
        with (
            pytest.raises(redis.AuthenticationError),
            redis.Redis.from_url(cache.credentials["uri"], socket_timeout=5) as stale,
        ):
            stale.ping()

        # -- Deprovisioned: nothing left in the emulator, on the SQL server, or running.
        for bound in (db, cache):
            bound.deprovision()
        tagged = [
            instance
            for product in emulator.app.instances().values()
            for instance in product
            if instance["Tags"].get("openbroker-instance") in (db.instance_id, cache.instance_id)
        ]
        assert tagged == []
        names = {db.credentials["database"], db.credentials["username"]}
        assert _server_leftovers(kind, names) == set()
        processes = emulator.app.redis_processes()
        assert processes is not None and processes.running() == {}
        with (
            pytest.raises(redis.ConnectionError),
            redis.Redis.from_url(cache.credentials["uri"], socket_timeout=5) as gone,
        ):
            gone.ping()

        logs = output.read_text(encoding="utf-8") + text
        assert f"using database notes-db ({offering}) and redis notes-cache" in logs
        assert '"POST /notes HTTP/1.1" 201' in logs  # gunicorn's access log, as on CF
        for secret in secrets_:
            assert secret not in logs


class _Bound:
    """One service instance and its app binding, made and removed as the Cloud Controller does."""

    def __init__(self, client: OSBClient, service_id: str, plan_id: str, instance_name: str) -> None:
        self.client, self.service_id, self.plan_id = client, service_id, plan_id
        self.instance_name = instance_name
        self.instance_id, self.binding_id = str(uuid.uuid4()), str(uuid.uuid4())
        self.body: dict[str, Any] = {}

    @property
    def credentials(self) -> dict[str, Any]:
        return dict(self.body["credentials"])

    def create(self) -> None:
        self.client.provision_and_wait(
            self.instance_id, self.service_id, self.plan_id, instance_name=self.instance_name
        )
        self.body = self.client.bind_and_wait(
            self.instance_id, self.binding_id, self.service_id, self.plan_id
        ).body

    def vcap(self) -> VcapBinding:
        return VcapBinding(
            service_id=self.service_id,
            plan_id=self.plan_id,
            instance_id=self.instance_id,
            instance_name=self.instance_name,
            binding_id=self.binding_id,
            binding=self.body,
        )

    def unbind(self) -> None:
        self.client.unbind_and_wait(self.instance_id, self.binding_id, self.service_id, self.plan_id)

    def deprovision(self) -> None:
        self.client.deprovision_and_wait(self.instance_id, self.service_id, self.plan_id)

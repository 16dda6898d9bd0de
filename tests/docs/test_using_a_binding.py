"""docs/using-a-binding.md: every Python and Node.js snippet works against real bindings.

The page marks each runnable snippet with ``<!-- snippet: NAME -->`` on the line before
its fenced block; ``CASES`` below says how each name runs and what it must leave behind,
and the two must name the same snippets. The rds-broker and redis-broker provision and
bind a MySQL, a PostgreSQL and a Redis on the emulator backed by the real MariaDB,
PostgreSQL and ``redis-server`` (once per module). The test kit puts the credentials
where the platform does: ``VCAP_SERVICES`` as the Cloud Controller builds it
(``openbroker_aliyun.testing.vcap``), or servicebinding.io folders as the kubelet writes
them (``openbroker_aliyun.testing.servicebinding``). Each snippet runs unchanged in a
subprocess (the venv's Python; ``node`` with the packages of tests/docs/node, installed by
``npm ci`` once per session), and then this test reads the service itself with its own
client: what the snippet printed must really be in the bound database or Redis.

Nothing is mocked. Java is not run: Maven Central is out of reach of the build machines.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pymysql
import pytest
import redis
from aliyun_brokers.common.settings import CloudBrokerSettings
from aliyun_brokers.rds.broker import RdsBroker
from aliyun_brokers.rds.settings import RdsSettings
from aliyun_brokers.redis.broker import RedisBroker
from backing_services import (
    MYSQL_ADMIN_URL,
    MYSQL_HOST,
    MYSQL_PORT,
    PG_ADMIN_URL,
    PG_HOST,
    PG_PORT,
    REDIS_HOST,
    REDIS_PORT,
    missing,
    require_redis_server,
    require_service,
)
from broker_harness import emulator, running_broker, settings_for_tests

from openbroker_aliyun.testing.client import OSBClient
from openbroker_aliyun.testing.servicebinding import project_bindings
from openbroker_aliyun.testing.vcap import VcapBinding, build_vcap_services

pytestmark = [pytest.mark.services, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "using-a-binding.md"
NODE_DIR = ROOT / "tests" / "docs" / "node"
KEY_ID, KEY_SECRET = "docs-binding-key", "docs-binding-SECRET-1a2b3c4d"

SNIPPET = re.compile(
    r"^<!-- snippet: (?P<name>[a-z0-9-]+) -->\n```(?P<lang>python|javascript)\n(?P<code>.*?)^```$",
    re.MULTILINE | re.DOTALL,
)
OFFERINGS = {"mysql": "aliyun-rds-mysql", "postgresql": "aliyun-rds-postgresql", "redis": "aliyun-redis"}
PLANS = {"mysql": "basic-small", "postgresql": "basic-small", "redis": "standard-256mb"}
# What Cloud Foundry also sets for every app (a subset; node's cfenv reads it).
VCAP_APPLICATION = {"application_name": "orders-app", "application_uris": [], "space_name": "dev"}


@dataclass(frozen=True)
class Case:
    """How a snippet runs: ``python``, ``node`` or ``django`` (a settings module), against
    which bindings (``mysql``, ``postgresql``, ``redis``), found through ``VCAP_SERVICES``
    or servicebinding.io files; ``wrote`` is the text it must leave in the service."""

    runner: str
    services: tuple[str, ...]
    wrote: str
    source: str = "vcap"


CASES = {
    "python-sqlalchemy": Case("python", ("mysql", "postgresql"), "hello from SQLAlchemy"),
    "python-psycopg": Case("python", ("postgresql",), "hello from psycopg"),
    "python-pymysql": Case("python", ("mysql",), "hello from PyMySQL"),
    "python-redis": Case("python", ("redis",), "hello from redis-py"),
    "python-django-settings": Case("django", ("mysql", "postgresql"), "hello from Django"),
    "python-servicebinding": Case(
        "python", ("mysql", "postgresql"), "hello from a binding folder", source="files"
    ),
    "node-pg": Case("node", ("postgresql",), "hello from node-postgres"),
    "node-mysql2": Case("node", ("mysql",), "hello from mysql2"),
    "node-ioredis": Case("node", ("redis",), "hello from ioredis"),
}
RUNS = [(name, service) for name, case in CASES.items() for service in case.services]

# Runs the page's Django settings module as Django would, then writes and reads through
# the ORM's connection: the settings are the snippet, this is only the app around them.
DJANGO_APP = """
import django
django.setup()
from django.db import connection, transaction
with transaction.atomic(), connection.cursor() as cursor:
    cursor.execute("CREATE TABLE IF NOT EXISTS greetings (text VARCHAR(100))")
    cursor.execute("INSERT INTO greetings (text) VALUES (%s)", ["hello from Django"])
with connection.cursor() as cursor:
    cursor.execute("SELECT text FROM greetings")
    print([row[0] for row in cursor.fetchall()], connection.vendor)
"""


def page_snippets() -> dict[str, tuple[str, str]]:
    """Name → (language, code) of every marked snippet on the page."""
    found: dict[str, tuple[str, str]] = {}
    for match in SNIPPET.finditer(PAGE.read_text(encoding="utf-8")):
        assert match["name"] not in found, f"two snippets named {match['name']}"
        found[match["name"]] = (match["lang"], match["code"])
    return found


# ------------------------------------------------------------------------- bindings


@dataclass(frozen=True)
class Bound:
    """One binding made through a broker: what the platform knows of it, and its body."""

    kind: str
    vcap: VcapBinding

    @property
    def credentials(self) -> dict[str, Any]:
        return dict(self.vcap.binding["credentials"])


@dataclass(frozen=True)
class Bindings:
    catalog: dict[str, Any]
    bound: dict[str, Bound]

    def vcap_services(self, kinds: tuple[str, ...]) -> str:
        return json.dumps(build_vcap_services(self.catalog, [self.bound[kind].vcap for kind in kinds]))


def _bind(client: OSBClient, catalog: dict[str, Any], kind: str) -> Bound:
    """Provision and bind as the Cloud Controller does (``cf create-service``, ``cf bind-service``)."""
    service = next(s for s in catalog["services"] if s["name"] == OFFERINGS[kind])
    plan = next(p for p in service["plans"] if p["name"] == PLANS[kind])
    instance_id, binding_id = str(uuid.uuid4()), str(uuid.uuid4())
    name = f"{kind}-db" if kind != "redis" else "cache"
    client.provision_and_wait(instance_id, service["id"], plan["id"], instance_name=name)
    body = client.bind_and_wait(instance_id, binding_id, service["id"], plan["id"]).body
    return Bound(kind, VcapBinding(service["id"], plan["id"], instance_id, name, binding_id, body))


def _unbind(client: OSBClient, bound: Bound) -> None:
    """Unbind and deprovision, so that nothing is left on the real servers."""
    vcap = bound.vcap
    client.unbind_and_wait(vcap.instance_id, vcap.binding_id, vcap.service_id, vcap.plan_id)
    client.deprovision_and_wait(vcap.instance_id, vcap.service_id, vcap.plan_id)


@pytest.fixture(scope="module")
def bindings() -> Iterator[Bindings]:
    """A MySQL, a PostgreSQL and a Redis binding made by the real brokers; removed after."""
    require_service("MariaDB", MYSQL_HOST, MYSQL_PORT)
    require_service("PostgreSQL", PG_HOST, PG_PORT)
    require_service("Redis", REDIS_HOST, REDIS_PORT)
    redis_server = require_redis_server()

    def rds_settings(url: str, state_dir: str) -> RdsSettings:
        return settings_for_tests(RdsSettings, url, state_dir, key_id=KEY_ID, key_secret=KEY_SECRET)

    def redis_settings(url: str, state_dir: str) -> CloudBrokerSettings:
        return settings_for_tests(CloudBrokerSettings, url, state_dir, key_id=KEY_ID, key_secret=KEY_SECRET)

    # Module scope runs before tests/conftest.py's per-test proxy removal: do it here.
    with pytest.MonkeyPatch.context() as patch:
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
            patch.delenv(name, raising=False)
        with (
            emulator(
                "rds",
                KEY_ID,
                KEY_SECRET,
                mysql_url=MYSQL_ADMIN_URL,
                postgres_url=PG_ADMIN_URL,
                redis=True,
                redis_server_binary=redis_server,
            ) as cloud,
            running_broker(RdsBroker, None, cloud.url, rds_settings) as rds,
            running_broker(RedisBroker, None, cloud.url, redis_settings) as kv,
        ):
            clients = {"mysql": rds.client, "postgresql": rds.client, "redis": kv.client}
            # One catalog with both brokers' offerings, as the Cloud Controller holds it.
            catalog = {
                "services": rds.client.catalog().json["services"] + kv.client.catalog().json["services"]
            }
            made: dict[str, Bound] = {}
            try:
                for kind, client in clients.items():
                    made[kind] = _bind(client, catalog, kind)
                yield Bindings(catalog, made)
            finally:
                for kind, bound in made.items():
                    _unbind(clients[kind], bound)


# ----------------------------------------------------------------------------- node


@pytest.fixture(scope="session")
def node_modules() -> Path:
    """tests/docs/node/node_modules from its package-lock.json (``npm ci``, once per run)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        missing("node and npm are not installed", "install Node.js 20 or later")
    assert node is not None and npm is not None  # missing() never returns
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout
    if int(version.strip().lstrip("v").split(".")[0]) < 20:  # ioredis 6 needs 20
        missing(f"node is {version.strip()}, older than 20", "install Node.js 20 or later")
    stamp = NODE_DIR / "node_modules" / ".installed-for"
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID") or uuid.uuid4().hex
    # xdist workers share the folder: one installs, the others find its stamp.
    with open(Path(tempfile.gettempdir()) / "openbroker-docs-npm.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (stamp.is_file() and stamp.read_text(encoding="utf-8") == run):
            result = subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund", "--prefer-offline"],
                cwd=NODE_DIR,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            if result.returncode != 0:
                output = f"{result.stdout}\n{result.stderr}"
                missing(f"npm ci in {NODE_DIR} failed:\n{output}", "make the npm registry reachable")
            stamp.write_text(run, encoding="utf-8")
    return NODE_DIR / "node_modules"


# ---------------------------------------------------------------------------- tests


def test_every_snippet_on_the_page_has_a_case() -> None:
    snippets = page_snippets()
    assert set(snippets) == set(CASES), "docs/using-a-binding.md's snippets and CASES differ"
    for name, (language, _) in snippets.items():
        assert (language == "javascript") == (CASES[name].runner == "node"), name


@pytest.mark.parametrize(("name", "kind"), RUNS, ids=[f"{name}-{kind}" for name, kind in RUNS])
def test_snippet_works_with_a_real_binding(
    name: str, kind: str, bindings: Bindings, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    case, (_, code) = CASES[name], page_snippets()[name]
    credentials = bindings.bound[kind].credentials
    assert case.wrote not in _stored(kind, credentials), "the service already holds the text"

    env = _app_env()
    database = kind if kind != "redis" else "mysql"
    if case.source == "files":
        bound = {b.vcap.instance_name: b.credentials for b in (bindings.bound[kind], bindings.bound["redis"])}
        env["SERVICE_BINDING_ROOT"] = str(project_bindings(tmp_path / "bindings", bound))
    else:
        env["VCAP_SERVICES"] = bindings.vcap_services((database, "redis"))
        env["VCAP_APPLICATION"] = json.dumps(VCAP_APPLICATION)
    if case.runner == "node":
        script = tmp_path / f"{name}.js"
        env["NODE_PATH"] = str(request.getfixturevalue("node_modules"))
        argv = [str(shutil.which("node")), str(script)]
    elif case.runner == "django":
        script = tmp_path / "app.py"
        (tmp_path / "snippet_settings.py").write_text(code, encoding="utf-8")
        env["DJANGO_SETTINGS_MODULE"] = "snippet_settings"
        code = DJANGO_APP
        argv = [sys.executable, str(script)]
    else:
        script = tmp_path / f"{name}.py"
        argv = [sys.executable, str(script)]
    script.write_text(code, encoding="utf-8")

    result = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{name} failed on {kind}:\n{output}"
    assert case.wrote in result.stdout, output  # what it read back
    assert case.wrote in _stored(kind, credentials)  # and it is really in the service
    assert credentials["password"] not in output


def _app_env() -> dict[str, str]:
    """This process's environment without what a platform sets or a proxy would change."""
    dropped = ("VCAP_", "SERVICE_BINDING_ROOT", "DJANGO_", "NODE_", "DATABASE_URL")
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(dropped) and key.lower() not in ("http_proxy", "https_proxy", "all_proxy")
    }


def _stored(kind: str, credentials: dict[str, Any]) -> list[str]:
    """What is in the bound service, read with this test's own client and the binding's keys."""
    if kind == "redis":
        client = redis.Redis(
            host=credentials["host"],
            port=int(credentials["port"]),
            username=credentials.get("username"),
            password=credentials["password"],
            db=int(credentials["database"]),
            socket_timeout=5,
            decode_responses=True,
        )
        with client:
            return [str(client.get("greeting") or "")]
    login = {
        "host": credentials["host"],
        "port": int(credentials["port"]),
        "user": credentials["username"],
        "password": credentials["password"],
        "connect_timeout": 5,
    }
    query = "SELECT text FROM greetings"
    if kind == "mysql":
        conn = pymysql.connect(database=credentials["database"], **login)
        with conn, conn.cursor() as cursor:
            cursor.execute("SHOW TABLES LIKE 'greetings'")
            if not cursor.fetchall():
                return []
            cursor.execute(query)
            return [row[0] for row in cursor.fetchall()]
    with psycopg.connect(dbname=credentials["database"], **login) as pg:
        if pg.execute("SELECT to_regclass('greetings')").fetchone() == (None,):
            return []
        return [row[0] for row in pg.execute(query).fetchall()]

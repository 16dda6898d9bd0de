"""``rds-broker --demo`` as a real process: it leaves nothing behind, takes the settings it
should, and prints a banner and text log lines.

Everything is real: the console script in a subprocess (its own process group, so the
signal is the one a terminal or a platform sends), the emulator inside it backed by the
real MariaDB and PostgreSQL, OSB over HTTP. Each demo gets its own ``TMPDIR``, so that any
folder it leaves there (its state, the emulator's) is seen.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pymysql
import pytest
import requests
from aliyun_brokers.common.cli import run
from aliyun_brokers.rds.cli import COMMAND
from backing_services import MYSQL_HOST, MYSQL_PORT, unique_name
from broker_harness import TEXT_LOG_LINE, Demo, assert_readable_output, demo, demo_env
from rds_harness import MYSQL, POSTGRES, plan_id

from openbroker_aliyun.store.encryption import generate_key
from openbroker_aliyun.testing.client import OSBClient, PollingPolicy

RDS_BROKER = str(Path(sys.executable).with_name("rds-broker"))
POLLING = PollingPolicy(interval=0.2, interval_cap=0.5, max_duration=60)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- the real servers -------------------------------------------------------------------------


@dataclass(frozen=True)
class Names:
    """Databases and logins on one server."""

    databases: frozenset[str]
    logins: frozenset[str]


def _mysql_names() -> Names:
    conn = pymysql.connect(host=MYSQL_HOST, port=MYSQL_PORT, user="root", password="", autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA")
            databases = frozenset(row[0] for row in cur.fetchall())
            cur.execute("SELECT User FROM mysql.user")
            logins = frozenset(row[0] for row in cur.fetchall())
    finally:
        conn.close()
    return Names(databases, logins)


def _postgres_names(admin_url: str) -> Names:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        databases = frozenset(row[0] for row in conn.execute("SELECT datname FROM pg_database"))
        logins = frozenset(row[0] for row in conn.execute("SELECT rolname FROM pg_roles"))
    return Names(databases, logins)


def _roles_granted_to(admin_url: str, role: str) -> set[str]:
    query = (
        "SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid "
        "JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = %s"
    )
    with psycopg.connect(admin_url, autocommit=True) as conn:
        return {row[0] for row in conn.execute(query, (role,))}


@contextmanager
def _others(postgres_admin_url: str) -> Iterator[str]:
    """A database and a login on each server that the demo did not make (dropped after)."""
    name = unique_name("keep")
    mysql = pymysql.connect(host=MYSQL_HOST, port=MYSQL_PORT, user="root", password="", autocommit=True)
    with mysql.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}`")
        cur.execute(f"CREATE USER '{name}'@'%' IDENTIFIED BY 'x-{uuid.uuid4().hex}'")
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
        conn.execute(f'CREATE ROLE "{name}" LOGIN')
    try:
        yield name
    finally:
        with mysql.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
            cur.execute(f"DROP USER IF EXISTS '{name}'@'%'")
        mysql.close()
        with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'DROP ROLE IF EXISTS "{name}"')


def _provision_and_bind(running: Demo, service: Any) -> dict[str, Any]:
    client = OSBClient(running.url, running.username, running.password, polling=POLLING)
    instance_id, small = str(uuid.uuid4()), plan_id(service, "basic-small")
    client.provision_and_wait(instance_id, service.id, small)
    credentials = client.bind_and_wait(instance_id, str(uuid.uuid4()), service.id, small).credentials
    client.session.close()
    assert credentials is not None
    return credentials


def _emulated(running: Demo) -> list[dict[str, Any]]:
    """The demo's RDS instances, from its emulator's admin API."""
    emulator_url = running.banner.split("an in-process emulator at ")[1].split()[0]
    with requests.Session() as session:
        session.trust_env = False
        return list(session.get(f"{emulator_url}/_emulator/instances", timeout=10).json()["rds"])


# -- tests ------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.services
@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_demo_removes_what_it_made_on_the_servers_and_nothing_else(
    stop_signal: int, mysql_admin_url: str, postgres_admin_url: str, tmp_path: Path
) -> None:
    command = [
        RDS_BROKER,
        "--demo",
        "--port",
        "0",
        "--demo-mysql-url",
        mysql_admin_url,
        "--demo-postgres-url",
        postgres_admin_url,
    ]
    with _others(postgres_admin_url) as kept:
        with demo(command, demo_env(tmp_path), stop_signal) as running:
            made, owner_roles = _provision_bind_and_look(running, postgres_admin_url)
        assert running.returncode == 0, running.output
        assert "demo stopped" in running.farewell and "removed" in running.farewell
        assert list(tmp_path.iterdir()) == [], "the demo left a folder in TMPDIR"
        after = {"mysql": _mysql_names(), "postgres": _postgres_names(postgres_admin_url)}
        for server, names in made.items():
            assert not names.databases & after[server].databases, server
            assert not names.logins & after[server].logins, server
        assert not owner_roles & after["postgres"].logins
        for server in ("mysql", "postgres"):
            assert kept in after[server].databases and kept in after[server].logins
    assert_readable_output(running)


def _provision_bind_and_look(running: Demo, postgres_admin_url: str) -> tuple[dict[str, Names], set[str]]:
    """Provision and bind a MySQL and a PostgreSQL instance at once; check that their databases
    and logins are on the real servers. Returns them by server, and the PostgreSQL owner roles."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        mysql, postgres = pool.map(lambda service: _provision_and_bind(running, service), (MYSQL, POSTGRES))
    on_servers = {"mysql": _mysql_names(), "postgres": _postgres_names(postgres_admin_url)}
    instances = _emulated(running)
    assert sorted(i["Engine"] for i in instances) == ["MySQL", "PostgreSQL"]
    made: dict[str, Names] = {}
    for instance in instances:
        server = "mysql" if instance["Engine"] == "MySQL" else "postgres"
        names = Names(
            frozenset(instance["Databases"]),
            frozenset(account["AccountName"] for account in instance["Accounts"]),
        )
        assert names.databases and names.logins and instance["Backed"]
        assert names.databases <= on_servers[server].databases
        assert names.logins <= on_servers[server].logins
        made[server] = names
    assert mysql["username"] in made["mysql"].logins
    assert postgres["username"] in made["postgres"].logins
    # Shared ownership: a role the broker itself made on the instance, not an account.
    owner_roles = _roles_granted_to(postgres_admin_url, postgres["username"])
    assert owner_roles and not owner_roles & made["postgres"].logins
    return made, owner_roles


def test_demo_takes_port_and_credentials_from_config_and_state_url_from_environment(tmp_path: Path) -> None:
    demo_tmp, kept = tmp_path / "tmp", tmp_path / "kept"
    demo_tmp.mkdir()
    kept.mkdir()
    port, password = _free_port(), f"pw-{uuid.uuid4().hex}"
    config = kept / "broker.yml"
    config.write_text(
        f"port: {port}\ncredentials: [{{username: platform, password: {password}}}]\nbroker_id: mine\n"
        # The demo's own: ignored, not refused.
        "vpc_id: vpc-real\nregion_id: cn-beijing\n"
    )
    state = kept / "state.db"
    env = {
        **demo_env(demo_tmp),
        "BROKER_STATE_URL": f"sqlite:///{state}",
        "BROKER_ENCRYPTION_KEYS": generate_key(),
        "BROKER_LOG_LEVEL": "DEBUG",
    }
    with demo([RDS_BROKER, "--demo", "--config", str(config)], env) as running:
        assert running.url == f"http://127.0.0.1:{port}"
        assert running.username == "platform"
        assert password not in running.output, "a password the user gave is not echoed"
        assert "(yours: kept at exit" in running.banner
        client = OSBClient(running.url, "platform", password, polling=POLLING)
        assert client.catalog().status == 200
        assert OSBClient(running.url, "platform", "wrong").catalog().status == 401
        instance_id, small = str(uuid.uuid4()), plan_id(MYSQL, "basic-small")
        client.provision_and_wait(instance_id, MYSQL.id, small)
        client.session.close()
    assert running.returncode == 0, running.output
    assert any(TEXT_LOG_LINE.match(line) and " DEBUG " in line for line in running.output.splitlines())
    assert state.is_file(), "a state store the settings named stays"
    assert list(demo_tmp.iterdir()) == []
    assert_readable_output(running)


def test_demo_refuses_a_bad_setting_and_cleans_up(tmp_path: Path) -> None:
    env = {**demo_env(tmp_path), "BROKER_LOG_LEVEL": "LOUD"}
    result = _run([RDS_BROKER, "--demo", "--port", "0"], env)
    assert result[0] == 78
    assert "BROKER_LOG_LEVEL" in result[1] and "check-config" not in result[1]
    assert list(tmp_path.iterdir()) == []


def test_demo_refuses_a_port_in_use_and_cleans_up(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _run([RDS_BROKER, "--demo", "--port", str(port)], demo_env(tmp_path))
    assert result[0] == 78
    assert f"cannot listen on 127.0.0.1:{port}" in result[1] and "Traceback" not in result[1]
    assert list(tmp_path.iterdir()) == []


def _run(command: list[str], env: dict[str, str]) -> tuple[int, str]:
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)
    return done.returncode, done.stderr


def test_demo_refuses_an_endpoint_of_its_own(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        run(COMMAND, ["--demo", "--aliyun-endpoint", "http://127.0.0.1:1"], environ={})
    assert exited.value.code == 2
    assert "--aliyun-endpoint does not go with --demo" in capsys.readouterr().err

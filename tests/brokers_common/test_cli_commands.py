"""``rds-broker`` and ``redis-broker`` as real processes: ``check-config``, ``migrate``,
``--version``, and ``serve``'s refusal of a bad configuration before gunicorn starts.

Every command runs as the installed console script, against the project's Alibaba Cloud
emulator served on loopback (the real V1 SDK signs the calls) and a real SQLite file or
database server.
"""

from __future__ import annotations

import importlib.metadata
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest
import requests

from openbroker_aliyun.emulator import EmulatorConfig, EmulatorServer
from openbroker_aliyun.preflight import Status, store_check
from openbroker_aliyun.store.encryption import generate_key
from openbroker_aliyun.store.migrate import head_revision
from openbroker_aliyun.store.tables import VERSION_TABLE

BIN = Path(sys.executable).parent
COMMANDS = {"rds-broker": "rds", "redis-broker": "r-kvstore"}
KEY_ID = "cli-commands-key"
KEY_SECRET = "cli-commands-SECRET-5q7w"
ENCRYPTION_KEY = generate_key()


@pytest.fixture(scope="module")
def cloud() -> Iterator[str]:
    """The Alibaba Cloud emulator, knowing one AccessKey pair; yields its URL."""
    server = EmulatorServer(EmulatorConfig.instant(access_keys={KEY_ID: KEY_SECRET}))
    url = server.start()
    yield url
    server.stop()


def environment(
    tmp_path: Path, endpoint: str = "https://rds.example.invalid", **changes: str
) -> dict[str, str]:
    """The environment of a broker with every setting valid; ``changes`` (value "" removes)."""
    drop = ("PROXY", "BROKER_", "ALIBABA_CLOUD_", "RDS_", "PORT")
    env = {key: value for key, value in os.environ.items() if not any(part in key.upper() for part in drop)}
    env.update(
        {
            "BROKER_USERNAME": "platform",
            "BROKER_PASSWORD": "broker-password-3",
            "BROKER_ENCRYPTION_KEYS": ENCRYPTION_KEY,
            "BROKER_STATE_URL": f"sqlite:///{tmp_path / 'state.db'}",
            "ALIBABA_CLOUD_ACCESS_KEY_ID": KEY_ID,
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET": KEY_SECRET,
            "ALIBABA_CLOUD_REGION_ID": "cn-hangzhou",
            "ALIBABA_CLOUD_ENDPOINT": endpoint,
            "BROKER_VPC_ID": "vpc-1",
            "BROKER_VSWITCH_ID": "vsw-1",
            "BROKER_ZONE_ID": "cn-hangzhou-h",
            "BROKER_SECURITY_IPS": "10.0.0.0/8",
        }
    )
    env.update(changes)
    return {key: value for key, value in env.items() if value != ""}


def cli(name: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(BIN / name), *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert "Traceback" not in result.stderr + result.stdout
    for secret in (KEY_SECRET, ENCRYPTION_KEY, "broker-password-3"):
        assert secret not in result.stderr + result.stdout
    return result


def lines(result: subprocess.CompletedProcess[str], status: str) -> list[str]:
    return [line for line in result.stdout.splitlines() if line.startswith(status)]


# -- check-config -----------------------------------------------------------------------------


def test_check_config_lists_every_bad_setting_at_once(tmp_path: Path) -> None:
    env = environment(
        tmp_path,
        PORT="eighty",
        BROKER_WORKERS="0",
        BROKER_ID="Not Valid",
        BROKER_SECURITY_IPS="0.0.0.0/0",
        ALIBABA_CLOUD_REGION_ID="",
    )
    result = cli("rds-broker", "check-config", env=env)
    assert result.returncode == 78
    failed = "\n".join(lines(result, "FAILED  settings:"))
    for named in (
        "PORT",
        "BROKER_WORKERS",
        "BROKER_ID",
        "BROKER_ALLOW_PUBLIC_ACCESS",
        "ALIBABA_CLOUD_REGION_ID",
    ):
        assert named in failed, named
    assert len(lines(result, "FAILED  settings:")) == 5
    # The checks that do not need those settings ran all the same.
    assert lines(result, "ok      encryption keys:")
    assert result.stdout.rstrip().endswith("rds-broker check-config: 6 problems")  # + not migrated


@pytest.mark.parametrize(
    ("second_key", "named"),
    [(None, "BROKER_ENCRYPTION_KEYS is not set"), ("not-a-key-x9", "key #2 is not a Fernet key")],
    ids=["missing", "invalid"],
)
def test_missing_or_invalid_encryption_keys_exit_78_without_a_traceback(
    tmp_path: Path, second_key: str | None, named: str
) -> None:
    keys = "" if second_key is None else f"{ENCRYPTION_KEY},{second_key}"
    env = environment(tmp_path, BROKER_ENCRYPTION_KEYS=keys)
    checked = cli("rds-broker", "check-config", "--offline", env=env)
    assert checked.returncode == 78
    assert named in "\n".join(lines(checked, "FAILED  encryption keys:"))
    served = cli("rds-broker", "--offline", env=env)
    assert served.returncode == 78
    assert served.stderr.startswith("rds-broker: refusing to start:") and named in served.stderr
    assert "not-a-key-x9" not in checked.stdout + served.stderr


def test_an_unreachable_state_store_exits_78(tmp_path: Path) -> None:
    env = environment(tmp_path, BROKER_STATE_URL="postgresql://postgres@127.0.0.1:1/x")
    checked = cli("rds-broker", "check-config", "--offline", env=env)
    assert checked.returncode == 78
    [line] = lines(checked, "FAILED  state store:")
    assert "127.0.0.1:1" in line and "unreachable" in line
    served = cli("rds-broker", "serve", env=env)
    assert served.returncode == 78 and "unreachable" in served.stderr


def test_serve_refuses_a_bad_configuration_before_gunicorn_starts(tmp_path: Path) -> None:
    env = environment(tmp_path, BROKER_ENCRYPTION_KEYS="", BROKER_VPC_ID="", BROKER_LOG_LEVEL="DEBUG")
    result = cli("redis-broker", env=env)
    assert result.returncode == 78
    problems = [line for line in result.stderr.splitlines() if line.startswith("  - ")]
    assert len(problems) == 2
    assert "BROKER_VPC_ID" in problems[0] and "BROKER_ENCRYPTION_KEYS" in problems[1]
    assert "gunicorn" not in (result.stdout + result.stderr).lower()
    assert not (tmp_path / "state.db").exists()  # nothing was created either


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_migrate_then_check_config_passes_against_the_emulator(tmp_path: Path, cloud: str, name: str) -> None:
    env = environment(tmp_path, endpoint=cloud)
    before = cli(name, "check-config", env=env)
    assert before.returncode == 78
    [not_migrated] = lines(before, "FAILED  state store:")
    assert f"run `{name} migrate`" in not_migrated
    assert not (tmp_path / "state.db").exists()  # check-config migrates nothing

    migrated = cli(name, "migrate", env=env)
    assert migrated.returncode == 0
    assert f"from revision (none) to {head_revision()}" in migrated.stdout
    again = cli(name, "migrate", env=env)
    assert again.returncode == 0 and "already" in again.stdout

    passed = cli(name, "check-config", env=env)
    assert passed.returncode == 0, passed.stdout
    assert [line.split(":")[0].split(None, 1)[1] for line in passed.stdout.splitlines()[:-1]] == [
        "settings",
        "encryption keys",
        "state store",
        "catalog",
        "Alibaba Cloud",
    ]
    assert all(line.startswith("ok") for line in passed.stdout.splitlines()[:-1])
    assert f"{COMMANDS[name]} DescribeRegions accepted the credentials" in passed.stdout


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_wrong_alibaba_credentials_fail_check_config_and_offline_skips_the_call(
    tmp_path: Path, cloud: str, name: str
) -> None:
    env = environment(tmp_path, endpoint=cloud)
    assert cli(name, "migrate", env=env).returncode == 0
    wrong = {**env, "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "not-the-secret-2k"}
    refused = cli(name, "check-config", env=wrong)
    assert refused.returncode == 78
    [line] = lines(refused, "FAILED  Alibaba Cloud:")
    # Alibaba's code (the signature made with the wrong secret does not match), and a hint.
    assert "was refused: SignatureDoesNotMatch" in line and "ALIBABA_CLOUD_ACCESS_KEY_SECRET" in line
    assert "not-the-secret-2k" not in refused.stdout
    offline = cli(name, "check-config", "--offline", env=wrong)
    assert offline.returncode == 0
    assert "skipped Alibaba Cloud: --offline" in offline.stdout
    # serve asks too: Alibaba refusing the credentials stops the start.
    served = cli(name, "serve", env=wrong)
    assert served.returncode == 78 and "SignatureDoesNotMatch" in served.stderr


def test_a_region_alibaba_does_not_list_fails(tmp_path: Path, cloud: str) -> None:
    env = environment(tmp_path, endpoint=cloud, ALIBABA_CLOUD_REGION_ID="cn-nowhere")
    assert cli("rds-broker", "migrate", env=env).returncode == 0
    result = cli("rds-broker", "check-config", env=env)
    assert result.returncode == 78
    [line] = lines(result, "FAILED  Alibaba Cloud:")
    assert "'cn-nowhere'" in line and "ALIBABA_CLOUD_REGION_ID" in line


# -- flags ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_version_prints_the_installed_version(name: str) -> None:
    result = cli(name, "--version", env=dict(os.environ))
    assert result.returncode == 0
    assert result.stdout.strip() == f"{name} {importlib.metadata.version('openbroker-aliyun')}"


def test_the_config_file_is_read_before_or_after_the_subcommand(tmp_path: Path) -> None:
    config = tmp_path / "broker.yml"
    config.write_text("vpc_id: vpc-from-file\nbroker_id: Bad_From_File\n")
    env = environment(tmp_path, BROKER_VPC_ID="")
    for args in (("--config", str(config), "check-config"), ("check-config", "--config", str(config))):
        result = cli("rds-broker", *args, "--offline", env=env)
        assert result.returncode == 78
        [line] = lines(result, "FAILED  settings:")
        assert "BROKER_ID" in line  # the file's broker_id was read, and its vpc_id too


@pytest.mark.slow
def test_serve_offline_starts_without_asking_alibaba(tmp_path: Path, cloud: str) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = environment(
        tmp_path, endpoint=cloud, ALIBABA_CLOUD_ACCESS_KEY_SECRET="not-the-secret-2k", BROKER_WORKERS="1"
    )
    log = tmp_path / "serve.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [str(BIN / "rds-broker"), "serve", "--offline", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            for _ in range(600):  # bounded: a loaded machine takes a while to import everything
                assert process.poll() is None, log.read_text()[-2000:]
                try:
                    if requests.get(f"http://127.0.0.1:{port}/health/live", timeout=1).status_code == 200:
                        break
                except requests.ConnectionError:
                    time.sleep(0.1)
            else:
                raise AssertionError("rds-broker serve --offline did not start")
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=60)
    assert (tmp_path / "state.db").exists()  # migrated at start, as before


@pytest.mark.services
@pytest.mark.parametrize("server", ["postgres_database", "mysql_database"])
def test_migrate_then_check_config_on_a_database_server(
    tmp_path: Path, request: pytest.FixtureRequest, server: str
) -> None:
    env = environment(tmp_path, BROKER_STATE_URL=str(request.getfixturevalue(server)))
    before = cli("rds-broker", "check-config", "--offline", env=env)
    assert before.returncode == 78
    [line] = lines(before, "FAILED  state store:")
    assert "holds no schema: not migrated; run `rds-broker migrate`" in line
    assert cli("rds-broker", "migrate", env=env).returncode == 0
    after = cli("rds-broker", "check-config", "--offline", env=env)
    assert after.returncode == 0, after.stdout
    assert f"schema at revision {head_revision()}" in "\n".join(lines(after, "ok      state store:"))


def test_a_schema_newer_than_this_version_fails_the_check_and_the_start(tmp_path: Path) -> None:
    env = environment(tmp_path)
    assert cli("rds-broker", "migrate", env=env).returncode == 0
    with sqlite3.connect(tmp_path / "state.db") as connection:
        connection.execute(f"UPDATE {VERSION_TABLE} SET version_num = 'from-the-future'")
    for check in (
        store_check(env["BROKER_STATE_URL"], require_head=True, migrate_hint="rds-broker migrate"),
        store_check(env["BROKER_STATE_URL"], require_head=False, migrate_hint="rds-broker migrate"),
    ):
        assert check.status is Status.FAILED
        assert "revision from-the-future, which this version does not know" in check.detail

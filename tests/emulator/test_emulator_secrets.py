"""Secrets (account passwords, AccessKey secrets, backing-server passwords) stay out of logs,
errors and reprs; a failing backing server gives a clear error and changes nothing."""

from __future__ import annotations

import logging
from typing import Callable

import pytest
from emulator_sdk import MYSQL_INSTANCE, PASSWORD, REDIS_INSTANCE, SECRET, Sdk, kv, rds

from openbroker_aliyun.emulator import EmulatorConfig, EmulatorServer
from openbroker_aliyun.emulator.backends.base import BackendError
from openbroker_aliyun.emulator.backends.mysql import MySqlBackend


def test_no_secret_in_any_log_record(
    serve: Callable[..., EmulatorServer], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server = serve()
    sdk = Sdk(server.url)
    instance_id = sdk.call(rds("CreateDBInstance", **MYSQL_INSTANCE))["DBInstanceId"]
    sdk.call(rds("CreateAccount", DBInstanceId=instance_id, AccountName="app", AccountPassword=PASSWORD))
    sdk.call(
        rds(
            "ResetAccountPassword",
            DBInstanceId=instance_id,
            AccountName="app",
            AccountPassword="N3w!passw0rd",
        )
    )
    sdk.error(
        rds("CreateAccount", DBInstanceId=instance_id, AccountName="bad", AccountPassword="weak-but-secret")
    )
    sdk.call(kv("CreateInstance", Password=PASSWORD, **REDIS_INSTANCE))
    Sdk(server.url, secret="wrong-secret").error(rds("DescribeDBInstances"))
    # The SDK's own DEBUG log shows request parameters (the broker's transport must keep it
    # quiet); here we check the emulator's and its HTTP server's records.
    ours = [r for r in caplog.records if r.name.startswith(("openbroker_aliyun", "werkzeug"))]
    assert any("CreateAccount" in r.getMessage() for r in ours)  # the calls were logged...
    everything = "".join(f"{r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in ours)
    for secret in (PASSWORD, "N3w!passw0rd", "weak-but-secret", SECRET, "wrong-secret"):
        assert secret not in everything  # ...without any secret


def test_reprs_hide_secrets() -> None:
    config = EmulatorConfig(
        access_keys={"ak": "very-secret"}, mysql_url="mysql://root:dbpass-123@127.0.0.1:3306/"
    )
    assert "very-secret" not in repr(config) and "dbpass-123" not in repr(config)
    assert "dbpass-123" not in repr(MySqlBackend("mysql://root:dbpass-123@127.0.0.1:3306/"))


def test_backend_errors_are_scrubbed() -> None:
    error = BackendError.from_exception(
        "CREATE USER", RuntimeError(f"bad statement with {PASSWORD}\nmore"), (PASSWORD,)
    )
    assert PASSWORD not in str(error) and "CREATE USER failed: RuntimeError" in str(error)


def test_an_unreachable_backing_server_is_an_internal_error_without_state_change(
    serve: Callable[..., EmulatorServer],
) -> None:
    server = serve(EmulatorConfig.instant(mysql_url="mysql://root:dbpass-123@127.0.0.1:1/"))
    sdk = Sdk(server.url)
    instance_id = sdk.call(rds("CreateDBInstance", **MYSQL_INSTANCE))["DBInstanceId"]
    error = sdk.error(
        rds("CreateAccount", DBInstanceId=instance_id, AccountName="app", AccountPassword=PASSWORD)
    )
    assert (error.get_error_code(), error.get_http_status()) == ("InternalError", 500)
    assert "backing server" in error.get_error_msg()
    assert PASSWORD not in error.get_error_msg() and "dbpass-123" not in error.get_error_msg()
    accounts = sdk.call(rds("DescribeAccounts", DBInstanceId=instance_id))["Accounts"]["DBInstanceAccount"]
    assert accounts == []

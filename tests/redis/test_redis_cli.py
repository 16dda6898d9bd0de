"""``redis-broker``: refuses bad settings with a clear message; ``--demo`` serves with nothing set up."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from aliyun_brokers.common.cli import EXIT_CONFIG, run
from aliyun_brokers.redis.cli import COMMAND, main
from broker_harness import demo

from openbroker_aliyun.testing.client import OSBClient

ENVIRONMENT = {
    "BROKER_USERNAME": "broker",
    "BROKER_PASSWORD": "a-broker-password",
    "BROKER_ENCRYPTION_KEYS": "",
    "ALIBABA_CLOUD_ACCESS_KEY_ID": "an-id",
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "cli-test-SECRET-9z8y",
    "ALIBABA_CLOUD_REGION_ID": "cn-hangzhou",
    "BROKER_VPC_ID": "vpc-1",
    "BROKER_VSWITCH_ID": "vsw-1",
    "BROKER_ZONE_ID": "cn-hangzhou-h",
    "BROKER_SECURITY_IPS": "10.0.0.0/8",
}


def test_missing_settings_are_named(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(COMMAND, [], environ={}) == EXIT_CONFIG
    error = capsys.readouterr().err
    assert error.startswith("redis-broker: refusing to start:") and "BROKER_USERNAME" in error


def test_an_instance_open_to_the_world_needs_the_operator_to_say_so(
    capsys: pytest.CaptureFixture[str],
) -> None:
    environ = {**ENVIRONMENT, "BROKER_SECURITY_IPS": "0.0.0.0/0", "BROKER_ALLOW_PLAINTEXT_STATE": "true"}
    assert run(COMMAND, [], environ=environ) == EXIT_CONFIG
    error = capsys.readouterr().err
    assert "BROKER_SECURITY_IPS" in error and "BROKER_ALLOW_PUBLIC_ACCESS" in error
    assert "cli-test-SECRET-9z8y" not in error


def test_a_broken_operator_catalog_stops_the_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text("services: []\n")
    environ = {
        **ENVIRONMENT,
        "BROKER_ALLOW_PLAINTEXT_STATE": "true",
        "BROKER_CATALOG_FILE": str(catalog),
        "BROKER_STATE_URL": f"sqlite:///{tmp_path / 'state.db'}",
    }
    assert run(COMMAND, [], environ=environ) == EXIT_CONFIG
    assert "refusing to start" in capsys.readouterr().err


def test_main_is_the_console_script() -> None:
    assert callable(main)
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0


@pytest.mark.slow
def test_demo_serves_the_redis_catalog() -> None:
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    with demo([sys.executable, "-m", "aliyun_brokers.redis.cli", "--demo", "--port", "0"], env) as running:
        assert "cf enable-service-access aliyun-redis" in running.banner
        client = OSBClient(running.url, running.username, running.password)
        catalog = client.catalog()
        assert catalog.status == 200
        assert [service["name"] for service in catalog.json["services"]] == ["aliyun-redis"]
        client.session.close()
    assert running.returncode == 0
    assert "demo stopped" in running.farewell

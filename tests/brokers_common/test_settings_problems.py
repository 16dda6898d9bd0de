"""Every settings problem at once: the loader lists each field's parse error, each missing
setting and the checks of ``__post_init__`` (the framework's and the Alibaba brokers'),
instead of stopping at the first (eight restarts to find the minimum settings)."""

from __future__ import annotations

from pathlib import Path

import pytest
from aliyun_brokers.common.settings import CloudBrokerSettings
from test_common_settings import BASE_ENV, SECRET

from openbroker_aliyun.config import BrokerSettings, ConfigError, Credential

GOOD = BASE_ENV  # every setting valid (state in clear text)


def test_parse_errors_missing_settings_and_checks_are_listed_together() -> None:
    env = {
        **GOOD,
        "PORT": "eighty",  # a parse error
        "BROKER_WORKERS": "0",  # the framework's check
        "BROKER_LOG_LEVEL": "chatty",  # the framework's check
        "BROKER_ID": "Not Valid",  # the Alibaba brokers' check
        "BROKER_SECURITY_IPS": "0.0.0.0/0",  # the whitelist guard (its text holds "; ")
    }
    del env["BROKER_VPC_ID"]  # missing
    with pytest.raises(ConfigError) as caught:
        CloudBrokerSettings.from_sources(env)
    problems = caught.value.problems
    for named in (
        "PORT",
        "BROKER_VPC_ID",
        "BROKER_WORKERS",
        "BROKER_LOG_LEVEL",
        "BROKER_ID",
        "BROKER_ALLOW_PUBLIC_ACCESS",
    ):
        assert sum(named in problem for problem in problems) >= 1, named
    assert len(problems) == 6
    assert str(caught.value) == "Invalid settings: " + "; ".join(problems)
    assert SECRET not in str(caught.value)


def test_a_missing_setting_is_named_once_not_again_by_the_checks_it_breaks() -> None:
    env = {key: value for key, value in GOOD.items() if key not in ("BROKER_USERNAME", "BROKER_PASSWORD")}
    env.pop("ALIBABA_CLOUD_REGION_ID")
    reading = CloudBrokerSettings.read_sources(env)
    assert reading.settings is None
    assert len(reading.problems) == 2
    assert reading.problems[0].startswith("Missing setting credentials")
    assert reading.problems[1].startswith("Missing setting region_id")


def test_the_file_and_the_environment_are_read_to_the_end(tmp_path: Path) -> None:
    file = tmp_path / "broker.yml"
    file.write_text("vpc_idd: typo\nrefresh_seconds: soon\nbroker_id: from-file\n")
    reading = CloudBrokerSettings.read_sources({**GOOD, "BROKER_THREADS": "-1"}, file)
    text = "\n".join(reading.problems)
    assert "`vpc_idd`" in text and "`refresh_seconds`" in text and "BROKER_THREADS" in text
    assert len(reading.problems) == 3
    # What parsed is there for the checks of single settings (keys, state store).
    assert reading.values["broker_id"] == "from-file"
    assert reading.values["state_url"] == "sqlite:///openbroker.db"


def test_an_override_wins_over_a_bad_environment_value() -> None:
    settings = CloudBrokerSettings.from_sources({**GOOD, "PORT": "eighty"}, overrides={"port": 9000})
    assert settings.port == 9000


def test_an_unreadable_file_is_the_one_problem_reported_about_the_file(tmp_path: Path) -> None:
    reading = CloudBrokerSettings.read_sources(GOOD, tmp_path / "absent.yml")
    assert reading.settings is None
    assert len(reading.problems) == 1 and "Cannot read the settings file" in reading.problems[0]


def test_settings_built_in_code_list_every_problem_too() -> None:
    with pytest.raises(ConfigError) as caught:
        BrokerSettings(credentials=[Credential("a:b", "")], port=70000, workers=0)
    assert caught.value.problems == (
        "Broker credentials need a non-empty username and password",
        "A broker username must not contain ':'",
        "port (PORT) must be between 0 and 65535",
        "workers (BROKER_WORKERS) and threads (BROKER_THREADS) must be at least 1",
    )
    assert str(caught.value).startswith("Invalid settings: Broker credentials")

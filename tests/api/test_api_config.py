"""Settings: YAML file plus environment, env wins; clear errors; secrets never shown."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from openbroker_aliyun.config import (
    BrokerSettings,
    ConfigError,
    Credential,
    load_settings,
    parse_str,
    setting,
)

SECRET = "Sup3r-Secret-Value-81"
ENV = {"BROKER_USERNAME": "admin", "BROKER_PASSWORD": SECRET}


def test_defaults_from_the_environment_alone() -> None:
    settings = load_settings(ENV)
    assert settings.credentials == (Credential("admin", SECRET),)
    assert settings.state_url == "sqlite:///openbroker.db"
    assert settings.encryption_keys == ()
    assert settings.allow_plaintext is False
    assert (settings.host, settings.port) == ("0.0.0.0", 8080)  # noqa: S104 - the default under test
    assert settings.max_body_bytes == 1024 * 1024
    assert settings.log_level == "INFO"
    assert settings.graceful_timeout == 8.0
    assert (settings.workers, settings.threads) == (2, 4)


def test_every_env_var_is_read() -> None:
    env = {
        **ENV,
        "BROKER_CREDENTIALS": '[{"username": "next", "password": "p2"}]',
        "BROKER_STATE_URL": "postgresql+psycopg://u:pw@db/state",
        "BROKER_ENCRYPTION_KEYS": "k1, k2,",
        "BROKER_ALLOW_PLAINTEXT_STATE": "true",
        "BROKER_HOST": "127.0.0.1",
        "PORT": "9090",
        "BROKER_MAX_BODY_BYTES": "2048",
        "BROKER_LOG_LEVEL": "debug",
        "BROKER_GRACEFUL_TIMEOUT": "5.5",
        "BROKER_WORKERS": "3",
        "BROKER_THREADS": "8",
    }
    settings = load_settings(env)
    assert settings.credentials == (Credential("admin", SECRET), Credential("next", "p2"))
    assert settings.state_url == "postgresql+psycopg://u:pw@db/state"
    assert settings.encryption_keys == ("k1", "k2")
    assert settings.allow_plaintext is True
    assert (settings.host, settings.port, settings.max_body_bytes) == ("127.0.0.1", 9090, 2048)
    assert settings.log_level == "DEBUG"
    assert settings.graceful_timeout == 5.5
    assert (settings.workers, settings.threads) == (3, 8)


def test_file_then_env_overrides(tmp_path: Path) -> None:
    file = tmp_path / "broker.yaml"
    file.write_text(
        "credentials:\n"
        "  - {username: file-user, password: file-pass}\n"
        "  - {username: rotated, password: rotated-pass}\n"
        "port: 7000\n"
        "encryption_keys: [a, b]\n"
        "allow_plaintext: false\n"
        "log_level: warning\n"
    )
    from_file = load_settings({}, file)
    assert [c.username for c in from_file.credentials] == ["file-user", "rotated"]
    assert from_file.port == 7000 and from_file.encryption_keys == ("a", "b")
    assert from_file.log_level == "WARNING"

    merged = load_settings({**ENV, "PORT": "7001"}, str(file))
    assert merged.credentials == (Credential("admin", SECRET),)
    assert merged.port == 7001
    assert merged.encryption_keys == ("a", "b")


def test_missing_credentials_name_the_env_var_and_file_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings({})
    message = str(raised.value)
    assert "BROKER_USERNAME" in message and "BROKER_PASSWORD" in message and "`credentials`" in message
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    with pytest.raises(ConfigError, match="BROKER_USERNAME"):
        load_settings({}, empty)


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"BROKER_USERNAME": "only-user"}, "BROKER_PASSWORD"),
        ({"BROKER_PASSWORD": SECRET}, "BROKER_USERNAME"),
        ({**ENV, "PORT": "eighty"}, "PORT"),
        ({**ENV, "PORT": "70000"}, "PORT"),
        ({**ENV, "BROKER_ALLOW_PLAINTEXT_STATE": "maybe"}, "BROKER_ALLOW_PLAINTEXT_STATE"),
        ({**ENV, "BROKER_LOG_LEVEL": "chatty"}, "BROKER_LOG_LEVEL"),
        ({**ENV, "BROKER_WORKERS": "0"}, "BROKER_WORKERS"),
        ({**ENV, "BROKER_GRACEFUL_TIMEOUT": "-1"}, "BROKER_GRACEFUL_TIMEOUT"),
        ({**ENV, "BROKER_MAX_BODY_BYTES": "0"}, "BROKER_MAX_BODY_BYTES"),
        ({**ENV, "BROKER_CREDENTIALS": '[{"username": "x", "password": "' + SECRET}, "BROKER_CREDENTIALS"),
        ({**ENV, "BROKER_CREDENTIALS": '{"username": "x"}'}, "BROKER_CREDENTIALS"),
        ({"BROKER_USERNAME": "a:b", "BROKER_PASSWORD": SECRET}, "':'"),
    ],
)
def test_invalid_env_names_the_variable_never_the_secret(env: dict[str, str], names: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(env)
    assert names in str(raised.value)
    assert SECRET not in str(raised.value)


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("port: [1]\n", "`port`"),
        ("colour: blue\n", "`colour`"),
        ("- a list\n", "mapping"),
        ("credentials: {username: u}\n", "`credentials`"),
        ("credentials: [{username: u, password: 3}]\n", "`credentials`"),
        ("port: : :\n", "not valid YAML"),
    ],
)
def test_invalid_file_names_the_key(tmp_path: Path, text: str, names: str) -> None:
    file = tmp_path / "bad.yaml"
    file.write_text(text)
    with pytest.raises(ConfigError) as raised:
        load_settings(ENV, file)
    assert names in str(raised.value)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="Cannot read"):
        load_settings(ENV, tmp_path / "absent.yaml")


def test_secrets_are_not_in_repr() -> None:
    settings = BrokerSettings(
        credentials=[Credential("admin", SECRET)],
        state_url=f"postgresql://u:{SECRET}@db/x",
        encryption_keys=[SECRET + "-key"],
    )
    text = repr(settings) + str(settings) + repr(settings.credentials[0])
    assert SECRET not in text
    assert "admin" in repr(settings.credentials[0])


def test_settings_built_in_code_are_checked() -> None:
    with pytest.raises(ConfigError, match="credentials"):
        BrokerSettings(credentials=[])
    with pytest.raises(ConfigError, match="non-empty"):
        BrokerSettings(credentials=[Credential("", "x")])
    settings = BrokerSettings(credentials=[{"username": "u", "password": "p"}], log_level="debug")  # type: ignore[list-item]
    assert settings.credentials == (Credential("u", "p"),) and settings.log_level == "DEBUG"


# --------------------------------------------------------------- extending the settings


@dataclass(frozen=True, kw_only=True)
class RegionSettings(BrokerSettings):
    region: str = setting(env="ALIYUN_REGION", parse=parse_str)
    access_key_secret: str = setting(env="ALIYUN_SECRET", parse=parse_str, default="", secret=True)


def test_subclass_reads_its_own_fields(tmp_path: Path) -> None:
    file = tmp_path / "rds.yaml"
    file.write_text("region: cn-hangzhou\nport: 9000\n")
    settings = RegionSettings.from_sources({**ENV, "ALIYUN_SECRET": SECRET}, file)
    assert isinstance(settings, RegionSettings)
    assert (settings.region, settings.port, settings.access_key_secret) == ("cn-hangzhou", 9000, SECRET)
    assert SECRET not in repr(settings)
    assert RegionSettings.from_sources({**ENV, "ALIYUN_REGION": "cn-beijing"}, file).region == "cn-beijing"


def test_subclass_required_field_is_named() -> None:
    with pytest.raises(ConfigError) as raised:
        RegionSettings.from_sources(ENV)
    assert "ALIYUN_REGION" in str(raised.value) and "`region`" in str(raised.value)

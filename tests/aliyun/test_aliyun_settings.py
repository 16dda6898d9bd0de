"""AliyunSettings: environment, endpoint rules, secrets kept out of repr and errors."""

from __future__ import annotations

from typing import Any

import pytest
from aliyun_fakes import ACCESS_KEY_ID, ACCESS_KEY_SECRET, STS_TOKEN, settings_for

from openbroker_aliyun.aliyun.retry import RetryPolicy
from openbroker_aliyun.aliyun.sdk_client import SdkAliyunClient
from openbroker_aliyun.aliyun.settings import AliyunSettings

ENV = {
    "ALIBABA_CLOUD_ACCESS_KEY_ID": ACCESS_KEY_ID,
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET": ACCESS_KEY_SECRET,
    "ALIBABA_CLOUD_REGION_ID": "eu-central-1",
}


def test_from_env_reads_every_variable() -> None:
    env = dict(
        ENV,
        ALIBABA_CLOUD_SECURITY_TOKEN=STS_TOKEN,
        ALIBABA_CLOUD_ENDPOINT="http://127.0.0.1:8080",
        ALIBABA_CLOUD_KVSTORE_ENDPOINT="r-kvstore-vpc.eu-central-1.aliyuncs.com",
        ALIBABA_CLOUD_CA_BUNDLE="/etc/ssl/private-ca.pem",
    )
    settings = AliyunSettings.from_env(env, read_timeout=3.0)
    assert settings.access_key_id == ACCESS_KEY_ID
    assert settings.access_key_secret == ACCESS_KEY_SECRET
    assert settings.security_token == STS_TOKEN
    assert settings.region_id == "eu-central-1"
    assert settings.verify == "/etc/ssl/private-ca.pem"
    assert settings.read_timeout == 3.0
    assert settings.endpoint_for("rds") == "http://127.0.0.1:8080"
    # A per-product override wins over the shared one; no scheme means HTTPS.
    assert settings.endpoint_for("r-kvstore") == "https://r-kvstore-vpc.eu-central-1.aliyuncs.com"


def test_from_env_defaults() -> None:
    settings = AliyunSettings.from_env(ENV)
    assert settings.security_token is None
    assert settings.endpoint_for("rds") is None
    assert settings.verify is True
    assert (settings.connect_timeout, settings.read_timeout) == (5.0, 10.0)
    assert settings.retry == RetryPolicy(max_attempts=5, base_s=0.5, cap_s=8.0, deadline_s=30.0)


@pytest.mark.parametrize("missing", sorted(ENV))
def test_from_env_names_the_missing_variable_never_a_value(missing: str) -> None:
    env = {name: value for name, value in ENV.items() if name != missing}
    env[missing] = ""  # empty counts as missing
    with pytest.raises(ValueError, match=missing) as caught:
        AliyunSettings.from_env(env)
    assert ACCESS_KEY_SECRET not in str(caught.value)
    assert ACCESS_KEY_ID not in str(caught.value)


def test_from_env_names_all_missing_variables() -> None:
    with pytest.raises(ValueError) as caught:
        AliyunSettings.from_env({})
    for name in ENV:
        assert name in str(caught.value)


def test_repr_hides_secret_and_token() -> None:
    settings = settings_for(security_token=STS_TOKEN)
    assert ACCESS_KEY_SECRET not in repr(settings)
    assert STS_TOKEN not in repr(settings)
    assert ACCESS_KEY_ID in repr(settings)


@pytest.mark.parametrize(
    ("endpoint", "normalised"),
    [
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
        ("http://localhost:9000", "http://localhost:9000"),
        ("http://[::1]:9000", "http://[::1]:9000"),
        ("https://rds.aliyuncs.com", "https://rds.aliyuncs.com"),
        ("rds-vpc.cn-hangzhou.aliyuncs.com", "https://rds-vpc.cn-hangzhou.aliyuncs.com"),
        ("HTTPS://RDS.example.com:8443", "https://rds.example.com:8443"),
    ],
)
def test_endpoint_normalisation(endpoint: str, normalised: str) -> None:
    assert settings_for(endpoint).endpoint_for("rds") == normalised


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://rds.aliyuncs.com",
        "http://10.0.0.5:8080",
        "ftp://127.0.0.1",
        "https://",
        "https://rds.aliyuncs.com/some/path",
        "https://rds.aliyuncs.com/?x=1",
        "https://user:pw@rds.aliyuncs.com",
        "https://rds.aliyuncs.com:notaport",
    ],
)
def test_bad_endpoints_are_refused(endpoint: str) -> None:
    with pytest.raises(ValueError, match="endpoint"):
        settings_for(endpoint)


def test_plain_http_to_a_remote_host_needs_the_explicit_switch() -> None:
    settings = settings_for("http://10.0.0.5:8080", allow_insecure_endpoint=True)
    assert settings.endpoint_for("rds") == "http://10.0.0.5:8080"


@pytest.mark.parametrize(
    "overrides",
    [
        {"access_key_id": ""},
        {"access_key_secret": ""},
        {"region_id": ""},
        {"security_token": ""},
        {"connect_timeout": 0},
        {"read_timeout": -1},
        {"pool_size": 0},
    ],
)
def test_invalid_values_are_refused(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        settings_for(**overrides)


@pytest.mark.parametrize("kwargs", [{"max_attempts": 0}, {"base_s": -1}, {"deadline_s": -0.1}])
def test_invalid_retry_policy_is_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_unknown_region_without_override_fails_at_construction() -> None:
    with pytest.raises(ValueError, match="xx-nowhere-1"):
        SdkAliyunClient(settings_for(region_id="xx-nowhere-1"))


def test_unknown_region_is_fine_with_an_override() -> None:
    client = SdkAliyunClient(settings_for("http://127.0.0.1:9", region_id="xx-nowhere-1"))
    client.close()

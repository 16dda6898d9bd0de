"""CloudBrokerSettings: required settings, the public-access guard, zones, no secret leaks."""

from __future__ import annotations

import pytest
from aliyun_brokers.common.settings import CloudBrokerSettings

from openbroker_aliyun.config import ConfigError

SECRET = "AkSecret-do-not-leak-42"

BASE_ENV = {
    "BROKER_USERNAME": "platform",
    "BROKER_PASSWORD": "broker-pass-7",
    "ALIBABA_CLOUD_ACCESS_KEY_ID": "LTAI-test",
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET": SECRET,
    "ALIBABA_CLOUD_REGION_ID": "cn-hangzhou",
    "BROKER_VPC_ID": "vpc-1",
    "BROKER_VSWITCH_ID": "vsw-1",
    "BROKER_ZONE_ID": "cn-hangzhou-h",
    "BROKER_SECURITY_IPS": "10.0.0.0/8, 192.168.1.7",
    "BROKER_ALLOW_PLAINTEXT_STATE": "true",
}


def load(**env: str) -> CloudBrokerSettings:
    return CloudBrokerSettings.from_sources({**BASE_ENV, **env})


def test_reads_every_setting_from_the_environment() -> None:
    settings = load(
        ALIBABA_CLOUD_ENDPOINT="http://127.0.0.1:9999", BROKER_REFRESH_SECONDS="2.5", BROKER_ID="cf-prod"
    )
    assert settings.security_ips == ("10.0.0.0/8", "192.168.1.7")
    assert settings.refresh_seconds == 2.5
    assert settings.broker_id == "cf-prod"
    aliyun = settings.aliyun()
    assert aliyun.access_key_secret == SECRET
    assert aliyun.endpoint_for("rds") == "http://127.0.0.1:9999"
    assert SECRET not in repr(settings)


@pytest.mark.parametrize(
    "missing, named",
    [
        ("ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_ID"),
        ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALIBABA_CLOUD_ACCESS_KEY_SECRET"),
        ("ALIBABA_CLOUD_REGION_ID", "ALIBABA_CLOUD_REGION_ID"),
        ("BROKER_VPC_ID", "BROKER_VPC_ID"),
        ("BROKER_SECURITY_IPS", "BROKER_SECURITY_IPS"),
        ("BROKER_USERNAME", "BROKER_USERNAME"),
    ],
)
def test_a_missing_required_setting_is_named(missing: str, named: str) -> None:
    env = {key: value for key, value in BASE_ENV.items() if key != missing}
    if missing == "BROKER_USERNAME":
        env.pop("BROKER_PASSWORD")
    with pytest.raises(ConfigError) as caught:
        CloudBrokerSettings.from_sources(env)
    assert named in str(caught.value)
    assert SECRET not in str(caught.value)


def test_whole_internet_is_refused_unless_the_operator_allows_it() -> None:
    with pytest.raises(ConfigError, match="BROKER_ALLOW_PUBLIC_ACCESS"):
        load(BROKER_SECURITY_IPS="0.0.0.0/0")
    assert load(BROKER_SECURITY_IPS="0.0.0.0/0", BROKER_ALLOW_PUBLIC_ACCESS="true").security_ips == (
        "0.0.0.0/0",
    )


def test_bad_security_ips_are_refused_without_quoting_them() -> None:
    with pytest.raises(ConfigError) as caught:
        load(BROKER_SECURITY_IPS="10.0.0.0/8,not-an-ip-x")
    assert "BROKER_SECURITY_IPS" in str(caught.value)
    assert "not-an-ip-x" not in str(caught.value)


def test_user_zones() -> None:
    with pytest.raises(ConfigError, match="BROKER_USER_ZONES"):
        load(BROKER_ALLOW_USER_ZONE="true")
    settings = load(
        BROKER_ALLOW_USER_ZONE="true", BROKER_USER_ZONES="cn-hangzhou-i=vsw-2, cn-hangzhou-j=vsw-3"
    )
    assert settings.zones_for_users() == {"cn-hangzhou-i": "vsw-2", "cn-hangzhou-j": "vsw-3"}
    assert settings.vswitch_for("cn-hangzhou-j") == ("cn-hangzhou-j", "vsw-3")
    assert settings.vswitch_for(None) == ("cn-hangzhou-h", "vsw-1")
    # Zones configured but not offered to users: the parameter is not published.
    assert load(BROKER_USER_ZONES="cn-hangzhou-i=vsw-2").zones_for_users() == {}


def test_plain_http_endpoint_only_to_loopback() -> None:
    with pytest.raises(ConfigError, match="http"):
        load(ALIBABA_CLOUD_ENDPOINT="http://rds.example.com")


def test_settings_file_and_environment(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "broker.yml"
    path.write_text("vpc_id: vpc-file\nsecurity_ips: [172.16.0.0/12]\nrefresh_seconds: 7\n")
    env = {
        key: value for key, value in BASE_ENV.items() if key not in ("BROKER_VPC_ID", "BROKER_SECURITY_IPS")
    }
    settings = CloudBrokerSettings.from_sources(env, path)
    assert (settings.vpc_id, settings.security_ips, settings.refresh_seconds) == (
        "vpc-file",
        ("172.16.0.0/12",),
        7.0,
    )
    assert CloudBrokerSettings.from_sources({**env, "BROKER_VPC_ID": "vpc-env"}, path).vpc_id == "vpc-env"
    path.write_text("vpc_idd: typo\n")
    with pytest.raises(ConfigError, match="vpc_idd"):
        CloudBrokerSettings.from_sources(BASE_ENV, path)


def test_an_instance_whitelist_is_the_operators_then_the_users_without_repeats() -> None:
    settings = load()
    assert settings.whitelist() == ["10.0.0.0/8", "192.168.1.7"]
    assert settings.whitelist(["192.168.1.7", "172.16.0.0/12"]) == [
        "10.0.0.0/8",
        "192.168.1.7",
        "172.16.0.0/12",
    ]


# -- the whitelist guard (common/whitelist.py) ------------------------------------------------


@pytest.mark.parametrize(
    "security_ips",
    [
        "0.0.0.0/1,128.0.0.0/1",
        ",".join(f"{first}.0.0.0/3" for first in range(0, 256, 32)),
        "::ffff:0:0/96",
        "10.0.0.0/8,2000::/3",
        "203.0.113.0/28",
    ],
)
def test_the_operators_public_blocks_are_refused_unless_public_access_is_allowed(security_ips: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(BROKER_SECURITY_IPS=security_ips)
    message = str(caught.value)
    assert "BROKER_SECURITY_IPS" in message and "BROKER_ALLOW_PUBLIC_ACCESS" in message
    assert SECRET not in message
    allowed = load(BROKER_SECURITY_IPS=security_ips, BROKER_ALLOW_PUBLIC_ACCESS="true")
    assert len(allowed.security_ips) == len(security_ips.split(","))


def test_the_operator_may_list_a_single_public_address_or_a_declared_public_network() -> None:
    nat_gateway = load(BROKER_SECURITY_IPS="10.0.0.0/8,203.0.113.5")
    assert nat_gateway.security_ips == ("10.0.0.0/8", "203.0.113.5")
    declared = load(BROKER_SECURITY_IPS="203.0.113.0/28", BROKER_ALLOWED_NETWORKS="203.0.113.0/24, fd00::/8")
    assert declared.allowed_networks == ("203.0.113.0/24", "fd00::/8")


def test_allowed_networks_may_not_be_broad_public_blocks() -> None:
    with pytest.raises(ConfigError, match=r"BROKER_ALLOWED_NETWORKS.*BROKER_ALLOW_PUBLIC_ACCESS"):
        load(BROKER_ALLOWED_NETWORKS="0.0.0.0/1,128.0.0.0/1")
    assert load(BROKER_ALLOWED_NETWORKS="0.0.0.0/1", BROKER_ALLOW_PUBLIC_ACCESS="true").allowed_networks
    with pytest.raises(ConfigError) as caught:
        load(BROKER_ALLOWED_NETWORKS="203.0.113.0/24,not-a-net-x")
    assert "BROKER_ALLOWED_NETWORKS" in str(caught.value) and "not-a-net-x" not in str(caught.value)


@pytest.mark.parametrize(
    "env, value",
    [
        ("BROKER_MIN_PREFIX_IPV4", "33"),
        ("BROKER_MIN_PREFIX_IPV4", "-1"),
        ("BROKER_MIN_PREFIX_IPV4", "sixteen"),
        ("BROKER_MIN_PREFIX_IPV6", "129"),
    ],
)
def test_the_minimum_prefixes_are_prefix_lengths(env: str, value: str) -> None:
    with pytest.raises(ConfigError, match=env):
        load(**{env: value})


def test_the_whitelist_policy_follows_the_settings() -> None:
    default = load().whitelist_policy
    assert default.refusal("10.1.0.0/16") is None
    assert default.refusal("10.0.0.0/8") is not None  # broader than /16, though the operator lists it
    assert default.refusal("0.0.0.0/1") is not None
    assert default.refusal("192.168.1.7") is None
    tuned = load(
        BROKER_MIN_PREFIX_IPV4="8",
        BROKER_MIN_PREFIX_IPV6="64",
        BROKER_ALLOWED_NETWORKS="198.51.100.0/24",
        BROKER_SECURITY_IPS="10.0.0.0/8,203.0.113.5",
    ).whitelist_policy
    assert tuned.refusal("10.0.0.0/8") is None
    assert tuned.refusal("fd00::/48") is not None
    assert tuned.refusal("198.51.100.128/25") is None  # inside the approved network
    assert tuned.refusal("203.0.113.5") is None  # the operator's own address
    assert tuned.refusal("203.0.113.6") is not None
    assert load(BROKER_ALLOW_PUBLIC_ACCESS="true").whitelist_policy.refusal("0.0.0.0/0") is None

"""A Redis binding's credentials: the key set, the AUTH form per engine, entry-name rules."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

import pytest
from aliyun_brokers.redis.binding import account_name, binding_credentials
from redis.connection import parse_url

# servicebinding.io: entry names SHOULD match [a-z0-9\-\.]{1,253}; Cloud Foundry's
# file-based bindings (service-binding-k8s) also accept "_" and reject everything else.
SERVICEBINDING_ENTRY = re.compile(r"^[a-z0-9\-.]{1,253}$")
CLOUD_FOUNDRY_ENTRY = re.compile(r"^[a-z0-9\-._]{1,253}$")
# A password with every special character Alibaba allows, and URI delimiters among them.
PASSWORD = "Pa:ss@w/rd#?%&=+!$^*()_-x1"


@pytest.mark.parametrize("tls", [False, True])
@pytest.mark.parametrize("version", ["5.0", "6.0", "7.0"])
def test_every_key_is_a_valid_entry_name_and_every_value_flat(tls: bool, version: str) -> None:
    credentials = binding_credentials(
        host="r-abc.redis.rds.aliyuncs.com",
        port=6379,
        account="osb_x1",
        password=PASSWORD,
        engine_version=version,
        tls=tls,
    )
    for key, value in credentials.items():
        assert CLOUD_FOUNDRY_ENTRY.match(key), key
        # tls_port is java-cfenv's key (the one underscore, accepted by Cloud Foundry).
        assert SERVICEBINDING_ENTRY.match(key) or key == "tls_port", key
        assert isinstance(value, (str, int)) and not isinstance(value, bool), key
    assert credentials["type"] == "redis" and credentials["provider"] == "alibabacloud"
    assert credentials["host"] == credentials["hostname"] == "r-abc.redis.rds.aliyuncs.com"
    assert credentials["port"] == 6379 and credentials["database"] == "0"
    if tls:
        assert credentials["uri"].startswith("rediss://")
        assert credentials["tls_port"] == 6379 and credentials["ssl"] == "true"
    else:
        assert credentials["uri"].startswith("redis://")
        assert "tls_port" not in credentials and "ssl" not in credentials


def test_redis_6_and_later_authenticate_as_user_and_password() -> None:
    credentials = binding_credentials(
        host="10.0.0.5", port=6379, account="osb_x1", password=PASSWORD, engine_version="7.0", tls=False
    )
    assert credentials["username"] == "osb_x1" and credentials["password"] == PASSWORD
    parsed = parse_url(credentials["uri"])  # what redis-py's from_url makes of it
    assert (parsed["username"], parsed["password"]) == ("osb_x1", PASSWORD)
    assert (parsed["host"], parsed["port"], parsed["db"]) == ("10.0.0.5", 6379, 0)


def test_redis_4_and_5_authenticate_with_user_colon_password() -> None:
    """Alibaba takes ``AUTH user:password`` there; a ``username`` would make clients send two arguments."""
    credentials = binding_credentials(
        host="10.0.0.5", port=6379, account="osb_x1", password=PASSWORD, engine_version="5.0", tls=False
    )
    assert "username" not in credentials
    assert credentials["password"] == f"osb_x1:{PASSWORD}"
    parsed = parse_url(credentials["uri"])
    assert parsed.get("username") is None and parsed["password"] == f"osb_x1:{PASSWORD}"
    parts = urlsplit(credentials["uri"])
    assert parts.username == "" and unquote(parts.password or "") == f"osb_x1:{PASSWORD}"


def test_account_names_follow_alibabas_rules_and_are_stable() -> None:
    binding_id = "3c1b2f5e-6a4d-4e8f-9b0a-1c2d3e4f5a6b"
    name = account_name(binding_id)
    assert re.fullmatch(r"[a-z][a-z0-9_]{0,99}", name)
    assert name == account_name(binding_id) and name != account_name("another-binding")

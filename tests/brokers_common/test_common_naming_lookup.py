"""Tokens, tags and the lost-instance lookup."""

from __future__ import annotations

from typing import Any, Mapping

from aliyun_brokers.common.lookup import find_tagged
from aliyun_brokers.common.naming import (
    TAG_BROKER,
    TAG_INSTANCE,
    client_token,
    instance_description,
    resource_tags,
    short_hash,
    tag_parameter,
)


def test_client_token_is_deterministic_ascii_and_short() -> None:
    token = client_token("openbroker", "9d3c7e3e-0000-4000-8000-000000000001")
    assert token == client_token("openbroker", "9d3c7e3e-0000-4000-8000-000000000001")
    assert len(token) <= 64 and token.isascii()
    assert token != client_token("other-broker", "9d3c7e3e-0000-4000-8000-000000000001")
    assert token != client_token("openbroker", "9d3c7e3e-0000-4000-8000-000000000001", "create:op2")


def test_tags_and_description_carry_the_instance_id() -> None:
    assert resource_tags("b", "i-1") == {TAG_BROKER: "b", TAG_INSTANCE: "i-1"}
    assert instance_description("i-1") == "osb-i-1"
    assert short_hash("a", "bc") != short_hash("ab", "c")


def test_find_tagged_returns_only_this_instances_resources() -> None:
    seen: list[Mapping[str, str]] = []

    def search(tags: Mapping[str, str]) -> list[dict[str, Any]]:
        seen.append(tags)
        return [
            {
                "DBInstanceId": "rm-2",
                "Tags": {"Tag": [{"Key": TAG_BROKER, "Value": "b"}, {"Key": TAG_INSTANCE, "Value": "i-1"}]},
            },
            {"DBInstanceId": "rm-1"},  # carries no tags: trusted to the cloud's filter
            {
                "DBInstanceId": "rm-3",
                "Tags": {
                    "Tag": [
                        {"TagKey": TAG_BROKER, "TagValue": "b"},
                        {"TagKey": TAG_INSTANCE, "TagValue": "other"},
                    ]
                },
            },
        ]

    assert find_tagged(search, broker_id="b", instance_id="i-1", id_key="DBInstanceId") == ["rm-1", "rm-2"]
    assert seen == [resource_tags("b", "i-1")]


def test_tag_parameter_is_the_create_calls_form_of_the_tags() -> None:
    assert tag_parameter("cf-prod", "osb-1") == [
        {"Key": TAG_BROKER, "Value": "cf-prod"},
        {"Key": TAG_INSTANCE, "Value": "osb-1"},
    ]

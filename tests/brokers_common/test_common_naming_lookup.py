"""Tokens, tags and the lost-instance lookup."""

from __future__ import annotations

from typing import Mapping, Sequence

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
from aliyun_brokers.common.wire import CloudInstance, Tag
from aliyun_brokers.rds.wire import DBInstance
from aliyun_brokers.redis.wire import KVStoreInstance


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

    def search(tags: Mapping[str, str]) -> Sequence[CloudInstance]:
        seen.append(tags)
        return [
            KVStoreInstance(
                instance_id="r-2",
                status="Normal",
                tag_list=(Tag(key=TAG_BROKER, value="b"), Tag(key=TAG_INSTANCE, value="i-1")),
            ),
            DBInstance(
                instance_id="rm-1", status="Running"
            ),  # carries no tags: trusted to the cloud's filter
            KVStoreInstance(
                instance_id="r-3",
                status="Normal",
                tag_list=(Tag(key=TAG_BROKER, value="b"), Tag(key=TAG_INSTANCE, value="other")),
            ),
        ]

    assert find_tagged(search, broker_id="b", instance_id="i-1") == ["r-2", "rm-1"]
    assert seen == [resource_tags("b", "i-1")]


def test_tag_parameter_is_the_create_calls_form_of_the_tags() -> None:
    assert tag_parameter("cf-prod", "osb-1") == [
        {"Key": TAG_BROKER, "Value": "cf-prod"},
        {"Key": TAG_INSTANCE, "Value": "osb-1"},
    ]

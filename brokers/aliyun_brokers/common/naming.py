"""Names, tags and idempotency tokens the Alibaba brokers derive from OSB ids.

Everything here is deterministic: the same broker and OSB instance always give the same
token, tags and names, so a retried create returns the instance of the first try, and an
instance whose local record was lost is found again by its tags. The broker id keeps two
brokers on one Alibaba account (say, two platforms) apart.
"""

from __future__ import annotations

import hashlib
from typing import Any

from aliyun_brokers.common.wire import Tag, to_params

__all__ = [
    "TAG_BROKER",
    "TAG_INSTANCE",
    "client_token",
    "instance_description",
    "resource_tag_list",
    "resource_tags",
    "short_hash",
    "tag_parameter",
]

#: Tag keys set on every cloud resource at create time (never ``aliyun``/``acs:``-prefixed).
TAG_BROKER = "openbroker-broker"
TAG_INSTANCE = "openbroker-instance"

# Alibaba: a ClientToken/Token is at most 64 ASCII characters.
_MAX_TOKEN = 64


def short_hash(*parts: str, length: int = 16) -> str:
    """``length`` hex characters of SHA-256 over ``parts`` (NUL-separated, so unambiguous)."""
    if not 1 <= length <= 64:
        raise ValueError("length must be between 1 and 64")
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:length]


def client_token(broker_id: str, instance_id: str, purpose: str = "create") -> str:
    """The idempotency token of one cloud call made for an OSB instance (≤ 64 ASCII)."""
    token = f"ob-{short_hash(broker_id, instance_id, purpose, length=60)}"
    assert len(token) <= _MAX_TOKEN
    return token


def resource_tags(broker_id: str, instance_id: str) -> dict[str, str]:
    """The tags that name the broker and the OSB instance a cloud resource belongs to."""
    return {TAG_BROKER: broker_id, TAG_INSTANCE: instance_id}


def resource_tag_list(broker_id: str, instance_id: str) -> tuple[Tag, ...]:
    """``resource_tags`` as the ``Tag`` repeat list of a create request (``Tag.N.Key``/``Tag.N.Value``)."""
    return tuple(Tag(key=key, value=value) for key, value in resource_tags(broker_id, instance_id).items())


def tag_parameter(broker_id: str, instance_id: str) -> list[dict[str, Any]]:
    """``resource_tag_list`` in wire terms, for a create call made without a typed request (tests)."""
    return [to_params(tag) for tag in resource_tag_list(broker_id, instance_id)]


def instance_description(instance_id: str) -> str:
    """A cloud description carrying the OSB instance id (starts with a letter, ≤ 255)."""
    return f"osb-{instance_id}"[:255]

"""Finding the cloud resources of an OSB instance again, from their tags alone.

Brokers tag every resource in its create call (``naming.resource_tags``), so the
resources of an OSB instance can be found even when the broker's own record of them is
gone: a crash between the create call and saving its answer, a restored or lost state
store, a platform that provisions the same instance id again. The product-specific part
is ``search``: tags in, the matching items out (RDS ``DescribeDBInstances`` with a
``Tags`` filter, R-kvstore ``DescribeInstances`` with ``Tag.N``).
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

from aliyun_brokers.common.naming import TAG_BROKER, TAG_INSTANCE, resource_tags

__all__ = ["Search", "find_tagged"]

#: ``search(tags) -> items`` carrying every one of ``tags``.
Search = Callable[[Mapping[str, str]], Sequence[Mapping[str, Any]]]


def find_tagged(search: Search, *, broker_id: str, instance_id: str, id_key: str) -> list[str]:
    """Ids of the resources tagged for this broker and OSB instance, oldest id first.

    Normally zero or one; more than one would mean a duplicate was created, and every one
    of them belongs to the OSB instance (deprovision deletes them all).
    """
    wanted = resource_tags(broker_id, instance_id)
    found = set()
    for item in search(wanted):
        # The cloud filters by tag already; check again where the item carries its tags,
        # so a search that ignored the filter can never adopt someone else's resource.
        tags = _tags_of(item)
        if tags is not None and (tags.get(TAG_BROKER) != broker_id or tags.get(TAG_INSTANCE) != instance_id):
            continue
        resource_id = item.get(id_key)
        if isinstance(resource_id, str) and resource_id:
            found.add(resource_id)
    return sorted(found)


def _tags_of(item: Mapping[str, Any]) -> dict[str, str] | None:
    """An item's tags in either of Alibaba's shapes (``Tags.Tag[]`` of Key/Value or TagKey/TagValue)."""
    raw = item.get("Tags")
    if isinstance(raw, Mapping):
        raw = raw.get("Tag")
    if not isinstance(raw, list):
        return None
    tags: dict[str, str] = {}
    for entry in raw:
        if not isinstance(entry, Mapping):
            continue
        key = entry.get("Key", entry.get("TagKey"))
        value = entry.get("Value", entry.get("TagValue"))
        if isinstance(key, str) and isinstance(value, str):
            tags[key] = value
    return tags

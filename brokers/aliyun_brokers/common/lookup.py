"""Finding the cloud resources of an OSB instance again, from their tags alone.

Brokers tag every resource in its create call (``naming.resource_tags``), so the
resources of an OSB instance can be found even when the broker's own record of them is
gone: a crash between the create call and saving its answer, a restored or lost state
store, a platform that provisions the same instance id again. The product-specific part
is ``search``: tags in, the matching items out (RDS ``DescribeDBInstances`` with a
``Tags`` filter, R-kvstore ``DescribeInstances`` with ``Tag.N``).
"""

from __future__ import annotations

from typing import Callable, Mapping, Sequence

from aliyun_brokers.common.naming import TAG_BROKER, TAG_INSTANCE, resource_tags
from aliyun_brokers.common.wire import CloudInstance

__all__ = ["Search", "find_tagged"]

#: ``search(tags) -> items`` carrying every one of ``tags``.
Search = Callable[[Mapping[str, str]], Sequence[CloudInstance]]


def find_tagged(search: Search, *, broker_id: str, instance_id: str) -> list[str]:
    """Ids of the resources tagged for this broker and OSB instance, oldest id first.

    Normally zero or one; more than one would mean a duplicate was created, and every one
    of them belongs to the OSB instance (deprovision deletes them all).
    """
    wanted = resource_tags(broker_id, instance_id)
    found = set()
    for item in search(wanted):
        # The cloud filters by tag already; check again where the item carries its tags,
        # so a search that ignored the filter can never adopt someone else's resource.
        tags = item.tags
        if tags is not None and (tags.get(TAG_BROKER) != broker_id or tags.get(TAG_INSTANCE) != instance_id):
            continue
        if item.instance_id:
            found.add(item.instance_id)
    return sorted(found)

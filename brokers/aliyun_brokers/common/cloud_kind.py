"""How one Alibaba product names, finds and deletes its cloud instances: ``CloudKind``.

Each broker describes its instances with one ``CloudKind`` (RDS: "RDS instance", the
``Released`` and ``Deleting`` states, ...; R-kvstore: "Redis instance", ...), so that
deprovisioning (deletion.py), adopting an instance found by its tags and the batched
prefetch are written once for every product. The describe items themselves are the
product's typed items (``CloudInstance``: an id, a status, perhaps tags).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

from aliyun_brokers.common.lookup import Search, find_tagged
from aliyun_brokers.common.wire import CloudInstance

__all__ = ["CloudKind"]


@dataclass(frozen=True)
class CloudKind:
    """The names and calls of one product's instances."""

    noun: str  # "Redis instance", in descriptions
    gone_states: frozenset[str]  # listed, but counts as deleted (e.g. in the recycle bin)
    wait_states: frozenset[str]  # the delete is refused now and accepted later
    busy_codes: frozenset[str]  # error codes of a delete refused for the instance's state
    find_by_tags: Search
    delete: Callable[[str], bool]  # False when already gone
    # Error codes of a delete that only a person can unblock, with what they must do.
    refusals: Mapping[str, str] = field(default_factory=dict)
    # Being deleted: never adopted nor deleted again, but still waited for (RDS ``Deleting``).
    deleting_states: frozenset[str] = frozenset()

    @property
    def leaving_states(self) -> frozenset[str]:
        """Statuses of an instance on its way out (or out): never adopted, never waited for to be ready."""
        return self.gone_states | self.deleting_states

    @staticmethod
    def status(item: CloudInstance) -> str:
        return item.status or "unknown"

    def tagged_ids(self, broker_id: str, instance_id: str, *, live_only: bool = False) -> list[str]:
        """Ids of the instances tagged for this broker and OSB instance (``live_only``: not being deleted)."""

        def search(tags: Mapping[str, str]) -> Sequence[CloudInstance]:
            found = self.find_by_tags(tags)
            return [item for item in found if not live_only or self.status(item) not in self.leaving_states]

        return find_tagged(search, broker_id=broker_id, instance_id=instance_id)

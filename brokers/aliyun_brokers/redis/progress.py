"""What the Redis broker records in an OSB instance's and a binding's ``details``, typed.

The keys and value types are those every release of the broker has written (see
``aliyun_brokers.common.progress`` for how a record is stored), so existing instances
keep working: tests/brokers_common/test_progress_compat.py loads details written by the
release before these records and checks they are written back byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aliyun_brokers.common.progress import BindingProgress, CloudProgress, UpdateProgress

__all__ = ["RedisBinding", "RedisProgress", "RedisUpdate"]


@dataclass(kw_only=True)
class RedisUpdate(UpdateProgress):
    """``details["update"]``: the class and shard count after the update (None: a capacity
    plan, or not a cluster)."""

    instance_class: str | None
    shard_count: int | None


@dataclass(kw_only=True)
class RedisProgress(CloudProgress):
    """A Redis instance's ``details``."""

    #: The provision operation the progress belongs to (a new one starts over).
    provision_op: str | None = None
    vswitch_id: str | None = None
    #: The default account's password (never handed to a binding).
    password: str | None = field(default=None, repr=False)
    instance_id: str | None = None
    update: RedisUpdate | None = None

    @property
    def recorded_id(self) -> str | None:
        return self.instance_id


@dataclass(kw_only=True)
class RedisBinding(BindingProgress):
    """A Redis binding's ``details``: its account, password and role."""

    read_only: bool | None = None

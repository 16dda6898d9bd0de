"""What the RDS broker records in an OSB instance's ``details``, typed (a binding's is the
shared ``BindingProgress``: its account and password).

The keys and value types are those every release of the broker has written (see
``aliyun_brokers.common.progress`` for how a record is stored), so existing instances
keep working: tests/brokers_common/test_progress_compat.py loads details written by the
release before these records and checks they are written back byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aliyun_brokers.common.progress import CloudProgress, UpdateProgress
from aliyun_brokers.rds.plans import EngineName

__all__ = ["RdsProgress", "RdsUpdate"]


@dataclass(kw_only=True)
class RdsUpdate(UpdateProgress):
    """``details["update"]``: the class, category and storage after the update."""

    instance_class: str
    category: str
    storage_gb: int


@dataclass(kw_only=True)
class RdsProgress(CloudProgress):
    """An RDS instance's ``details``."""

    engine: EngineName | None = None
    category: str | None = None
    storage_type: str | None = None
    storage_gb: int | None = None
    #: The database every binding is granted on.
    database: str | None = None
    #: PostgreSQL: the NOLOGIN role that owns what bindings create.
    owner_role: str | None = None
    db_instance_id: str | None = None
    #: PostgreSQL: the broker's privileged account.
    manager_account: str | None = None
    manager_password: str | None = field(default=None, repr=False)
    update: RdsUpdate | None = None

    @property
    def recorded_id(self) -> str | None:
        return self.db_instance_id

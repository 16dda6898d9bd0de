"""What every RDS step needs: the shared ``CloudRuntime`` plus the RDS-only facts.

The small facts about one instance that several steps read from its progress (its
engine profile, the logins the broker uses over SQL), so each step module holds only
its own sequence of stages.
"""

from __future__ import annotations

from dataclasses import dataclass

from aliyun_brokers.common.progress import known
from aliyun_brokers.common.runtime import CloudRuntime
from aliyun_brokers.rds.cloud import RdsApi
from aliyun_brokers.rds.engines import EngineProfile, profile_for
from aliyun_brokers.rds.plans import RdsPlan
from aliyun_brokers.rds.progress import RdsProgress
from aliyun_brokers.rds.settings import RdsSettings
from aliyun_brokers.rds.sql_engines import Login
from aliyun_brokers.rds.wire import DBInstance

__all__ = ["RdsRuntime"]


@dataclass
class RdsRuntime(CloudRuntime[RdsSettings, RdsApi, RdsPlan, DBInstance]):
    """Shared by the RDS broker's step modules."""

    def profile(self, progress: RdsProgress) -> EngineProfile:
        return profile_for(known(progress.engine, "engine"))

    def uses_manager(self, progress: RdsProgress) -> bool:
        """Whether this instance gets the broker's privileged account (PostgreSQL sharing)."""
        return self.profile(progress).sql.needs_manager and self.settings.postgres_shared_ownership

    def manager_login(self, progress: RdsProgress) -> Login:
        """The broker's privileged account on the instance's database."""
        return self.login(
            progress,
            known(progress.manager_account, "manager_account"),
            known(progress.manager_password, "manager_password"),
        )

    @staticmethod
    def login(progress: RdsProgress, username: str, password: str) -> Login:
        """An account's login to the instance's database."""
        return Login(
            host=known(progress.host, "host"),
            port=int(known(progress.port, "port")),
            username=username,
            password=password,
            database=known(progress.database, "database"),
            tls=bool(progress.tls),
        )

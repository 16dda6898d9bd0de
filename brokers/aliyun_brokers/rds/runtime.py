"""What every RDS step needs: the shared ``CloudRuntime`` plus the RDS-only facts.

The small facts about one instance that several steps read from its ``details`` (its
engine profile, the logins the broker uses over SQL), so each step module holds only
its own sequence of stages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from aliyun_brokers.common.runtime import CloudRuntime
from aliyun_brokers.rds.cloud import RdsApi
from aliyun_brokers.rds.engines import EngineProfile, profile_for
from aliyun_brokers.rds.plans import RdsPlan
from aliyun_brokers.rds.settings import RdsSettings
from aliyun_brokers.rds.sql_engines import Login

__all__ = ["RdsRuntime"]


@dataclass
class RdsRuntime(CloudRuntime[RdsSettings, RdsApi, RdsPlan]):
    """Shared by the RDS broker's step modules."""

    def profile(self, details: Mapping[str, Any]) -> EngineProfile:
        return profile_for(details["engine"])

    def uses_manager(self, details: Mapping[str, Any]) -> bool:
        """Whether this instance gets the broker's privileged account (PostgreSQL sharing)."""
        return self.profile(details).sql.needs_manager and self.settings.postgres_shared_ownership

    def manager_login(self, details: Mapping[str, Any]) -> Login:
        return Login(
            host=details["host"],
            port=int(details["port"]),
            username=details["manager_account"],
            password=details["manager_password"],
            database=details["database"],
            tls=bool(details.get("tls")),
        )

"""What every RDS step needs: settings, the RDS API, the describe cache, the plans.

Also the small facts about one instance that several steps read from its ``details``
(the logins the broker uses over SQL, the instance's status), so each step module holds
only its own sequence of stages.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Mapping

from aliyun_brokers.common.describe_cache import DescribeCache, Described
from aliyun_brokers.rds.cloud import RdsApi
from aliyun_brokers.rds.engines import EngineProfile, profile_for
from aliyun_brokers.rds.plans import RdsPlan
from aliyun_brokers.rds.settings import RdsSettings
from aliyun_brokers.rds.sql_engines import Login
from openbroker_aliyun.broker import InProgress

__all__ = ["GONE_STATES", "RdsRuntime"]

# Wake this long after an epoch ends, so the clock has surely passed it.
_AFTER_EPOCH = 0.01

#: Statuses of an instance on its way out (or out): never adopted, never waited for.
GONE_STATES = frozenset({"Deleting", "Released"})


@dataclass
class RdsRuntime:
    """Shared by the RDS broker's step modules."""

    settings: RdsSettings
    api: RdsApi
    cache: DescribeCache
    plans: Mapping[str, RdsPlan]

    @property
    def refresh(self) -> float:
        return self.settings.refresh_seconds

    def plan(self, plan_id: str) -> RdsPlan:
        return self.plans[plan_id]

    def profile(self, details: Mapping[str, Any]) -> EngineProfile:
        return profile_for(details["engine"])

    def wait(self, description: str) -> InProgress:
        """Come back just after the describe cache's epoch ends (when it has news).

        Every waiting step of the process wakes at the same moment, so one batched
        describe serves all of them.
        """
        return InProgress(description=description, retry_after=self.cache.next_refresh_in() + _AFTER_EPOCH)

    def describe(self, instance_id: str) -> Described:
        return self.cache.get(instance_id)

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

    @staticmethod
    def now() -> float:
        """Wall-clock seconds: stored in details, so it must survive a restart (not monotonic)."""
        return time.time()

"""The RDS broker's settings: the shared Alibaba broker settings plus two of its own."""

from __future__ import annotations

from dataclasses import dataclass

from aliyun_brokers.common.settings import CloudBrokerSettings
from openbroker_aliyun.config import parse_bool, setting

__all__ = ["RdsSettings"]


@dataclass(frozen=True, kw_only=True)
class RdsSettings(CloudBrokerSettings):
    """``CloudBrokerSettings`` plus the RDS-only settings (docs/configuration.md)."""

    # camelCase ``jdbcUrl`` breaks Cloud Foundry's file-based bindings: opt-in.
    jdbc_url: bool = setting(env="RDS_JDBC_URL", parse=parse_bool, default=False)
    # PostgreSQL shared ownership needs the broker to reach instances over SQL (docs/rds.md).
    postgres_shared_ownership: bool = setting(
        env="RDS_POSTGRES_SHARED_OWNERSHIP", parse=parse_bool, default=True
    )

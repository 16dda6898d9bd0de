"""What differs between RDS for MySQL and RDS for PostgreSQL, in one place.

Account and database rules come from Alibaba's CreateAccount / CreateDatabase docs
(see /docs/rds.md); the SQL part lives in ``sql_engines``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from aliyun_brokers.common.credentials import POSTGRESQL_FORBIDDEN_PREFIXES
from aliyun_brokers.common.naming import short_hash
from aliyun_brokers.rds.plans import EngineName
from aliyun_brokers.rds.sql_engines import MysqlSqlEngine, PostgresSqlEngine, SqlEngine
from openbroker_aliyun.credentials import generate_account_name

__all__ = ["ACCOUNT_MAX_LENGTH", "EngineProfile", "profile_for"]

#: Within every engine's rule (MySQL 5.6 and PostgreSQL on local SSD allow 16).
ACCOUNT_MAX_LENGTH = 16


@dataclass(frozen=True)
class EngineProfile:
    """One engine's API spellings, account rules and SQL engine."""

    engine: EngineName
    credential_type: Literal["mysql", "postgresql"]
    binding_privilege: str  # GrantAccountPrivilege AccountPrivilege
    character_set: str  # CreateDatabase CharacterSetName
    forbidden_prefixes: tuple[str, ...]
    sql: SqlEngine

    def binding_account(self, binding_id: str) -> str:
        """The account of a binding: the same for the same binding id (a retried bind finds it)."""
        return generate_account_name(
            "u", binding_id, max_length=ACCOUNT_MAX_LENGTH, forbidden_prefixes=self.forbidden_prefixes
        )

    def manager_account(self, broker_id: str, instance_id: str) -> str:
        """The instance's privileged account (PostgreSQL only), used by the broker alone."""
        return generate_account_name(
            "mgr",
            f"{broker_id}\0{instance_id}",
            max_length=ACCOUNT_MAX_LENGTH,
            forbidden_prefixes=self.forbidden_prefixes,
        )


def default_database_name(broker_id: str, instance_id: str) -> str:
    """The database name when the user gives none: unique per instance, valid everywhere."""
    return f"db_{short_hash(broker_id, instance_id, length=12)}"


def owner_role_name(database: str) -> str:
    """PostgreSQL: the NOLOGIN role that owns what bindings create (``<database>_owner``)."""
    return f"{database}_owner"


_PROFILES = {
    "MySQL": EngineProfile(
        engine="MySQL",
        credential_type="mysql",
        binding_privilege="ReadWrite",
        character_set="utf8mb4",
        forbidden_prefixes=(),
        sql=MysqlSqlEngine(),
    ),
    "PostgreSQL": EngineProfile(
        engine="PostgreSQL",
        credential_type="postgresql",
        binding_privilege="DBOwner",
        character_set="UTF8",
        forbidden_prefixes=POSTGRESQL_FORBIDDEN_PREFIXES,
        sql=PostgresSqlEngine(),
    ),
}


def profile_for(engine: EngineName) -> EngineProfile:
    """The profile of ``engine``."""
    return _PROFILES[engine]

"""The state store's tables (SQLAlchemy Core), as the latest migration leaves them.

Columns holding secrets (``parameters``, ``details``, binding ``result``) hold text made
by ``openbroker_aliyun.store.encryption``; the others hold plain JSON or scalars. The
``osb_`` prefix keeps the tables apart when the database is shared with other software.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

from openbroker_aliyun.store.columns import LongText, UTCDateTime

#: alembic's version table, named apart from an application's own alembic table.
VERSION_TABLE = "osb_alembic_version"

# OSB ids are GUIDs in practice but any URL-safe string is allowed; 255 keeps the
# primary key within MySQL's index limit in utf8mb4.
ID = String(255)

metadata = MetaData()

instances = Table(
    "osb_instances",
    metadata,
    Column("id", ID, primary_key=True),
    Column("service_id", ID, nullable=False),
    Column("plan_id", ID, nullable=False),
    Column("status", String(32), nullable=False),
    Column("operation_id", String(64), nullable=True),
    Column("parameters", LongText, nullable=False),
    Column("details", LongText, nullable=False),
    Column("context", Text, nullable=False),
    Column("organization_guid", ID, nullable=True),
    Column("space_guid", ID, nullable=True),
    Column("maintenance_info_version", String(255), nullable=True),
    Column("dashboard_url", Text, nullable=True),
    Column("metadata", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("provisioned_at", UTCDateTime, nullable=True),
    Column("deleted_at", UTCDateTime, nullable=True),
)

bindings = Table(
    "osb_bindings",
    metadata,
    Column("instance_id", ID, ForeignKey("osb_instances.id"), primary_key=True),
    Column("id", ID, primary_key=True),
    Column("service_id", ID, nullable=False),
    Column("plan_id", ID, nullable=False),
    Column("status", String(32), nullable=False),
    Column("operation_id", String(64), nullable=True),
    Column("parameters", LongText, nullable=False),
    Column("details", LongText, nullable=False),
    Column("result", LongText, nullable=True),
    Column("context", Text, nullable=False),
    Column("bind_resource", Text, nullable=False),
    Column("app_guid", ID, nullable=True),
    Column("predecessor_binding_id", ID, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("bound_at", UTCDateTime, nullable=True),
    Column("deleted_at", UTCDateTime, nullable=True),
)

operations = Table(
    "osb_operations",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("instance_id", ID, ForeignKey("osb_instances.id"), nullable=False),
    Column("binding_id", ID, nullable=True),
    Column("kind", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("plan_id", ID, nullable=False),
    Column("previous_plan_id", ID, nullable=True),
    Column("parameters", LongText, nullable=False),
    Column("context", Text, nullable=True),
    Column("maintenance_info_version", String(255), nullable=True),
    Column("info", Text, nullable=False),
    Column("description", Text, nullable=True),
    Column("instance_usable", Boolean, nullable=True),
    Column("update_repeatable", Boolean, nullable=True),
    Column("attempt", Integer, nullable=False),
    Column("failures", Integer, nullable=False),
    Column("retry_after", Float, nullable=True),
    Column("started_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=True),
    Column("next_run_at", UTCDateTime, nullable=False),
    Column("lease_owner", String(128), nullable=True),
    Column("lease_expires_at", UTCDateTime, nullable=True),
    Index("ix_osb_operations_due", "state", "next_run_at"),
    Index("ix_osb_operations_instance", "instance_id", "binding_id"),
)

#: (table, primary key columns, encrypted columns): what key rotation rewrites.
ENCRYPTED_COLUMNS = (
    (instances, ("id",), ("parameters", "details")),
    (bindings, ("instance_id", "id"), ("parameters", "details", "result")),
    (operations, ("id",), ("parameters",)),
)

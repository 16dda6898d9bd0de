"""Initial schema: instances, bindings, operations.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Inlined on purpose: a migration must keep creating what it created the day it was
# written, whatever the application's column types become later.
ID = sa.String(255)
LONG_TEXT = sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")
TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "osb_instances",
        sa.Column("id", ID, primary_key=True),
        sa.Column("service_id", ID, nullable=False),
        sa.Column("plan_id", ID, nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("operation_id", sa.String(64), nullable=True),
        sa.Column("parameters", LONG_TEXT, nullable=False),
        sa.Column("details", LONG_TEXT, nullable=False),
        sa.Column("context", sa.Text, nullable=False),
        sa.Column("organization_guid", ID, nullable=True),
        sa.Column("space_guid", ID, nullable=True),
        sa.Column("maintenance_info_version", sa.String(255), nullable=True),
        sa.Column("dashboard_url", sa.Text, nullable=True),
        sa.Column("metadata", sa.Text, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.Column("provisioned_at", TIMESTAMP, nullable=True),
        sa.Column("deleted_at", TIMESTAMP, nullable=True),
    )
    op.create_table(
        "osb_bindings",
        sa.Column("instance_id", ID, sa.ForeignKey("osb_instances.id"), primary_key=True),
        sa.Column("id", ID, primary_key=True),
        sa.Column("service_id", ID, nullable=False),
        sa.Column("plan_id", ID, nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("operation_id", sa.String(64), nullable=True),
        sa.Column("parameters", LONG_TEXT, nullable=False),
        sa.Column("details", LONG_TEXT, nullable=False),
        sa.Column("result", LONG_TEXT, nullable=True),
        sa.Column("context", sa.Text, nullable=False),
        sa.Column("bind_resource", sa.Text, nullable=False),
        sa.Column("app_guid", ID, nullable=True),
        sa.Column("predecessor_binding_id", ID, nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.Column("bound_at", TIMESTAMP, nullable=True),
        sa.Column("deleted_at", TIMESTAMP, nullable=True),
    )
    op.create_table(
        "osb_operations",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("instance_id", ID, sa.ForeignKey("osb_instances.id"), nullable=False),
        sa.Column("binding_id", ID, nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("plan_id", ID, nullable=False),
        sa.Column("previous_plan_id", ID, nullable=True),
        sa.Column("parameters", LONG_TEXT, nullable=False),
        sa.Column("context", sa.Text, nullable=True),
        sa.Column("maintenance_info_version", sa.String(255), nullable=True),
        sa.Column("info", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("instance_usable", sa.Boolean, nullable=True),
        sa.Column("update_repeatable", sa.Boolean, nullable=True),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("retry_after", sa.Float, nullable=True),
        sa.Column("started_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.Column("finished_at", TIMESTAMP, nullable=True),
        sa.Column("next_run_at", TIMESTAMP, nullable=False),
        sa.Column("lease_owner", sa.String(128), nullable=True),
        sa.Column("lease_expires_at", TIMESTAMP, nullable=True),
    )
    op.create_index("ix_osb_operations_due", "osb_operations", ["state", "next_run_at"])
    op.create_index("ix_osb_operations_instance", "osb_operations", ["instance_id", "binding_id"])


def downgrade() -> None:
    op.drop_table("osb_operations")
    op.drop_table("osb_bindings")
    op.drop_table("osb_instances")

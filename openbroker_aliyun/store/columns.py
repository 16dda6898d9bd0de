"""Column types that mean the same thing on SQLite, PostgreSQL and MySQL/MariaDB."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect, Text
from sqlalchemy.dialects import mysql
from sqlalchemy.types import TypeDecorator, TypeEngine

# MySQL's TEXT holds 64 KiB; encrypted parameters or credentials can outgrow it.
LongText: TypeEngine[str] = Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")

# MySQL's DATETIME drops the fraction of a second unless asked; leases need it.
_DATETIME: TypeEngine[datetime] = DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


class UTCDateTime(TypeDecorator[datetime]):
    """A point in time, stored as naive UTC and read back as an aware UTC datetime.

    Naive UTC is the one representation all three databases store and compare alike
    (SQLite compares the text, MySQL has no time zones in ``DATETIME``).
    """

    impl = _DATETIME
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass an aware UTC datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # SQLite without a declared type affinity
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

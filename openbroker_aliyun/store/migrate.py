"""Schema migrations with alembic, run by the library at start-up.

``upgrade_to_head`` brings the schema to the newest revision. Several processes may start
at once (gunicorn workers, replicas), so the upgrade runs under a database-wide lock:
PostgreSQL's transaction advisory lock (and PostgreSQL runs DDL in the transaction),
MySQL/MariaDB's ``GET_LOCK``, SQLite's write lock (``BEGIN IMMEDIATE``). The second
process waits, then finds the schema at head and does nothing.
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

from openbroker_aliyun.store.errors import StoreError
from openbroker_aliyun.store.tables import VERSION_TABLE

log = logging.getLogger("openbroker_aliyun.store")

_SCRIPTS = Path(__file__).resolve().parent / "migrations"
# Any fixed 64-bit number: the advisory lock's name.
_PG_LOCK_KEY = 0x6F62_6D69_6772_6174
_MYSQL_LOCK_SECONDS = 120


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    return config


def script_directory() -> ScriptDirectory:
    """The package's migration scripts."""
    return ScriptDirectory.from_config(_config())


def head_revision() -> str:
    """The newest revision of the schema."""
    head = script_directory().get_current_head()
    if head is None:  # pragma: no cover - the package always ships its migrations
        raise StoreError("no migration scripts found")
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None for an empty database."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()


def upgrade_to_head(engine: Engine) -> None:
    """Create or migrate the schema to the newest revision; safe to run concurrently."""
    with engine.connect() as connection:
        backend = engine.dialect.name
        if backend in ("mysql", "mariadb"):
            _with_mysql_lock(connection)
        else:
            with connection.begin():
                if backend == "postgresql":
                    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
                _run(connection)


def _with_mysql_lock(connection: Connection) -> None:
    name = f"osb_migrate_{connection.engine.url.database or ''}"[:64]
    got = connection.execute(
        text("SELECT GET_LOCK(:name, :seconds)"), {"name": name, "seconds": _MYSQL_LOCK_SECONDS}
    ).scalar()
    connection.commit()
    if got != 1:
        raise StoreError(f"could not take the migration lock within {_MYSQL_LOCK_SECONDS} s")
    try:
        # MySQL commits each DDL statement by itself; the named lock is what serialises.
        with connection.begin():
            _run(connection)
    finally:
        connection.execute(text("SELECT RELEASE_LOCK(:name)"), {"name": name})
        connection.commit()


def _run(connection: Connection) -> None:
    config = _config()
    script = ScriptDirectory.from_config(config)

    def upgrade(revision: object, _context: object) -> list[object]:
        return list(script._upgrade_revs("head", revision))  # type: ignore[arg-type]

    with EnvironmentContext(config, script, fn=upgrade, destination_rev="head") as environment:
        environment.configure(connection=connection, version_table=VERSION_TABLE)
        before = environment.get_context().get_current_revision()
        environment.run_migrations()
        after = environment.get_context().get_current_revision()
    if before != after:
        log.info("state store schema migrated", extra={"from_revision": before, "to_revision": after})

"""RDS PostgreSQL instances backed by the real PostgreSQL: the privileged-account semantics the
RDS broker relies on, grants, isolation, and nothing left after DeleteDBInstance."""

from __future__ import annotations

from typing import Any, Callable, Iterator
from urllib.parse import urlsplit

import psycopg
import pytest
from emulator_sdk import PASSWORD, PG_INSTANCE, Sdk, SqlInstance, delete_everything, rds, unique
from psycopg import sql

from openbroker_aliyun.emulator import EmulatorConfig, EmulatorServer

pytestmark = pytest.mark.services


@pytest.fixture
def backed(serve: Callable[..., EmulatorServer], postgres_admin_url: str) -> Iterator[Sdk]:
    sdk = Sdk(serve(EmulatorConfig.instant(postgres_url=postgres_admin_url)).url)
    yield sdk
    delete_everything(sdk)


def admin_rows(admin_url: str, query: str, *args: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        return list(conn.execute(query.encode(), args).fetchall())


class Instance(SqlInstance):
    """One emulated PostgreSQL instance and how to log in to it."""

    charset = "UTF8"

    def __init__(self, sdk: Sdk) -> None:
        super().__init__(sdk, PG_INSTANCE)

    def connect(self, user: str, database: str, password: str = PASSWORD) -> psycopg.Connection[Any]:
        return psycopg.connect(
            host=self.host, port=self.port, user=user, password=password, dbname=database, autocommit=True,
            connect_timeout=5,
        )  # fmt: skip


def cannot_connect(instance: Instance, user: str, database: str) -> bool:
    try:
        instance.connect(user, database).close()
    except psycopg.OperationalError:
        return True
    return False


def test_privileged_accounts_own_and_reach_the_instance_databases(
    backed: Sdk, postgres_admin_url: str
) -> None:
    instance = Instance(backed)
    assert instance.port == (urlsplit(postgres_admin_url).port or 5432)
    manager = instance.account("Super")
    db = instance.database()
    second = instance.account("Super")
    plain = instance.account()
    [(owner,)] = admin_rows(
        postgres_admin_url, "SELECT datdba::regrole::text FROM pg_database WHERE datname = %s", db
    )
    assert owner == manager
    [(superuser, createrole, createdb)] = admin_rows(
        postgres_admin_url,
        "SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = %s",
        manager,
    )
    assert (superuser, createrole, createdb) == (False, True, True)
    instance.connect(second, db).close()  # privileged accounts may connect to every database
    assert cannot_connect(instance, plain, db)  # nobody else: CONNECT is revoked from PUBLIC
    with pytest.raises(Exception) as refused:
        backed.call(
            rds(
                "CreateAccount", DBInstanceId=instance.id, AccountName="pgsomething", AccountPassword=PASSWORD
            )
        )
    assert refused.value.get_error_code() == "InvalidAccountName.Forbid"  # type: ignore[attr-defined]


def test_the_brokers_shared_ownership_flow(backed: Sdk, postgres_admin_url: str) -> None:
    """What the RDS broker does: a manager hands the database to an owner role that bindings assume."""
    instance = Instance(backed)
    manager = instance.account("Super")
    db = instance.database()
    owner_role = unique("owner")
    with instance.connect(manager, db) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(owner_role)))
        conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(owner_role), sql.Identifier(manager)))
        conn.execute(
            sql.SQL("ALTER DATABASE {} OWNER TO {}").format(sql.Identifier(db), sql.Identifier(owner_role))
        )
        conn.execute(sql.SQL("ALTER SCHEMA public OWNER TO {}").format(sql.Identifier(owner_role)))

    bindings = []
    for _ in range(2):
        binding = instance.account()
        instance.call("GrantAccountPrivilege", AccountName=binding, DBName=db, AccountPrivilege="DBOwner")
        with instance.connect(manager, db) as conn:
            conn.execute(
                sql.SQL("GRANT {} TO {}").format(sql.Identifier(owner_role), sql.Identifier(binding))
            )
            conn.execute(
                sql.SQL("ALTER ROLE {} SET role = {}").format(
                    sql.Identifier(binding), sql.Literal(owner_role)
                )
            )
        bindings.append(binding)

    with instance.connect(bindings[0], db) as conn:
        conn.execute("CREATE TABLE shared (v text)")
        conn.execute("INSERT INTO shared VALUES ('first')")
    instance.call("DeleteAccount", AccountName=bindings[0])
    assert cannot_connect(instance, bindings[0], db)
    with instance.connect(bindings[1], db) as conn:
        conn.execute("INSERT INTO shared VALUES ('second')")
        assert [r[0] for r in conn.execute("SELECT v FROM shared ORDER BY v")] == ["first", "second"]

    instance.call("DeleteDBInstance")
    assert admin_rows(postgres_admin_url, "SELECT 1 FROM pg_database WHERE datname = %s", db) == []
    leftovers = admin_rows(
        postgres_admin_url,
        "SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)",
        [manager, owner_role, *bindings],
    )
    assert leftovers == []


def test_dbowner_grant_and_revoke(backed: Sdk) -> None:
    instance = Instance(backed)
    manager = instance.account("Super")
    db = instance.database()
    with instance.connect(manager, db) as conn:
        conn.execute("CREATE TABLE existing (id int)")
    app = instance.account()
    instance.call("GrantAccountPrivilege", AccountName=app, DBName=db, AccountPrivilege="DBOwner")
    with instance.connect(app, db) as conn:
        conn.execute("INSERT INTO existing VALUES (1)")
        conn.execute("CREATE TABLE mine (id int)")
        conn.execute("CREATE TEMP TABLE scratch (id int)")
    error = backed.error(
        rds(
            "GrantAccountPrivilege",
            DBInstanceId=instance.id,
            AccountName=app,
            DBName=db,
            AccountPrivilege="ReadWrite",
        )
    )
    assert error.get_error_code() == "InvalidAccountPrivilege.Malformed"
    instance.call("RevokeAccountPrivilege", AccountName=app, DBName=db)
    assert cannot_connect(instance, app, db)
    instance.call("RevokeAccountPrivilege", AccountName=manager, DBName=db)
    instance.connect(manager, db).close()  # a privileged account keeps CONNECT


def test_deleting_accounts_drops_what_they_own(backed: Sdk, postgres_admin_url: str) -> None:
    instance = Instance(backed)
    first_manager, second_manager = instance.account("Super"), instance.account("Super")
    db = instance.database()
    app = instance.account()
    instance.call("GrantAccountPrivilege", AccountName=app, DBName=db, AccountPrivilege="DBOwner")
    with instance.connect(app, db) as conn:
        conn.execute("CREATE TABLE app_table (id int)")
    instance.call("DeleteAccount", AccountName=app)
    with instance.connect(second_manager, db) as conn:
        assert conn.execute("SELECT to_regclass('public.app_table')").fetchone() == (None,)
    instance.call("DeleteAccount", AccountName=first_manager)  # it owned the database
    [(owner,)] = admin_rows(
        postgres_admin_url, "SELECT datdba::regrole::text FROM pg_database WHERE datname = %s", db
    )
    assert owner == second_manager
    assert (
        admin_rows(postgres_admin_url, "SELECT 1 FROM pg_roles WHERE rolname = ANY(%s)", [app, first_manager])
        == []
    )


def test_instances_are_isolated(backed: Sdk) -> None:
    first, second = Instance(backed), Instance(backed)
    db1, db2 = first.database(), second.database()
    user1, user2 = first.account(), second.account()
    first.call("GrantAccountPrivilege", AccountName=user1, DBName=db1, AccountPrivilege="DBOwner")
    second.call("GrantAccountPrivilege", AccountName=user2, DBName=db2, AccountPrivilege="DBOwner")
    first.connect(user1, db1).close()
    assert cannot_connect(first, user1, db2)
    manager2 = second.account("Super")
    assert cannot_connect(second, manager2, db1)
    error = backed.error(
        rds("CreateAccount", DBInstanceId=first.id, AccountName=user2, AccountPassword=PASSWORD)
    )
    assert error.get_error_code() == "InvalidAccountName.Duplicate"
    error = backed.error(rds("CreateDatabase", DBInstanceId=first.id, DBName=db2, CharacterSetName="UTF8"))
    assert error.get_error_code() == "InvalidDBName.Duplicate"


def test_character_sets(backed: Sdk, postgres_admin_url: str) -> None:
    instance = Instance(backed)
    utf8 = instance.database("UTF8,C,en_US.utf8")
    latin = instance.database("LATIN1")
    rows = dict(
        admin_rows(
            postgres_admin_url,
            "SELECT datname, pg_encoding_to_char(encoding) FROM pg_database WHERE datname = ANY(%s)",
            [utf8, latin],
        )
    )
    assert rows == {utf8: "UTF8", latin: "LATIN1"}
    error = backed.error(
        rds("CreateDatabase", DBInstanceId=instance.id, DBName=unique("db"), CharacterSetName="utf8mb4")
    )
    assert error.get_error_code() == "InvalidCharacterSetName.Malformed"

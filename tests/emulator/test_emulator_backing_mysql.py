"""RDS MySQL instances backed by the real MariaDB: logins, grants, isolation, clean deletion."""

from __future__ import annotations

from typing import Any, Callable, Iterator
from urllib.parse import urlsplit

import pymysql
import pytest
from emulator_sdk import MYSQL_INSTANCE, PASSWORD, Sdk, SqlInstance, delete_everything, rds, unique

from openbroker_aliyun.emulator import EmulatorConfig, EmulatorServer

pytestmark = pytest.mark.services


@pytest.fixture
def admin_url(mysql_admin_url: str) -> str:
    return mysql_admin_url


@pytest.fixture
def backed(serve: Callable[..., EmulatorServer], admin_url: str) -> Iterator[Sdk]:
    sdk = Sdk(serve(EmulatorConfig.instant(mysql_url=admin_url)).url)
    yield sdk
    delete_everything(sdk)


def _admin(admin_url: str) -> pymysql.Connection[Any]:
    parts = urlsplit(admin_url)
    return pymysql.connect(
        host=parts.hostname,
        port=parts.port or 3306,
        user=parts.username or "root",
        password=parts.password or "",
        ssl_disabled=True,
    )


def server_has(admin_url: str, *, databases: list[str] = (), users: list[str] = ()) -> set[str]:  # type: ignore[assignment]
    """Which of the names exist on the server (databases, then users)."""
    found: set[str] = set()
    with _admin(admin_url) as conn, conn.cursor() as cur:
        for name in databases:
            if cur.execute("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (name,)):
                found.add(name)
        for name in users:
            if cur.execute("SELECT 1 FROM mysql.user WHERE User = %s", (name,)):
                found.add(name)
    return found


class Instance(SqlInstance):
    """One emulated MySQL instance and how to log in to it."""

    def __init__(self, sdk: Sdk, **extra: Any) -> None:
        super().__init__(sdk, MYSQL_INSTANCE, **extra)

    def connect(
        self, user: str, database: str | None = None, password: str = PASSWORD
    ) -> pymysql.Connection[Any]:
        return pymysql.connect(
            host=self.host,
            port=self.port,
            user=user,
            password=password,
            database=database,
            autocommit=True,
            ssl_disabled=True,  # loopback; pymysql's default SSL attempt costs ~0.2 s per connection
        )


def _denied(conn: pymysql.Connection[Any], statement: str) -> bool:
    try:
        with conn.cursor() as cur:
            cur.execute(statement)
    except pymysql.MySQLError as exc:
        return exc.args[0] in (1142, 1044, 1045, 1143, 1227, 1698)  # command / db / access denied
    return False


def test_instance_reports_the_backing_server(backed: Sdk, admin_url: str) -> None:
    instance = Instance(backed)
    assert (instance.host, instance.port) == (urlsplit(admin_url).hostname, urlsplit(admin_url).port or 3306)


def test_grants_are_real_and_limited(backed: Sdk) -> None:
    instance = Instance(backed)
    db = instance.database()
    rw, ro, ddl, dml = (instance.account() for _ in range(4))
    instance.call("GrantAccountPrivilege", AccountName=rw, DBName=db, AccountPrivilege="ReadWrite")
    instance.call("GrantAccountPrivilege", AccountName=ro, DBName=db, AccountPrivilege="ReadOnly")
    instance.call("GrantAccountPrivilege", AccountName=ddl, DBName=db, AccountPrivilege="DDLOnly")
    instance.call("GrantAccountPrivilege", AccountName=dml, DBName=db, AccountPrivilege="DMLOnly")

    with instance.connect(rw, db) as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE t (id INT PRIMARY KEY)")
        cur.execute("INSERT INTO t VALUES (1)")
    with instance.connect(ro, db) as conn:
        with conn.cursor() as cur:
            cur.execute("SELECT id FROM t")
            assert cur.fetchall() == ((1,),)
        assert _denied(conn, "INSERT INTO t VALUES (2)")
        assert _denied(conn, "CREATE TABLE u (id INT)")
    with instance.connect(ddl, db) as conn:
        with conn.cursor() as cur:
            cur.execute("CREATE TABLE d (id INT)")
        assert _denied(conn, "INSERT INTO t VALUES (3)")
    with instance.connect(dml, db) as conn:
        with conn.cursor() as cur:
            cur.execute("INSERT INTO t VALUES (4)")
        assert _denied(conn, "CREATE TABLE e (id INT)")

    instance.call("RevokeAccountPrivilege", AccountName=ro, DBName=db)
    with instance.connect(ro) as conn:
        assert _denied(conn, f"SELECT id FROM `{db}`.t")


def test_deleted_and_reset_accounts_cannot_log_in_with_the_old_password(backed: Sdk) -> None:
    instance = Instance(backed)
    gone, moved = instance.account(), instance.account()
    instance.connect(gone).close()
    instance.call("DeleteAccount", AccountName=gone)
    with pytest.raises(pymysql.err.OperationalError) as refused:
        instance.connect(gone)
    assert refused.value.args[0] in (1045, 1698)  # access denied (1698: MariaDB, no such user)
    instance.call("ResetAccountPassword", AccountName=moved, AccountPassword="N3w!passw0rd")
    with pytest.raises(pymysql.err.OperationalError):
        instance.connect(moved)
    instance.connect(moved, password="N3w!passw0rd").close()


def test_super_account_reaches_every_database_of_its_instance_only(backed: Sdk) -> None:
    instance, other = Instance(backed), Instance(backed)
    before = instance.database()
    admin = instance.account("Super")
    after = instance.database()
    foreign = other.database()
    with instance.connect(admin) as conn, conn.cursor() as cur:
        for db in (before, after):
            cur.execute(f"CREATE TABLE `{db}`.t (id INT)")
        assert _denied(conn, f"CREATE TABLE `{foreign}`.t (id INT)")


def test_instances_are_isolated_and_names_are_global(backed: Sdk, admin_url: str) -> None:
    first, second = Instance(backed), Instance(backed)
    db1, db2 = first.database(), second.database()
    user1, user2 = first.account(), second.account()
    first.call("GrantAccountPrivilege", AccountName=user1, DBName=db1, AccountPrivilege="ReadWrite")
    second.call("GrantAccountPrivilege", AccountName=user2, DBName=db2, AccountPrivilege="ReadWrite")
    with second.connect(user2, db2) as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE secrets (v TEXT)")
    with first.connect(user1) as conn:
        assert _denied(conn, f"SELECT * FROM `{db2}`.secrets")
    with pytest.raises(pymysql.err.OperationalError):
        first.connect(user1, db2)

    error = backed.error(
        rds("CreateAccount", DBInstanceId=first.id, AccountName=user2, AccountPassword=PASSWORD)
    )
    assert error.get_error_code() == "InvalidAccountName.Duplicate"
    error = backed.error(rds("CreateDatabase", DBInstanceId=first.id, DBName=db2, CharacterSetName="utf8"))
    assert error.get_error_code() == "InvalidDBName.Duplicate"
    outsider = unique("outsider")
    with _admin(admin_url) as conn, conn.cursor() as cur:
        cur.execute("CREATE USER %s@'localhost' IDENTIFIED BY 'x'", (outsider,))
    try:
        error = backed.error(
            rds("CreateAccount", DBInstanceId=first.id, AccountName=outsider, AccountPassword=PASSWORD)
        )
        assert error.get_error_code() == "InvalidAccountName.Duplicate"
    finally:
        with _admin(admin_url) as conn, conn.cursor() as cur:
            cur.execute("DROP USER %s@'localhost'", (outsider,))


def test_delete_instance_leaves_nothing_on_the_server(backed: Sdk, admin_url: str) -> None:
    instance = Instance(backed)
    databases = [instance.database(), instance.database()]
    users = [instance.account("Super"), instance.account()]
    instance.call(
        "GrantAccountPrivilege", AccountName=users[1], DBName=databases[0], AccountPrivilege="ReadWrite"
    )
    assert server_has(admin_url, databases=databases, users=users) == {*databases, *users}
    instance.call("DeleteDatabase", DBName=databases[1])
    assert server_has(admin_url, databases=[databases[1]]) == set()
    instance.call("DeleteDBInstance")
    assert server_has(admin_url, databases=databases, users=users) == set()

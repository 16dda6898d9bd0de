"""``EmulatorServer.stop(discard=True)``: what the emulator made on the real MariaDB goes, and
nothing else does."""

from __future__ import annotations

from typing import Callable

import pymysql
import pytest
from emulator_sdk import MYSQL_INSTANCE, PASSWORD, Sdk, SqlInstance, rds, unique
from test_emulator_backing_mysql import server_has

from openbroker_aliyun.emulator import EmulatorConfig, EmulatorServer

pytestmark = pytest.mark.services


def test_discard_drops_what_the_instances_made_and_nothing_else(
    serve: Callable[..., EmulatorServer], mysql_admin_url: str
) -> None:
    # Deletions take a while: one instance is still "Deleting" when the emulator stops.
    server = serve(EmulatorConfig.instant(mysql_url=mysql_admin_url, delete_seconds=60))
    sdk = Sdk(server.url)
    kept = unique("keep")
    admin = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="", autocommit=True)
    try:
        with admin.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{kept}`")
            cur.execute(f"CREATE USER '{kept}'@'%' IDENTIFIED BY '{PASSWORD}'")
        first, second = SqlInstance(sdk, MYSQL_INSTANCE), SqlInstance(sdk, MYSQL_INSTANCE)
        made = [first.database(), first.database(), first.account("Super"), first.account()]
        deleted = [second.database(), second.account()]
        sdk.call(rds("DeleteDBInstance", DBInstanceId=second.id))
        assert server_has(mysql_admin_url, databases=made[:2], users=made[2:]) == set(made)

        gone = server.stop(discard=True)

        assert gone is not None and gone.problems == ()
        assert set(gone.databases) | set(gone.accounts) == set(made)  # the deleting one lost its own
        assert gone.summary == "removed 2 databases, 2 accounts"
        assert (
            server_has(mysql_admin_url, databases=made[:2] + deleted[:1], users=made[2:] + deleted[1:])
            == set()
        )
        assert server_has(mysql_admin_url, databases=[kept], users=[kept]) == {kept}
        assert server.app.instances() == {"rds": [], "r-kvstore": []}
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{kept}`")
            cur.execute(f"DROP USER IF EXISTS '{kept}'@'%'")
        admin.close()

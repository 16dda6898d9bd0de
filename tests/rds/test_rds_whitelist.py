"""The RDS broker's whitelist guard over real HTTP, with the real SDK transport, against the
emulator (metadata only, no SQL server): the checks are in brokers_common/whitelist_cases.py."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

import pytest
from brokers_common import whitelist_cases
from rds_harness import (
    MYSQL,
    POSTGRES,
    Emulator,
    RunningRds,
    emulator,
    fast_transport,
    plan_id,
    rds_broker,
    rds_settings,
)


@contextmanager
def _served(state_dir: Any, **overrides: Any) -> Iterator[tuple[Emulator, RunningRds]]:
    # Without a real server the PostgreSQL owner-role SQL cannot run: turned off here.
    with emulator() as cloud:
        settings = rds_settings(cloud.url, state_dir, postgres_shared_ownership=False, **overrides)
        with rds_broker(settings) as rds:
            yield cloud, rds


def _whitelist_of(rds: RunningRds) -> whitelist_cases.WhitelistOf:
    def whitelist(instance_id: str) -> set[str]:
        fetched = rds.client.fetch_instance(instance_id)
        db_id = fetched.json["metadata"]["attributes"]["alibaba_cloud_instance_id"]
        found = fast_transport(rds.settings).call(
            "rds",
            "DescribeDBInstanceIPArrayList",
            {"RegionId": rds.settings.region_id, "DBInstanceId": db_id},
        )
        return {
            ip for g in found["Items"]["DBInstanceIPArray"] for ip in g["SecurityIPList"].split(",") if ip
        }

    return whitelist


@pytest.mark.parametrize("service", [MYSQL, POSTGRES], ids=["mysql", "postgresql"])
def test_bypass_lists_are_refused_on_provision_and_update(service: Any, tmp_path: Any) -> None:
    with _served(tmp_path) as (cloud, rds):
        small = plan_id(service, "basic-small")
        whitelist_cases.assert_provisions_refused(rds.client, cloud, service.id, small)
        whitelist_cases.assert_updates_refused(rds.client, cloud, service.id, small, _whitelist_of(rds))


def test_bypass_lists_are_accepted_when_the_operator_allows_public_access(tmp_path: Any) -> None:
    with _served(tmp_path, allow_public_access=True) as (_, rds):
        small = plan_id(MYSQL, "basic-small")
        whitelist_cases.assert_public_lists_accepted(rds.client, MYSQL.id, small, _whitelist_of(rds))

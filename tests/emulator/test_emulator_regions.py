"""``DescribeRegions`` of both products, through the SDK's own request classes: the cheap read
``check-config`` makes to see that the credentials are accepted and the region exists."""

from __future__ import annotations

from typing import Callable

from emulator_sdk import Sdk, kv, rds

from openbroker_aliyun.emulator import EmulatorConfig, EmulatorServer


def test_rds_lists_a_region_entry_per_zone_in_the_cloud_s_shape(sdk: Sdk) -> None:
    entries = sdk.call(rds("DescribeRegions"))["Regions"]["RDSRegion"]
    assert {entry["RegionId"] for entry in entries} == {"cn-hangzhou"}
    zones = [entry["ZoneId"] for entry in entries]
    assert "cn-hangzhou-h" in zones and len(zones) == len(set(zones))
    assert all(entry["RegionEndpoint"] == "rds.aliyuncs.com" for entry in entries)


def test_kvstore_lists_the_region_with_its_zones(sdk: Sdk) -> None:
    [entry] = sdk.call(kv("DescribeRegions"))["RegionIds"]["KVStoreRegion"]
    assert entry["RegionId"] == "cn-hangzhou"
    assert entry["ZoneIds"].split(",") == entry["ZoneIdList"]["ZoneId"]
    assert "cn-hangzhou-h" in entry["ZoneIdList"]["ZoneId"]


def test_the_configured_region_is_listed_and_wrong_credentials_are_refused(
    serve: Callable[..., EmulatorServer],
) -> None:
    server = serve(EmulatorConfig.instant(region_id="cn-beijing"))
    [entry] = Sdk(server.url).call(kv("DescribeRegions"))["RegionIds"]["KVStoreRegion"]
    assert entry["RegionId"] == "cn-beijing"
    refused = Sdk(server.url, secret="not-the-secret").error(rds("DescribeRegions"))
    assert refused.get_error_code() == "InvalidAccessKeySecret"

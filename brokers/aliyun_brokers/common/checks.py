"""What an Alibaba broker checks before it serves anything, and what ``check-config`` reports.

The library's checks (``openbroker_aliyun.preflight``: every setting, the encryption
keys, the state store) and the broker's own: the catalog loads and validates (the
broker is built once), and Alibaba Cloud accepts the credentials: ``DescribeRegions``
of the broker's product, a read that changes nothing, whose answer must list the
configured region.

``check-config`` fails on any problem. ``serve`` runs the same checks with two
differences: a state store that is not migrated yet passes (``serve`` migrates it at
start), and Alibaba Cloud is asked only when everything else passed; a definite refusal
(credentials, permissions, a region it does not list) stops the start, while no answer
at all (network, throttling, 5xx) is a warning: the broker still answers the platform
from its store, and retries its calls to Alibaba.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Callable

from aliyun_brokers.common.settings import CloudBrokerSettings
from openbroker_aliyun.aliyun.errors import ErrorCategory, classify
from openbroker_aliyun.aliyun.port import AliyunError, AliyunPort, Product
from openbroker_aliyun.aliyun.retry import RetryPolicy
from openbroker_aliyun.broker import ServiceBroker
from openbroker_aliyun.catalog.validation import CatalogError
from openbroker_aliyun.config import ConfigError, SettingsReading
from openbroker_aliyun.preflight import (
    Check,
    Status,
    encryption_check,
    failures,
    settings_checks,
    store_check,
)

if TYPE_CHECKING:
    from openbroker_aliyun.aliyun.sdk_client import SdkAliyunClient

__all__ = ["CATALOG", "CLOUD", "aliyun_port", "catalog_check", "cloud_check", "run_checks"]

CATALOG = "catalog"
CLOUD = "Alibaba Cloud"

# A check waits for one answer, not for the transport's full retry budget.
_CHECK_RETRY = RetryPolicy(max_attempts=2, deadline_s=10.0)
# Alibaba's message may quote the whole string it signed: the line keeps its start.
_MESSAGE_CHARS = 160
# Where each product's DescribeRegions answer lists its regions.
_REGION_LISTS = {"rds": ("Regions", "RDSRegion"), "r-kvstore": ("RegionIds", "KVStoreRegion")}


def aliyun_port(settings: CloudBrokerSettings, *, retry: RetryPolicy | None = None) -> SdkAliyunClient:
    """The transport a broker's calls go through (its calls counted in the metrics)."""
    from openbroker_aliyun.aliyun.metrics import aliyun_call_observer
    from openbroker_aliyun.aliyun.sdk_client import SdkAliyunClient

    aliyun = settings.aliyun() if retry is None else dataclasses.replace(settings.aliyun(), retry=retry)
    return SdkAliyunClient(aliyun, on_call=aliyun_call_observer())


def run_checks(
    name: str,
    product: Product,
    build_broker: Callable[[Any, AliyunPort], ServiceBroker],
    reading: SettingsReading[CloudBrokerSettings],
    *,
    serving: bool,
    offline: bool,
) -> list[Check]:
    """Every check, in order: settings, encryption keys, state store, catalog, Alibaba Cloud.

    A check that needs a setting whose value is not known (it did not parse, or the
    settings file could not be read) is skipped; the settings check names the problem.
    ``serving``: the checks of ``serve`` (see the module docstring).
    """
    values = reading.values
    checks = settings_checks(reading)
    if "encryption_keys" in values:
        checks.append(encryption_check(values["encryption_keys"], bool(values.get("allow_plaintext"))))
    else:
        checks.append(Check("encryption keys", Status.SKIPPED, "BROKER_ENCRYPTION_KEYS is not known"))
    if "state_url" in values:
        checks.append(
            store_check(values["state_url"], require_head=not serving, migrate_hint=f"{name} migrate")
        )
    else:
        checks.append(Check("state store", Status.SKIPPED, "BROKER_STATE_URL is not known"))
    settings = reading.settings
    if settings is None:
        skipped = "needs the settings to be valid first"
        return [*checks, Check(CATALOG, Status.SKIPPED, skipped), Check(CLOUD, Status.SKIPPED, skipped)]
    checks.append(catalog_check(build_broker, settings))
    if offline:
        checks.append(Check(CLOUD, Status.SKIPPED, "--offline"))
    elif serving and failures(checks):
        checks.append(Check(CLOUD, Status.SKIPPED, "not asked: the start is refused already"))
    else:
        checks.append(cloud_check(settings, product, strict=not serving))
    return checks


def catalog_check(
    build_broker: Callable[[Any, AliyunPort], ServiceBroker], settings: CloudBrokerSettings
) -> Check:
    """The catalog (the built-in one or ``BROKER_CATALOG_FILE``) loads and validates."""
    try:
        port = aliyun_port(settings)
    except ValueError as error:
        return Check(CATALOG, Status.SKIPPED, f"the Alibaba Cloud client cannot be made: {error}")
    try:
        broker = build_broker(settings, port)
    except (ConfigError, CatalogError, ValueError) as error:
        return Check(CATALOG, Status.FAILED, str(error))
    finally:
        port.close()
    services = broker.catalog.services
    plans = sum(len(service.plans) for service in services)
    return Check(CATALOG, Status.OK, f"{len(services)} services, {plans} plans, valid")


def cloud_check(settings: CloudBrokerSettings, product: Product, *, strict: bool) -> Check:
    """Alibaba Cloud accepts the credentials and lists the configured region.

    ``strict`` (``check-config``): no answer fails too. Otherwise (``serve``) it is a
    warning. Messages carry Alibaba's error code and message, secrets masked.
    """
    region = settings.region_id
    try:
        port = aliyun_port(settings, retry=_CHECK_RETRY)
    except ValueError as error:  # no endpoint is known for the region
        return Check(CLOUD, Status.FAILED, str(error))
    try:
        answer = port.call(product, "DescribeRegions", {}, idempotent=True)
    except AliyunError as error:
        category = classify(error)
        if category.transient and not strict:
            return Check(
                CLOUD,
                Status.WARNING,
                f"{product} DescribeRegions got no answer ({error.code}); starting anyway, "
                "the broker retries its calls",
            )
        hint = (
            "; check ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET "
            "(and the RAM policy of that key)"
            if category is ErrorCategory.AUTH
            else ""
        )
        said = (
            error.message if len(error.message) <= _MESSAGE_CHARS else error.message[:_MESSAGE_CHARS] + "..."
        )
        return Check(
            CLOUD, Status.FAILED, f"{product} DescribeRegions was refused: {error.code}: {said}{hint}"
        )
    finally:
        port.close()
    container, entry = _REGION_LISTS[product]
    listed = {item.get("RegionId") for item in answer.get(container, {}).get(entry, [])}
    if region not in listed:
        return Check(
            CLOUD,
            Status.FAILED,
            f"the credentials are accepted, but {product} does not list region {region!r} "
            "(ALIBABA_CLOUD_REGION_ID)",
        )
    return Check(CLOUD, Status.OK, f"{product} DescribeRegions accepted the credentials and lists {region}")

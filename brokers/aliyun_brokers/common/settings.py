"""Settings every Alibaba Cloud broker shares, on top of the framework's ``BrokerSettings``.

Read like the framework's settings (``CloudBrokerSettings.from_sources(environ, file)``):
a YAML file whose keys are the field names, and environment variables that win over it.
A broker for one product subclasses this class and adds its own fields with
``setting(...)``. docs/configuration.md has the table of every setting.

Checks that need more than one field (the network settings, the whitelist guard of
common/whitelist.py) run when the object is built, so the broker refuses to start with a
message that names the setting and never its value (a whitelist entry that parsed as a
network is named: an address is not a secret, and the operator needs to know which one).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Iterable, Mapping

from aliyun_brokers.common.whitelist import (
    DEFAULT_MIN_PREFIX_IPV4,
    DEFAULT_MIN_PREFIX_IPV6,
    WhitelistPolicy,
    operator_problems,
    parse_security_ip,
)
from openbroker_aliyun.aliyun.settings import (
    ENV_ACCESS_KEY_ID,
    ENV_ACCESS_KEY_SECRET,
    ENV_ENDPOINT,
    ENV_REGION_ID,
    ENV_SECURITY_TOKEN,
    AliyunSettings,
)
from openbroker_aliyun.config import (
    BrokerSettings,
    ConfigError,
    parse_bool,
    parse_float,
    parse_int,
    parse_str,
    parse_str_tuple,
    setting,
)

__all__ = [
    "CloudBrokerSettings",
    "parse_zone_map",
]

_BROKER_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")


def parse_zone_map(value: Any) -> dict[str, str]:
    """Zones users may choose, each with its VSwitch: ``zone=vswitch,...`` or a mapping."""
    if isinstance(value, str):
        pairs: dict[str, str] = {}
        for part in (item.strip() for item in value.split(",")):
            if not part:
                continue
            zone, sep, vswitch = part.partition("=")
            if not sep or not zone.strip() or not vswitch.strip():
                raise ValueError("expected zone=vswitch pairs separated by commas")
            pairs[zone.strip()] = vswitch.strip()
        return pairs
    if isinstance(value, Mapping) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        return dict(value)
    raise ValueError("expected a mapping of zone ids to VSwitch ids")


def _parse_security_ips(value: Any) -> tuple[str, ...]:
    return tuple(parse_security_ip(item) for item in parse_str_tuple(value))


@dataclass(frozen=True, kw_only=True)
class CloudBrokerSettings(BrokerSettings):
    """The framework's settings plus Alibaba credentials, network and polling settings."""

    # -- Alibaba Cloud account (the variable names of Alibaba's own tools) ----------------
    access_key_id: str = setting(env=ENV_ACCESS_KEY_ID, parse=parse_str)
    access_key_secret: str = setting(env=ENV_ACCESS_KEY_SECRET, parse=parse_str, secret=True)
    security_token: str | None = setting(env=ENV_SECURITY_TOKEN, parse=parse_str, default=None, secret=True)
    region_id: str = setting(env=ENV_REGION_ID, parse=parse_str)
    aliyun_endpoint: str | None = setting(env=ENV_ENDPOINT, parse=parse_str, default=None)

    # -- identity of this broker in tags and idempotency tokens ----------------------------
    broker_id: str = setting(env="BROKER_ID", parse=parse_str, default="openbroker")

    # -- where instances are created -------------------------------------------------------
    vpc_id: str = setting(env="BROKER_VPC_ID", parse=parse_str)
    vswitch_id: str = setting(env="BROKER_VSWITCH_ID", parse=parse_str)
    zone_id: str = setting(env="BROKER_ZONE_ID", parse=parse_str)
    allow_user_zone: bool = setting(env="BROKER_ALLOW_USER_ZONE", parse=parse_bool, default=False)
    user_zones: dict[str, str] = setting(  # noqa: RUF009 (a field declaration, called once)
        env="BROKER_USER_ZONES", parse=parse_zone_map, default_factory=dict
    )
    security_ips: tuple[str, ...] = setting(env="BROKER_SECURITY_IPS", parse=_parse_security_ips)
    allow_public_access: bool = setting(env="BROKER_ALLOW_PUBLIC_ACCESS", parse=parse_bool, default=False)
    # What users may add to an instance's whitelist (common/whitelist.py): entries inside
    # the private ranges, the operator's security_ips and these networks, each no broader
    # than the minimum prefix.
    allowed_networks: tuple[str, ...] = setting(
        env="BROKER_ALLOWED_NETWORKS", parse=_parse_security_ips, default=()
    )
    min_prefix_ipv4: int = setting(
        env="BROKER_MIN_PREFIX_IPV4", parse=parse_int, default=DEFAULT_MIN_PREFIX_IPV4
    )
    min_prefix_ipv6: int = setting(
        env="BROKER_MIN_PREFIX_IPV6", parse=parse_int, default=DEFAULT_MIN_PREFIX_IPV6
    )

    # -- API economy -----------------------------------------------------------------------
    refresh_seconds: float = setting(env="BROKER_REFRESH_SECONDS", parse=parse_float, default=5.0)
    # How soon another process resumes the operations of a broker process that died.
    lease_seconds: float = setting(env="BROKER_LEASE_SECONDS", parse=parse_float, default=60.0)

    # -- catalog ---------------------------------------------------------------------------
    catalog_file: str | None = setting(env="BROKER_CATALOG_FILE", parse=parse_str, default=None)

    def __post_init__(self) -> None:
        super().__post_init__()
        problems = []
        for name in ("access_key_id", "access_key_secret", "region_id", "vpc_id", "vswitch_id", "zone_id"):
            if not getattr(self, name):
                problems.append(f"{name} must not be empty")
        if not _BROKER_ID.match(self.broker_id):
            problems.append("broker_id (BROKER_ID) must be 1-32 lower-case letters, digits or '-'")
        problems += self._whitelist_problems()
        if self.allow_user_zone and not self.user_zones:
            problems.append(
                "allow_user_zone (BROKER_ALLOW_USER_ZONE) needs user_zones (BROKER_USER_ZONES): "
                "the zones users may choose, each with its VSwitch"
            )
        if not self.lease_seconds > 0:
            problems.append("lease_seconds (BROKER_LEASE_SECONDS) must be a positive number of seconds")
        if not self.refresh_seconds > 0:
            problems.append("refresh_seconds (BROKER_REFRESH_SECONDS) must be a positive number of seconds")
        if self.catalog_file is not None and not Path(self.catalog_file).is_file():
            problems.append("catalog_file (BROKER_CATALOG_FILE) does not name a readable file")
        if problems:
            raise ConfigError("Invalid settings: " + "; ".join(problems))
        try:
            self.aliyun()  # endpoint checks (https, loopback http) at start-up, not at first use
        except ValueError as exc:
            raise ConfigError(f"Invalid Alibaba Cloud settings: {exc}") from None

    def _whitelist_problems(self) -> list[str]:
        """Normalise the whitelist settings and say what is wrong with them (see whitelist.py)."""
        problems = []
        for name, env in (
            ("security_ips", "BROKER_SECURITY_IPS"),
            ("allowed_networks", "BROKER_ALLOWED_NETWORKS"),
        ):
            try:
                object.__setattr__(self, name, tuple(parse_security_ip(item) for item in getattr(self, name)))
            except ValueError as exc:
                problems.append(f"{name} ({env}): {exc}")
                object.__setattr__(self, name, ())
        if not self.security_ips and not problems:
            problems.append("security_ips (BROKER_SECURITY_IPS) must list at least one address or CIDR block")
        if not 0 <= self.min_prefix_ipv4 <= 32:
            problems.append("min_prefix_ipv4 (BROKER_MIN_PREFIX_IPV4) must be a prefix length from 0 to 32")
        if not 0 <= self.min_prefix_ipv6 <= 128:
            problems.append("min_prefix_ipv6 (BROKER_MIN_PREFIX_IPV6) must be a prefix length from 0 to 128")
        if not problems and not self.allow_public_access:
            problems += operator_problems(
                self.security_ips,
                self.allowed_networks,
                min_prefix_ipv4=self.min_prefix_ipv4,
                min_prefix_ipv6=self.min_prefix_ipv6,
            )
        return problems

    @cached_property
    def whitelist_policy(self) -> WhitelistPolicy:
        """What users may add to an instance's whitelist (``security_ips`` parameters)."""
        return WhitelistPolicy(
            extra_networks=(*self.security_ips, *self.allowed_networks),
            min_prefix_ipv4=self.min_prefix_ipv4,
            min_prefix_ipv6=self.min_prefix_ipv6,
            allow_public=self.allow_public_access,
        )

    def aliyun(self) -> AliyunSettings:
        """The transport's settings."""
        return AliyunSettings(
            access_key_id=self.access_key_id,
            access_key_secret=self.access_key_secret,
            security_token=self.security_token,
            region_id=self.region_id,
            endpoint=self.aliyun_endpoint,
        )

    def whitelist(self, extra: Iterable[str] = ()) -> list[str]:
        """The security IPs of an instance: the operator's, then a user's ``extra``, without repeats."""
        return list(dict.fromkeys([*self.security_ips, *extra]))

    def zones_for_users(self) -> dict[str, str]:
        """The zones a user may pick (with their VSwitch); empty when users may not pick."""
        return dict(self.user_zones) if self.allow_user_zone else {}

    def vswitch_for(self, zone_id: str | None) -> tuple[str, str]:
        """``(zone_id, vswitch_id)`` for a user's zone choice, or the operator's default."""
        if zone_id is None or zone_id == self.zone_id:
            return self.zone_id, self.vswitch_id
        return zone_id, self.zones_for_users()[zone_id]

"""Plan parameter fields every Alibaba broker offers, and how its schemas are built.

``security_ips``, ``tls`` and ``zone_id`` mean the same for every product, and so does
``engine_version`` on update (accepted only to refuse a change with a clear 422). Each
broker's parameters module builds one ``strict_schema`` per plan and operation from these
fields (``provision_fields``, ``update_fields``) and its own.

``security_ips`` adds whitelist entries to the operator's. The schema checks that each is an
address or a CIDR block; whether the operator's whitelist policy (common/whitelist.py)
accepts it is checked by ``refuse_disallowed_ips`` before anything is recorded, on provision
and update alike.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from aliyun_brokers.common.whitelist import WhitelistPolicy, parse_security_ip
from openbroker_aliyun.errors import BadRequest

__all__ = [
    "MAX_SECURITY_IPS",
    "engine_version_field",
    "fixed_engine_version_field",
    "provision_fields",
    "refuse_disallowed_ips",
    "security_ips_field",
    "strict_schema",
    "tls_field",
    "update_fields",
    "zone_field",
]

#: Alibaba allows 1000 whitelist entries per instance; the operator's share comes first.
MAX_SECURITY_IPS = 100


def _security_ip(value: str) -> None:
    try:
        parse_security_ip(value)
    except ValueError:
        raise ValidationError("Must be an IPv4 or IPv6 address or a CIDR block.") from None


def security_ips_field(**default: Any) -> fields.List:
    """``security_ips``: extra addresses or CIDR blocks (``load_default=[]`` on provision)."""
    return fields.List(
        fields.String(validate=_security_ip),
        validate=validate.Length(max=MAX_SECURITY_IPS),
        **default,
        metadata={
            "description": "Extra addresses or CIDR blocks allowed to connect, added to the operator's list. "
            "Unless the operator allows public access, each must lie inside private networks or "
            "networks the operator allows, and be no broader than the operator's minimum prefix "
            "(/16 for IPv4 and /48 for IPv6 by default)."
        },
    )


def tls_field(**default: Any) -> fields.Boolean:
    """``tls``: encrypted client connections on or off."""
    return fields.Boolean(
        **default,
        metadata={"description": "Turn on TLS for client connections (credentials then ask for TLS)."},
    )


def zone_field(zones: Sequence[str]) -> fields.String:
    """``zone_id``: one of the zones the operator lets users choose."""
    return fields.String(
        validate=validate.OneOf(list(zones)),
        metadata={"description": "Alibaba Cloud zone to create the instance in (default: the operator's)."},
    )


def engine_version_field(engine: str, versions: Sequence[str]) -> fields.String:
    """``engine_version`` on provision: one of ``versions``, the first by default."""
    return fields.String(
        validate=validate.OneOf(list(versions)),
        load_default=versions[0],
        metadata={"description": f"{engine} major version. Cannot be changed later."},
    )


def fixed_engine_version_field() -> fields.String:
    """``engine_version`` on update: accepted so that a change is refused with a 422 saying why."""
    return fields.String(
        metadata={
            "description": "Engine version changes are not supported; sending another version is refused."
        }
    )


def provision_fields(engine: str, versions: Sequence[str], zones: Sequence[str]) -> dict[str, Any]:
    """The provision fields every broker offers: ``engine_version``, ``security_ips``, ``tls``
    and, when the operator lets users choose among ``zones``, ``zone_id``."""
    found: dict[str, Any] = {
        "engine_version": engine_version_field(engine, versions),
        # The loaded list is serialised again by the framework, so sharing it is harmless.
        "security_ips": security_ips_field(load_default=[]),
        "tls": tls_field(load_default=False),
    }
    if zones:
        found["zone_id"] = zone_field(zones)
    return found


def update_fields() -> dict[str, Any]:
    """The update fields every broker offers (loaded partially: only the keys given)."""
    return {
        "security_ips": security_ips_field(),
        "tls": tls_field(),
        "engine_version": fixed_engine_version_field(),
    }


def strict_schema(name: str, attrs: dict[str, Any]) -> type[Schema]:
    """A marshmallow schema class named ``name`` with ``attrs`` as fields; unknown keys are refused."""

    class Meta:
        unknown = RAISE

    return type(name, (Schema,), {"Meta": Meta, **attrs})


def refuse_disallowed_ips(ips: Iterable[str] | None, policy: WhitelistPolicy) -> None:
    """``BadRequest`` naming the first of ``ips`` (schema-checked) that ``policy`` refuses, and why."""
    refusals = policy.refusals(ips or ())
    if not refusals:
        return
    others = len(refusals) - 1
    more = f" ({others} more {'entry is' if others == 1 else 'entries are'} refused too.)" if others else ""
    raise BadRequest(f"Invalid parameters: security_ips: {refusals[0]}{more}")

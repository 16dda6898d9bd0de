"""Plan parameters about network access that every Alibaba broker offers.

Product-neutral (nothing here knows Redis): written to move to ``aliyun_brokers.common``
as it is; the RDS broker's ``security_ips``, ``tls`` and ``zone_id`` fields are the same.

``security_ips`` adds whitelist entries to the operator's; whole-internet blocks pass the
schema (which cannot know the settings) and are refused by ``refuse_public_ips`` before
anything is recorded, unless the operator allows public access.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from marshmallow import ValidationError, fields, validate

from aliyun_brokers.common.settings import is_public, parse_security_ip
from openbroker_aliyun.errors import BadRequest

__all__ = ["MAX_SECURITY_IPS", "refuse_public_ips", "security_ips_field", "tls_field", "zone_field"]

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
            "description": "Extra addresses or CIDR blocks allowed to connect, added to the operator's list "
            "(whole-internet blocks only where the operator allows them)."
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


def refuse_public_ips(ips: Iterable[str] | None, *, allowed: bool) -> None:
    """``BadRequest`` when ``ips`` open the instance to the whole internet and that is not ``allowed``."""
    if not allowed and any(is_public(ip) for ip in ips or ()):
        raise BadRequest(
            "Invalid parameters: security_ips: whole-internet blocks (0.0.0.0/0) "
            "are not allowed by the operator."
        )

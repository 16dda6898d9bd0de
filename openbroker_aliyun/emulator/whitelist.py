"""IP whitelists (security IP groups): validation and the Cover / Append / Delete modes."""

from __future__ import annotations

import ipaddress

from .errors import ApiError
from .state import IpGroup

MAX_ENTRIES = 1000
MODES = ("Cover", "Append", "Delete")


def parse_security_ips(text: str, *, code: str = "InvalidSecurityIPList.Malformed") -> list[str]:
    """A comma list of IPv4/IPv6 addresses or CIDR blocks (``%`` and ``0.0.0.0/0`` included)."""
    entries = [item.strip() for item in text.split(",") if item.strip()]
    if not entries or len(entries) > MAX_ENTRIES:
        raise ApiError(code, f"Specified security IP list must hold 1 to {MAX_ENTRIES} entries.")
    for entry in entries:
        if entry == "%":
            continue
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ApiError(
                code, "Specified security IP list contains an entry that is not an IP or CIDR."
            ) from None
    return entries


def modify_ip_group(groups: list[IpGroup], name: str, ips: list[str], mode: str, attribute: str) -> None:
    """Apply Cover / Append / Delete to a named group (created on first use)."""
    group = next((g for g in groups if g.name == name), None)
    if group is None:
        group = IpGroup(name=name, ips=[], attribute=attribute)
        groups.append(group)
    if mode == "Cover":
        group.ips = list(dict.fromkeys(ips))
    elif mode == "Append":
        group.ips = list(dict.fromkeys(group.ips + ips))
    else:
        group.ips = [ip for ip in group.ips if ip not in ips]
    if attribute:
        group.attribute = attribute

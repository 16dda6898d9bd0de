"""The access policy of instance whitelists (``security_ips``): what a user may add, what the
operator may list.

Entries are judged by the addresses they admit, with range arithmetic, never by how they
are spelled: ``0.0.0.0/1`` plus ``128.0.0.0/1`` open as much as ``0.0.0.0/0``, and so do
``::ffff:0:0/96`` (IPv4-mapped IPv6) and the eight IPv4 ``/3`` blocks.

- **The allowed space** is ``PRIVATE_NETWORKS`` (RFC 1918, shared/CGNAT, loopback,
  link-local, IPv6 ULA) plus the networks the operator lists (``security_ips`` and
  ``allowed_networks``). A user's entry must lie wholly inside it, and must be no broader
  than the operator's minimum prefix (``/16`` for IPv4 and ``/48`` for IPv6 by default),
  even inside private space. With ``allow_public`` every entry is accepted.
- **Embedded IPv4.** An IPv4-mapped entry (inside ``::ffff:0:0/96``) is judged only as the
  IPv4 block it spells: a dual-stack server sees IPv4 clients as such addresses. NAT64
  (``64:ff9b::/96``) and 6to4 (``2002::/16``) entries are real IPv6 addresses that carry an
  IPv4 one, so they are judged both ways: as IPv6 (public by default) and by the IPv4
  addresses they embed. An IPv6 entry that contains one of these ranges (``::/64``,
  ``2000::/3``) embeds the whole IPv4 internet.
- **The operator's own lists** (``operator_problems``): without public access,
  ``security_ips`` may hold private networks, networks also declared in
  ``allowed_networks``, and single public addresses (a NAT gateway's EIP: one host the
  operator chose, never "the internet"); a public network in ``allowed_networks`` must be
  no broader than the minimum prefix.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Iterable, TypeAlias, TypeVar

__all__ = [
    "DEFAULT_MIN_PREFIX_IPV4",
    "DEFAULT_MIN_PREFIX_IPV6",
    "PRIVATE_NETWORKS",
    "WhitelistPolicy",
    "operator_problems",
    "parse_security_ip",
]

IPNetwork: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network

DEFAULT_MIN_PREFIX_IPV4 = 16
DEFAULT_MIN_PREFIX_IPV6 = 48

#: Addresses that are never reachable from the internet: the default allowed space.
PRIVATE_NETWORKS: tuple[IPNetwork, ...] = tuple(
    ipaddress.ip_network(text)
    for text in (
        "10.0.0.0/8",  # RFC 1918
        "172.16.0.0/12",  # RFC 1918
        "192.168.0.0/16",  # RFC 1918
        "100.64.0.0/10",  # shared address space (carrier-grade NAT), RFC 6598
        "127.0.0.0/8",  # loopback
        "169.254.0.0/16",  # link-local
        "fc00::/7",  # unique local addresses, RFC 4193
        "::1/128",  # loopback
        "fe80::/10",  # link-local
    )
)

_N = TypeVar("_N", ipaddress.IPv4Network, ipaddress.IPv6Network)


@dataclass(frozen=True)
class _Embedding:
    """An IPv6 range whose addresses carry an IPv4 address at bit ``offset``."""

    prefix: ipaddress.IPv6Network
    offset: int

    def overlaps(self, network: ipaddress.IPv6Network) -> bool:
        return network.subnet_of(self.prefix) or self.prefix.subnet_of(network)

    def ipv4(self, network: ipaddress.IPv6Network) -> ipaddress.IPv4Network:
        """The IPv4 addresses that ``network`` (overlapping ``prefix``) embeds."""
        part = network if network.subnet_of(self.prefix) else self.prefix
        bits = (int(part.network_address) >> (128 - self.offset - 32)) & 0xFFFFFFFF
        length = min(max(part.prefixlen - self.offset, 0), 32)
        return ipaddress.IPv4Network((bits, length), strict=False)


_MAPPED = _Embedding(ipaddress.IPv6Network("::ffff:0:0/96"), 96)
#: Judged as IPv6 and by the IPv4 they embed: NAT64's well-known prefix (RFC 6052), 6to4 (RFC 3056).
_EMBEDDING = (
    _Embedding(ipaddress.IPv6Network("64:ff9b::/96"), 96),
    _Embedding(ipaddress.IPv6Network("2002::/16"), 16),
)


def parse_security_ip(text: str) -> str:
    """One whitelist entry (IPv4/IPv6 address or CIDR block), normalised; ``ValueError`` if not."""
    network = _network(text)
    return network.compressed if network.num_addresses > 1 else str(network.network_address)


def _network(text: str) -> IPNetwork:
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        raise ValueError("every security IP must be an IP address or a CIDR block") from None


def _canonical(network: IPNetwork) -> IPNetwork:
    """``network`` without an IPv6 scope, and an IPv4-mapped block as the IPv4 block it spells."""
    if isinstance(network, ipaddress.IPv4Network):
        return network
    plain = ipaddress.IPv6Network((int(network.network_address), network.prefixlen))
    return _MAPPED.ipv4(plain) if plain.subnet_of(_MAPPED.prefix) else plain


def _views(text: str) -> list[IPNetwork]:
    """The blocks an entry is judged as: itself (canonical), then each IPv4 block it embeds."""
    network = _canonical(_network(text))
    if isinstance(network, ipaddress.IPv4Network):
        return [network]
    return [network, *(e.ipv4(network) for e in (_MAPPED, *_EMBEDDING) if e.overlaps(network))]


def _covered(network: _N, space: Iterable[_N]) -> bool:
    """Whether the disjoint blocks of ``space`` hold every address of ``network``."""
    held = 0
    for block in space:
        if network.subnet_of(block):
            return True
        if block.subnet_of(network):
            held += block.num_addresses
    return held == network.num_addresses


@dataclass(frozen=True)
class WhitelistPolicy:
    """Which whitelist entries users may add (see the module docstring).

    ``extra_networks``: what the operator adds to ``PRIVATE_NETWORKS`` (its own
    ``security_ips`` and ``allowed_networks``). Raises ``ValueError`` if one is not a network.
    """

    extra_networks: tuple[str, ...] = ()
    min_prefix_ipv4: int = DEFAULT_MIN_PREFIX_IPV4
    min_prefix_ipv6: int = DEFAULT_MIN_PREFIX_IPV6
    allow_public: bool = False
    _space4: tuple[ipaddress.IPv4Network, ...] = field(init=False, repr=False, compare=False)
    _space6: tuple[ipaddress.IPv6Network, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        listed = [*PRIVATE_NETWORKS, *(_canonical(_network(text)) for text in self.extra_networks)]
        # The mapped range counts as held in the IPv6 view: its IPv4 view judges it.
        ipv6 = [n for n in listed if isinstance(n, ipaddress.IPv6Network)] + [_MAPPED.prefix]
        ipv4 = [n for n in listed if isinstance(n, ipaddress.IPv4Network)]
        # Collapsed: disjoint blocks, so that _covered can add their sizes up.
        object.__setattr__(self, "_space4", tuple(ipaddress.collapse_addresses(ipv4)))
        object.__setattr__(self, "_space6", tuple(ipaddress.collapse_addresses(ipv6)))

    def refusal(self, entry: str) -> str | None:
        """Why a user may not add ``entry`` (a valid entry), or None when it is accepted."""
        if self.allow_public:
            return None
        written, views = _network(entry), _views(entry)
        shown = entry.strip()
        for view in views:
            if not self._inside(view):
                return (
                    f"{shown}{_as(view, written)} admits addresses outside the networks the operator "
                    "allows (private networks and the operator's own). List only the private "
                    "addresses of the apps that connect, or ask the operator to allow that network."
                )
        for view in views:
            widest = self._widest(view)
            if view.prefixlen < widest:
                return (
                    f"{shown}{_as(view, written)} is broader than /{widest}, the widest block the "
                    f"operator allows in one entry. List narrower blocks (/{widest} or longer) "
                    "holding only the addresses that need access."
                )
        return None

    def refusals(self, entries: Iterable[str]) -> list[str]:
        """``refusal`` of each refused entry, in order."""
        return [reason for reason in map(self.refusal, entries) if reason is not None]

    def admits_outside(self, entry: str) -> bool:
        """True when ``entry`` admits an address outside the allowed space, whatever ``allow_public``."""
        return not all(self._inside(view) for view in _views(entry))

    def too_broad(self, entry: str) -> bool:
        """True when ``entry`` (or an IPv4 block it embeds) is broader than the minimum prefix."""
        return any(view.prefixlen < self._widest(view) for view in _views(entry))

    def _inside(self, network: IPNetwork) -> bool:
        if isinstance(network, ipaddress.IPv4Network):
            return _covered(network, self._space4)
        return _covered(network, self._space6)

    def _widest(self, network: IPNetwork) -> int:
        return self.min_prefix_ipv4 if network.version == 4 else self.min_prefix_ipv6


def _as(view: IPNetwork, written: IPNetwork) -> str:
    """How a refusal names the block it judged, when that is not the entry as written."""
    return f" (as IPv4: {view})" if view.version != written.version else ""


def _single_address(entry: str) -> bool:
    network = _canonical(_network(entry))
    return network.num_addresses == 1


_REALLY_PUBLIC = (
    "set allow_public_access (BROKER_ALLOW_PUBLIC_ACCESS) to true if opening instances "
    "to the internet is really intended"
)


def operator_problems(
    security_ips: Iterable[str],
    allowed_networks: Iterable[str],
    *,
    min_prefix_ipv4: int = DEFAULT_MIN_PREFIX_IPV4,
    min_prefix_ipv6: int = DEFAULT_MIN_PREFIX_IPV6,
) -> list[str]:
    """Why the operator's own lists open instances to the internet (checked at start-up
    unless public access is allowed); empty when they do not. Each problem names the
    setting and the entry (a parsed network: an address, never a secret)."""
    approved = tuple(allowed_networks)
    private = WhitelistPolicy(min_prefix_ipv4=min_prefix_ipv4, min_prefix_ipv6=min_prefix_ipv6)
    declared = WhitelistPolicy(extra_networks=approved)
    broad = [entry for entry in approved if private.admits_outside(entry) and private.too_broad(entry)]
    public = [e for e in security_ips if declared.admits_outside(e) and not _single_address(e)]
    problems = []
    if broad:
        problems.append(
            f"allowed_networks (BROKER_ALLOWED_NETWORKS): {', '.join(broad)} admit public "
            "addresses and are broader than the minimum prefix (BROKER_MIN_PREFIX_IPV4 / "
            f"BROKER_MIN_PREFIX_IPV6); list the operator's own public networks narrowly, or {_REALLY_PUBLIC}"
        )
    if public:
        problems.append(
            f"security_ips (BROKER_SECURITY_IPS): {', '.join(public)} admit public addresses; "
            "list the platform's private networks or single public addresses (e.g. a NAT "
            "gateway's), declare the operator's own public network in allowed_networks "
            f"(BROKER_ALLOWED_NETWORKS), or {_REALLY_PUBLIC}"
        )
    return problems

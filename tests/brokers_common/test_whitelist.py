"""WhitelistPolicy: whitelist entries judged by the addresses they admit, not by their spelling.

Every known bypass of a string match against ``0.0.0.0/0``: splitting the internet into
blocks, IPv4-mapped IPv6, broad IPv6 blocks, NAT64/6to4 embeddings; then the minimum
prefix, the operator's extra networks and the operator's own lists.
"""

from __future__ import annotations

import pytest
from aliyun_brokers.common.whitelist import PRIVATE_NETWORKS, WhitelistPolicy, operator_problems

#: What the brokers under test use: the operator lists one loopback address.
POLICY = WhitelistPolicy(extra_networks=("127.0.0.1",))

EIGHT_SLASH_3 = [f"{first}.0.0.0/3" for first in range(0, 256, 32)]

OUTSIDE = [
    "0.0.0.0/0",
    "::/0",
    "0.0.0.0/1",
    "128.0.0.0/1",
    *EIGHT_SLASH_3,
    "::ffff:0.0.0.0/96",
    "::ffff:0:0/96",
    "::ffff:0:0/95",  # holds the mapped range and more
    "::/64",  # holds the mapped range
    "::/96",  # IPv4-compatible (deprecated): public IPv6
    "2000::/3",
    "2002::/16",  # 6to4: the whole IPv4 internet
    "2002:a01::/32",  # 6to4 of a private block is still a public IPv6 block
    "64:ff9b::/96",  # NAT64: the whole IPv4 internet
    "8.8.8.8",
    "203.0.113.0/24",
    "::ffff:8.8.8.8",
    "2001:db8::1",
    "11.0.0.0/16",
    "172.32.0.0/16",  # just past RFC 1918's 172.16.0.0/12
    "100.128.0.0/16",  # just past the shared space 100.64.0.0/10
    "fe00::/48",  # just below fc00::/7
]


@pytest.mark.parametrize("entry", OUTSIDE)
def test_entries_admitting_public_addresses_are_refused(entry: str) -> None:
    reason = POLICY.refusal(entry)
    assert reason is not None and reason.startswith(entry)
    assert "outside the networks the operator allows" in reason
    assert POLICY.admits_outside(entry)


@pytest.mark.parametrize(
    "entries",
    [["0.0.0.0/1", "128.0.0.0/1"], EIGHT_SLASH_3, ["::ffff:0.0.0.0/97", "::ffff:128.0.0.0/97"]],
    ids=["two-halves", "eight-slash-3", "mapped-halves"],
)
def test_splitting_the_internet_into_blocks_does_not_help(entries: list[str]) -> None:
    # Together they cover the IPv4 internet; each one alone is refused.
    assert len(POLICY.refusals(entries)) == len(entries)


def test_ipv4_mapped_entries_are_judged_as_the_ipv4_block_they_spell() -> None:
    assert POLICY.refusal("::ffff:10.1.2.0/120") is None
    assert POLICY.refusal("::ffff:192.168.1.7") is None
    assert POLICY.refusal("::ffff:0.0.0.0/96") == (
        "::ffff:0.0.0.0/96 (as IPv4: 0.0.0.0/0) admits addresses outside the networks the operator "
        "allows (private networks and the operator's own). List only the private addresses of the "
        "apps that connect, or ask the operator to allow that network."
    )
    broad = POLICY.refusal("::ffff:10.0.0.0/104")
    assert broad is not None and "(as IPv4: 10.0.0.0/8) is broader than /16" in broad


@pytest.mark.parametrize(
    "entry",
    [
        "10.1.0.0/16",
        "10.1.2.3",
        "172.16.5.0/24",
        "192.168.0.0/16",
        "100.64.0.0/16",
        "127.0.0.1",
        "169.254.1.0/24",
        "fd00::/48",
        "fd12:3456:789a::/64",
        "::1",
        "fe80::1",
        "fe80::1%eth0",
        "::ffff:10.1.0.0/112",
    ],
)
def test_private_entries_no_broader_than_the_minimum_prefix_are_accepted(entry: str) -> None:
    assert POLICY.refusal(entry) is None
    assert not POLICY.admits_outside(entry)


@pytest.mark.parametrize(
    "entry, widest",
    [("10.0.0.0/8", 16), ("172.16.0.0/12", 16), ("100.64.0.0/10", 16), ("fc00::/7", 48), ("fd00::/32", 48)],
)
def test_private_entries_broader_than_the_minimum_prefix_are_refused(entry: str, widest: int) -> None:
    reason = POLICY.refusal(entry)
    assert reason == (
        f"{entry} is broader than /{widest}, the widest block the operator allows in one entry. "
        f"List narrower blocks (/{widest} or longer) holding only the addresses that need access."
    )
    assert not POLICY.admits_outside(entry)


def test_the_operator_sets_the_minimum_prefix() -> None:
    loose = WhitelistPolicy(min_prefix_ipv4=8, min_prefix_ipv6=32)
    assert loose.refusal("10.0.0.0/8") is None and loose.refusal("fd00::/32") is None
    strict = WhitelistPolicy(min_prefix_ipv4=24, min_prefix_ipv6=64)
    assert strict.refusal("10.1.0.0/16") is not None and strict.refusal("fd00::/48") is not None
    assert strict.refusal("10.1.2.0/24") is None


def test_the_operators_networks_widen_the_allowed_space() -> None:
    policy = WhitelistPolicy(extra_networks=("203.0.113.0/24", "2001:db8::/32", "::ffff:198.51.100.7"))
    assert policy.refusal("203.0.113.16/28") is None
    assert policy.refusal("::ffff:203.0.113.16/124") is None
    assert policy.refusal("2001:db8:1::/48") is None
    assert policy.refusal("198.51.100.7") is None  # listed in its IPv4-mapped spelling
    assert policy.refusal("203.0.112.0/23") is not None  # half outside
    assert policy.refusal("2001:db8::/31") is not None
    # Adjacent networks add up: an entry spanning both is inside.
    halves = WhitelistPolicy(extra_networks=("203.0.113.0/25", "203.0.113.128/25"))
    assert halves.refusal("203.0.113.0/24") is None


def test_embedded_ipv4_is_judged_too_where_the_operator_allowed_the_ipv6_range() -> None:
    # An operator who allows the NAT64 prefix still does not open the IPv4 internet.
    policy = WhitelistPolicy(extra_networks=("64:ff9b::/96",), min_prefix_ipv6=32)
    reason = policy.refusal("64:ff9b::/96")
    assert reason is not None and "(as IPv4: 0.0.0.0/0)" in reason
    assert policy.refusal("64:ff9b::a01:0/112") is None  # 10.1.0.0/16
    assert policy.refusal("64:ff9b::808:808") is not None  # 8.8.8.8


def test_allow_public_accepts_everything() -> None:
    open_policy = WhitelistPolicy(allow_public=True)
    assert open_policy.refusals(["0.0.0.0/0", "::/0", "10.0.0.0/8", "8.8.8.8"]) == []
    assert open_policy.admits_outside("0.0.0.0/0")  # what it admits does not change


def test_the_default_space_holds_no_globally_routable_address() -> None:
    assert PRIVATE_NETWORKS and not any(network.is_global for network in PRIVATE_NETWORKS)


# -- the operator's own lists ---------------------------------------------------------------------


def test_the_operators_public_blocks_are_problems_naming_setting_and_entries() -> None:
    [problem] = operator_problems(["0.0.0.0/1", "128.0.0.0/1", "10.0.0.0/8"], [])
    assert problem.startswith("security_ips (BROKER_SECURITY_IPS): 0.0.0.0/1, 128.0.0.0/1 admit public")
    assert "BROKER_ALLOW_PUBLIC_ACCESS" in problem and "BROKER_ALLOWED_NETWORKS" in problem
    for entries in (["::ffff:0:0/96"], EIGHT_SLASH_3, ["2000::/3"], ["203.0.113.0/28"]):
        assert operator_problems(entries, []), entries


def test_the_operator_may_list_private_networks_and_single_public_addresses() -> None:
    # A NAT gateway's EIP is one host the operator chose; a private /8 is the operator's VPC.
    assert (
        operator_problems(["10.0.0.0/8", "fd00::/8", "203.0.113.5", "2001:db8::7", "::ffff:8.8.4.4"], [])
        == []
    )


def test_the_operators_public_network_declared_in_allowed_networks() -> None:
    assert operator_problems(["203.0.113.0/28"], ["203.0.113.0/24"]) == []
    assert operator_problems(["203.0.113.0/24"], ["203.0.113.0/28"]) != []


@pytest.mark.parametrize("network", ["0.0.0.0/1", "11.0.0.0/8", "2000::/3", "::ffff:0:0/96", "2002::/16"])
def test_allowed_networks_may_not_be_broad_public_blocks(network: str) -> None:
    [problem] = operator_problems(["10.0.0.0/8"], [network])
    assert problem.startswith(f"allowed_networks (BROKER_ALLOWED_NETWORKS): {network} admit public")
    assert "BROKER_MIN_PREFIX_IPV4" in problem and "BROKER_ALLOW_PUBLIC_ACCESS" in problem


def test_allowed_networks_may_hold_narrow_public_blocks_and_broad_private_ones() -> None:
    assert operator_problems(["10.0.0.0/8"], ["203.0.113.0/24", "10.0.0.0/8", "2001:db8::/48"]) == []
    assert operator_problems(["10.0.0.0/8"], ["203.0.113.0/24"], min_prefix_ipv4=28) != []

# SPDX-License-Identifier: GPL-3.0-or-later
"""RFC 6052 IPv4-embedded IPv6 addresses: the filters nat64_address and nat64_extract.

Their documentation is in nat64_address.yml and nat64_extract.yml next to this file.

RFC 6052 section 2.2: the IPv4 address follows the prefix, except that bits 64 to 71 (the
"u" octet) are skipped and stay zero; so a /32, /40, /48 or /56 prefix splits the IPv4 address
around them, a /64 puts it right after, a /96 at the end. The bits after the IPv4 address are
the suffix (zero, or what BIND's dns64 `suffix` sets). netaddr parses and prints; the bit
placement is RFC 6052's own and has no netaddr counterpart.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

try:
    from netaddr import INET_PTON, AddrFormatError, IPAddress, IPNetwork
except ImportError as exc:  # pragma: no cover - reported when a filter is used
    NETADDR_IMPORT_ERROR: ImportError | None = exc
else:
    NETADDR_IMPORT_ERROR = None

RFC6052_LENGTHS = (32, 40, 48, 56, 64, 96)
WELL_KNOWN_PREFIX = "64:ff9b::/96"
_BITS = 128
# Bits 64 to 71 of an IPv4-embedded IPv6 address (the "u" octet) must be zero.
_U_OCTET = 0xFF << (_BITS - 72)


class Rfc6052Error(ValueError):
    """An argument that is not valid for RFC 6052 address synthesis."""


def _check_netaddr(filter_name: str) -> None:
    if NETADDR_IMPORT_ERROR is not None:
        raise AnsibleFilterError(
            f"{filter_name}: the Python library netaddr is required on the controller "
            f"(pip install netaddr): {NETADDR_IMPORT_ERROR}"
        )


def parse_prefix(prefix: object) -> IPNetwork:
    """An RFC 6052 prefix: IPv6, a length of 32/40/48/56/64/96, no host bits, bits 64-71 zero."""
    text = str(prefix).strip() if isinstance(prefix, str) else None
    if not text or "/" not in text:
        raise Rfc6052Error(f"prefix {prefix!r} is not an IPv6 prefix with a length (such as 64:ff9b::/96)")
    try:
        network = IPNetwork(text)
    except (AddrFormatError, ValueError, TypeError) as exc:
        raise Rfc6052Error(f"prefix {prefix!r} is not an IPv6 prefix: {exc}") from None
    if network.version != 6:
        raise Rfc6052Error(f"prefix {prefix!r} is IPv4: a NAT64 prefix is IPv6 (such as 64:ff9b::/96)")
    if network.prefixlen not in RFC6052_LENGTHS:
        lengths = ", ".join(str(length) for length in RFC6052_LENGTHS)
        raise Rfc6052Error(
            f"prefix {prefix!r}: length {network.prefixlen} is not an RFC 6052 length ({lengths})"
        )
    if network.ip != network.network:
        raise Rfc6052Error(f"prefix {prefix!r} has bits set after its length: did you mean {network.cidr}?")
    if int(network.network) & _U_OCTET:
        raise Rfc6052Error(f"prefix {prefix!r} has bits 64 to 71 set: RFC 6052 requires them to be zero")
    return network


def _parse_ipv4(address: object) -> IPAddress:
    if not isinstance(address, str):
        raise Rfc6052Error(f"{address!r} is not an IPv4 address (a string such as 192.0.2.33)")
    try:
        # INET_PTON: netaddr 0.8 would otherwise read 10.1 as 10.0.0.1.
        return IPAddress(address.strip(), 4, flags=INET_PTON)
    except (AddrFormatError, ValueError, TypeError):
        raise Rfc6052Error(f"{address!r} is not an IPv4 address (such as 192.0.2.33)") from None


def _parse_ipv6(address: object) -> IPAddress:
    if not isinstance(address, str):
        raise Rfc6052Error(f"{address!r} is not an IPv6 address")
    try:
        return IPAddress(address.strip(), 6)
    except (AddrFormatError, ValueError, TypeError):
        raise Rfc6052Error(f"{address!r} is not an IPv6 address") from None


def _layout(prefixlen: int) -> tuple[int, int]:
    """(bits of the IPv4 address before the u octet, bit where the embedded address ends)."""
    if prefixlen == 96:
        return 0, _BITS
    head = 64 - prefixlen
    return head, 72 + (32 - head)


def embed(ipv4: object, prefix: object = WELL_KNOWN_PREFIX, suffix: object = None) -> str:
    """The IPv6 address of `ipv4` under the RFC 6052 `prefix`, with optional `suffix` bits."""
    network = parse_prefix(prefix)
    value = int(_parse_ipv4(ipv4))
    head, end = _layout(network.prefixlen)
    tail = 32 - head
    embedded = (value >> tail) << 64 | (value & ((1 << tail) - 1)) << (_BITS - end)
    result = int(network.network) | embedded
    if suffix is not None:
        suffix_bits = int(_parse_ipv6(suffix))
        if suffix_bits >> (_BITS - end):
            raise Rfc6052Error(
                f"suffix {suffix!r} overlaps the prefix and IPv4 address of {network.cidr}: "
                f"only its last {_BITS - end} bits may be set"
            )
        result |= suffix_bits
    return str(IPAddress(result, 6))


def extract(address: object, prefix: object = WELL_KNOWN_PREFIX) -> str:
    """The IPv4 address embedded in `address` under the RFC 6052 `prefix` (suffix bits ignored)."""
    network = parse_prefix(prefix)
    ipv6 = _parse_ipv6(address)
    if ipv6 not in network:
        raise Rfc6052Error(f"{address!r} is not inside the prefix {network.cidr}")
    value = int(ipv6)
    if value & _U_OCTET:
        raise Rfc6052Error(f"{address!r} has bits 64 to 71 set: it is not an RFC 6052 IPv4-embedded address")
    head, end = _layout(network.prefixlen)
    tail = 32 - head
    upper = (value >> 64) & ((1 << head) - 1)
    lower = (value >> (_BITS - end)) & ((1 << tail) - 1)
    return str(IPAddress(upper << tail | lower, 4))


def nat64_address(ipv4, prefix=WELL_KNOWN_PREFIX, suffix=None):
    """Filter: embed an IPv4 address in an RFC 6052 prefix."""
    _check_netaddr("nat64_address")
    try:
        return embed(ipv4, prefix, suffix)
    except Rfc6052Error as exc:
        raise AnsibleFilterError(f"nat64_address: {exc}") from None


def nat64_extract(address, prefix=WELL_KNOWN_PREFIX):
    """Filter: the IPv4 address embedded in an RFC 6052 IPv6 address."""
    _check_netaddr("nat64_extract")
    try:
        return extract(address, prefix)
    except Rfc6052Error as exc:
        raise AnsibleFilterError(f"nat64_extract: {exc}") from None


class FilterModule:
    """RFC 6052 (NAT64/DNS64) address synthesis."""

    def filters(self):
        return {
            "nat64_address": nat64_address,
            "nat64_extract": nat64_extract,
        }

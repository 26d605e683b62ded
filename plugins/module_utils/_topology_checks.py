# SPDX-License-Identifier: GPL-3.0-or-later
"""Single values of a network topology, checked one at a time: namespace and interface names,
MAC addresses, MTUs, metrics, interface addresses, gateways, route destinations and sysctls.

Private to the isplab.bng collection: no stability promise outside it.

Apart from the model (_topology.py) because they are of use without one: the modules netns_*
check their options with them, and _pppoe_subscribers.py its subscribers' names and MACs, by
the same rules and with the same messages as a model's entries. Standard library only, like
the model.

Addresses are parsed with the standard ipaddress module rather than netaddr: netaddr 0.8
(Debian 12) still accepts inet_aton forms such as `10.1` for 10.0.0.1, which must be refused.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Union

# The kernel's IFNAMSIZ is 16 bytes including the terminating NUL.
IFNAME_MAX = 15
# An interface with one of these names would clash with /proc/sys/net/ipv*/conf/{all,default}.
RESERVED_IFNAMES = ("all", "default")
# What the kernel uses when a route is added without a metric (`ip route` shows the IPv6 one).
DEFAULT_METRIC = {4: 0, 6: 1024}
METRIC_MAX = 2**32 - 1
MTU_MIN, MTU_MAX = 68, 65535
# The kernel turns IPv6 off on an interface whose MTU is below this.
IPV6_MIN_MTU = 1280
NETNS_NAME_MAX = 255

_NETNS_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@+-]*")
_MAC_RE = re.compile(r"[0-9a-fA-F]{2}([:-])(?:[0-9a-fA-F]{2}\1){4}[0-9a-fA-F]{2}")
_SYSCTL_PART_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@:+-]*")

# Union, not |: ansible-test sanity's pylint reads | between two classes as an error, and it
# allows no ignore entry for that (ansible-lint's sanity rule).
Address = Union[ipaddress.IPv4Interface, ipaddress.IPv6Interface]  # noqa: UP007


class TopologyError(ValueError):
    """A model, or one value of it, is invalid. `errors` lists every problem, each naming its entry."""

    def __init__(self, errors: list[str], warnings: list[str] | None = None) -> None:
        self.errors = list(errors)
        self.warnings = list(warnings or [])
        super().__init__("; ".join(self.errors))


# --- Each check raises TopologyError naming `field`. ---


def check_netns_name(value: Any, field: str = "namespace") -> str:
    """A network namespace name as `ip netns` knows it: a file name under /run/netns."""
    if not isinstance(value, str) or not value:
        raise TopologyError([f"{field}: a namespace name must be a non-empty string, got {value!r}"])
    if len(value) > NETNS_NAME_MAX or not _NETNS_RE.fullmatch(value):
        raise TopologyError(
            [f"{field}: {value!r} is not a namespace name (letters, digits, '_', '.', '-', '@', '+'; no '/')"]
        )
    return value


def check_ifname(value: Any, field: str = "name") -> str:
    """A Linux interface name, by the kernel's rules (dev_valid_name) and at most 15 bytes."""
    if not isinstance(value, str) or not value:
        raise TopologyError([f"{field}: an interface name must be a non-empty string, got {value!r}"])
    size = len(value.encode("utf-8"))
    if size > IFNAME_MAX:
        raise TopologyError(
            [f"{field}: interface name {value!r} is {size} bytes, the kernel allows {IFNAME_MAX} (IFNAMSIZ)"]
        )
    if value in (".", "..") or any(c in "/:" or c.isspace() for c in value):
        raise TopologyError(
            [f"{field}: {value!r} is not an interface name (no '/', ':' or blank; not '.' or '..')"]
        )
    if value in RESERVED_IFNAMES:
        raise TopologyError(
            [f"{field}: interface name {value!r} clashes with /proc/sys/net/ipv*/conf/{value}"]
        )
    return value


def check_mac(value: Any, field: str = "mac") -> str:
    """A unicast MAC address as the kernel shows it: six lower-case colon-separated octets."""
    if not isinstance(value, str) or not _MAC_RE.fullmatch(value):
        raise TopologyError([f"{field}: {value!r} is not a MAC address (six octets, e.g. 02:00:00:00:0b:01)"])
    mac = value.lower().replace("-", ":")
    first = int(mac[:2], 16)
    if first & 1:
        raise TopologyError(
            [f"{field}: {value!r} is a group (multicast) address; an interface needs unicast"]
        )
    if mac == "00:00:00:00:00:00":
        raise TopologyError([f"{field}: 00:00:00:00:00:00 cannot be an interface's address"])
    return mac


def _check_int(value: Any, field: str, low: int, high: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        else:
            raise TopologyError([f"{field}: {what} must be an integer, got {value!r}"])
    if not low <= value <= high:
        raise TopologyError([f"{field}: {what} {value} is outside {low}..{high}"])
    return value


def check_mtu(value: Any, field: str = "mtu") -> int:
    return _check_int(value, field, MTU_MIN, MTU_MAX, "mtu")


def check_metric(value: Any, field: str = "metric") -> int:
    return _check_int(value, field, 0, METRIC_MAX, "metric")


def check_address(value: Any, field: str = "address") -> Address:
    """An interface address with its prefix length, e.g. 2001:db8::1/64 or 100.64.0.1/16."""
    if not isinstance(value, str) or "/" not in value:
        raise TopologyError(
            [f"{field}: {value!r} is not an address with a prefix length (e.g. 192.0.2.1/24, 2001:db8::1/64)"]
        )
    try:
        address = ipaddress.ip_interface(value.strip())
    except ValueError as exc:
        raise TopologyError([f"{field}: {value!r} is not an address: {exc}"]) from None
    ip = address.ip
    if ip.is_multicast or ip.is_unspecified or ip.is_loopback:
        raise TopologyError([f"{field}: {value!r} is not a unicast address an interface can hold"])
    return address


def check_gateway(value: Any, field: str = "via") -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    if not isinstance(value, str):
        raise TopologyError([f"{field}: a gateway must be an address string, got {value!r}"])
    try:
        gateway = ipaddress.ip_address(value.strip())
    except ValueError:
        raise TopologyError(
            [f"{field}: {value!r} is not an IP address (a gateway has no prefix length)"]
        ) from None
    if gateway.is_multicast or gateway.is_unspecified or gateway.is_loopback:
        raise TopologyError([f"{field}: {value!r} cannot be a gateway"])
    return gateway


def check_destination(
    value: Any, gateway: ipaddress.IPv4Address | ipaddress.IPv6Address | None, field: str = "to"
) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """A route's destination: a prefix (host bits clear) or `default`, whose family comes from the gateway."""
    if value == "default":
        if gateway is None:
            raise TopologyError(
                [f"{field}: 'default' needs a gateway (via) to tell IPv4 from IPv6; write 0.0.0.0/0 or ::/0"]
            )
        return ipaddress.ip_network("0.0.0.0/0" if gateway.version == 4 else "::/0")
    if not isinstance(value, str):
        raise TopologyError([f"{field}: {value!r} is not a prefix"])
    try:
        return ipaddress.ip_network(value.strip(), strict=True)
    except ValueError as exc:
        raise TopologyError([f"{field}: {value!r} is not a prefix: {exc}"]) from None


def sysctl_path(key: Any, field: str = "sysctl") -> tuple[str, str | None]:
    """The path under /proc/sys of a per-namespace sysctl, and the interface it names (or None).

    `net.ipv4.conf.eth0.100.rp_filter` and `net/ipv4/conf/eth0.100/rp_filter` are the same:
    in the dotted form the part between `conf.`/`neigh.` and the last dot is the interface.
    """
    if not isinstance(key, str) or not key:
        raise TopologyError([f"{field}: a sysctl name must be a non-empty string, got {key!r}"])
    if "/" in key:
        parts = key.split("/")
    else:
        parts = key.split(".")
        if (
            len(parts) > 5
            and parts[:2] in (["net", "ipv4"], ["net", "ipv6"])
            and parts[2] in ("conf", "neigh")
        ):
            parts = [*parts[:3], ".".join(parts[3:-1]), parts[-1]]
    if parts[0] != "net":
        raise TopologyError(
            [f"{field}: {key!r} is not per network namespace; only net.* sysctls can be set in a namespace"]
        )
    if len(parts) < 2 or any(p in (".", "..") or not _SYSCTL_PART_RE.fullmatch(p) for p in parts):
        raise TopologyError([f"{field}: {key!r} is not a sysctl name"])
    per_interface = len(parts) == 5 and parts[1] in ("ipv4", "ipv6") and parts[2] in ("conf", "neigh")
    ifname = parts[3] if per_interface and parts[3] not in RESERVED_IFNAMES else None
    return "/".join(parts), ifname


def sysctl_value(value: Any, field: str = "value") -> str:
    """A sysctl value as text, blanks collapsed (the kernel prints multi-value sysctls with tabs)."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise TopologyError([f"{field}: a sysctl value must be an integer or a string, got {value!r}"])
    text = " ".join(str(value).split())
    if not text:
        raise TopologyError([f"{field}: a sysctl value cannot be empty"])
    return text

# SPDX-License-Identifier: GPL-3.0-or-later
"""PPPoE subscribers as data: patterns expanded into lists, and every entry checked.

Private to the isplab.bng collection: no stability promise outside it.

One list of subscribers feeds the clients (role pppoe_client), rp-pppoe's secrets (role
pppoe_server) and accel-ppp's chap-secrets, so it is checked once, here, for all three: a
name that is both a network namespace and an interface name, a user name and a password
that every one of those files can hold (none of them quotes reliably: accel-ppp's
chap-secrets has no quoting at all), a unicast MAC, a static IPv4 address and a static IPv6
prefix, each unique.

An entry is either one subscriber or a pattern with `count`, which stands for `count`
subscribers numbered n = start .. start+count-1 (start defaults to 1):

    {count: 200, name: "cpe{n}", user: "user{n}", password: "pass{n}",
     mac: "02:00:00:00:c0:01", ipv4: 100.64.0.11, ipv6: "2001:db8:110:1::/64"}

Text fields are Python format strings with the one field `n` (`{n}`, `{n:03d}`, `{n:02x}`).
`mac`, `ipv4` and `ipv6` are either such a format string or the first subscriber's value, which
the next ones count up from (so 02:00:00:00:c0:ff is followed by 02:00:00:00:c1:00, and
2001:db8:110:1::/64 by 2001:db8:110:2::/64: a prefix counts up by its own size).

`ipv6` is the subscriber's static IPv6 prefix (/48 to /128): the rp-pppoe server routes it to the
session and the client takes its first address. accel-ppp hands out prefixes from its pools
instead.

Error messages name the entry and the field, and the value, except a password's: those
are never shown.
"""

from __future__ import annotations

import ipaddress
import string
from collections.abc import Iterable, Mapping
from typing import Any

from ._topology_checks import TopologyError, check_ifname, check_mac, check_netns_name

STATES = ("present", "absent")
SUBSCRIBER_KEYS = ("name", "user", "password", "mac", "ipv4", "ipv6", "state")
# Keys the filter adds: its output goes back in as it came out (a play that marks one expanded
# subscriber absent passes the whole expanded list), as long as they agree with the data.
DERIVED_KEYS = ("ipv6_address",)
PATTERN_KEYS = ("count", "start", *SUBSCRIBER_KEYS)
# Characters that some consumer of the credentials cannot carry: blanks end a word in
# chap-secrets (accel-ppp has no quoting), `#` starts a comment, quotes and backslashes are
# pppd's quoting, and control characters (a newline above all) would start a new line.
_FORBIDDEN = frozenset(" \t\"'\\#")
MAX_COUNT = 65534


class SubscriberError(ValueError):
    """Invalid subscriber data. `errors` lists every problem, each naming its entry and field."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(self.errors))


def _credential(value: Any, field: str, secret: bool) -> str:
    shown = "(value not shown)" if secret else repr(value)
    if not isinstance(value, str) or not value:
        kind = "missing or empty" if value in (None, "") else f"not a string {shown}"
        raise SubscriberError([f"{field}: {kind}"])
    bad = sorted({c for c in value if c in _FORBIDDEN or not c.isprintable()})
    if bad:
        names = ", ".join(repr(c) for c in bad)
        raise SubscriberError(
            [
                f"{field}: {shown} contains {names}; blanks, quotes, backslashes, '#' and control "
                "characters cannot be written to chap-secrets and pppd options safely"
            ]
        )
    return value


def _ipv4(value: Any, field: str) -> str:
    try:
        address = ipaddress.IPv4Address(value.strip() if isinstance(value, str) else value)
    except (ipaddress.AddressValueError, ValueError, TypeError):
        raise SubscriberError([f"{field}: {value!r} is not an IPv4 address (such as 100.64.0.11)"]) from None
    if address.is_multicast or address.is_unspecified or address.is_loopback or address.is_link_local:
        raise SubscriberError([f"{field}: {value!r} cannot be a subscriber's address"])
    return str(address)


def _ipv6(value: Any, field: str) -> str:
    try:
        prefix = ipaddress.IPv6Network(value.strip() if isinstance(value, str) else value)
    except (ipaddress.AddressValueError, ipaddress.NetmaskValueError, ValueError, TypeError) as exc:
        raise SubscriberError(
            [
                f"{field}: {value!r} is not an IPv6 prefix with no host bits "
                f"(such as 2001:db8:110:1::/64): {exc}"
            ]
        ) from None
    if not 48 <= prefix.prefixlen <= 128:
        raise SubscriberError([f"{field}: {value!r} must be a /48 to /128 prefix"])
    if not prefix.is_global and not prefix.subnet_of(ipaddress.IPv6Network("2001:db8::/32")):
        # Documentation space stays allowed: it is what labs use.
        raise SubscriberError([f"{field}: {value!r} is not a global unicast prefix"])
    return str(prefix)


def check_subscriber(entry: Any, field: str) -> dict:
    """One subscriber, checked and normalised (MAC lower case, state filled in)."""
    if not isinstance(entry, Mapping):
        raise SubscriberError([f"{field}: must be a mapping, got {type(entry).__name__}"])
    errors: list[str] = []
    unknown = sorted(set(map(str, entry)) - set(SUBSCRIBER_KEYS) - set(DERIVED_KEYS))
    if unknown:
        errors.append(f"{field}: unknown key(s) {', '.join(unknown)} (known: {', '.join(SUBSCRIBER_KEYS)})")
    out: dict[str, Any] = {}

    def run(key: str, func, *args) -> None:
        try:
            out[key] = func(*args)
        except (SubscriberError, TopologyError) as exc:
            errors.extend(exc.errors)

    def name(value: Any) -> str:
        # The namespace, the unit's instance and the veth port on the access bridge.
        return check_ifname(check_netns_name(value, f"{field}.name"), f"{field}.name")

    run("name", name, entry.get("name"))
    run("user", _credential, entry.get("user"), f"{field}.user", False)
    run("password", _credential, entry.get("password"), f"{field}.password", True)
    run("mac", check_mac, entry.get("mac"), f"{field}.mac")
    out["ipv4"] = None
    if entry.get("ipv4") is not None:
        run("ipv4", _ipv4, entry["ipv4"], f"{field}.ipv4")
    out["ipv6"] = None
    if entry.get("ipv6") is not None:
        run("ipv6", _ipv6, entry["ipv6"], f"{field}.ipv6")
    # The client's own address: the first of its prefix (the prefix itself for a /128).
    out["ipv6_address"] = None
    if out.get("ipv6"):
        prefix = ipaddress.IPv6Network(out["ipv6"])
        first = prefix.network_address + (1 if prefix.num_addresses > 1 else 0)
        out["ipv6_address"] = f"{first}/{prefix.prefixlen}"
    given_address = entry.get("ipv6_address")
    if given_address is not None and given_address != out["ipv6_address"]:
        errors.append(
            f"{field}.ipv6_address: {given_address!r} is derived from ipv6 and must not be set"
            f" otherwise (from ipv6 {out['ipv6']!r} it is {out['ipv6_address']!r})"
        )
    state = entry.get("state", "present")
    if state not in STATES:
        errors.append(f"{field}.state: {state!r} is not one of {', '.join(STATES)}")
    out["state"] = state
    if errors:
        raise SubscriberError(errors)
    return out


def _format(template: Any, n: int, field: str) -> Any:
    """template with {n} replaced; only the field n, with an optional format spec, is allowed."""
    if not isinstance(template, str) or "{" not in template:
        return template
    try:
        for _literal, name, spec, conversion in string.Formatter().parse(template):
            if name is not None and (name != "n" or conversion or "{" in (spec or "")):
                raise SubscriberError(
                    [f"{field}: {template!r} may only use the field n (such as {{n}} or {{n:02x}})"]
                )
        return template.format(n=n)
    except ValueError as exc:
        if isinstance(exc, SubscriberError):
            raise
        raise SubscriberError([f"{field}: {template!r} is not a format string for n: {exc}"]) from None


def _count_up_mac(first: str, offset: int, field: str) -> str:
    """first + offset; a result in the group (multicast) range is refused by the check that follows."""
    try:
        value = int(check_mac(first, field).replace(":", ""), 16) + offset
    except TopologyError as exc:
        raise SubscriberError(exc.errors) from None
    digits = f"{value:012x}"
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


def _count_up_ipv4(first: str, offset: int, field: str) -> str:
    try:
        return str(ipaddress.IPv4Address(_ipv4(first, field)) + offset)
    except ipaddress.AddressValueError:
        raise SubscriberError([f"{field}: counting up from {first} runs past 255.255.255.255"]) from None


def _count_up_ipv6(first: str, offset: int, field: str) -> str:
    prefix = ipaddress.IPv6Network(_ipv6(first, field))
    try:
        return str(
            ipaddress.IPv6Network(
                (int(prefix.network_address) + offset * prefix.num_addresses, prefix.prefixlen)
            )
        )
    except (ipaddress.AddressValueError, ValueError):
        raise SubscriberError([f"{field}: counting up from {first} runs past the end of IPv6"]) from None


def expand_pattern(pattern: Mapping, field: str = "pattern") -> list[dict]:
    """The subscribers a pattern stands for (not yet checked: see check_subscribers)."""
    unknown = sorted(set(map(str, pattern)) - set(PATTERN_KEYS))
    if unknown:
        raise SubscriberError(
            [f"{field}: unknown key(s) {', '.join(unknown)} (known: {', '.join(PATTERN_KEYS)})"]
        )
    bounds = {}
    for key, default, low in (("count", None, 0), ("start", 1, 0)):
        value = pattern.get(key, default)
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= MAX_COUNT:
            raise SubscriberError(
                [f"{field}.{key}: must be an integer from {low} to {MAX_COUNT}, got {value!r}"]
            )
        bounds[key] = value
    out = []
    for offset in range(bounds["count"]):
        n = bounds["start"] + offset
        item = {}
        for key in SUBSCRIBER_KEYS:
            if key not in pattern:
                continue
            value = pattern[key]
            where = f"{field}.{key}"
            if key == "mac" and isinstance(value, str) and "{" not in value:
                item[key] = _count_up_mac(value, offset, where)
            elif key == "ipv4" and isinstance(value, str) and "{" not in value:
                item[key] = _count_up_ipv4(value, offset, where)
            elif key == "ipv6" and isinstance(value, str) and "{" not in value:
                item[key] = _count_up_ipv6(value, offset, where)
            else:
                item[key] = _format(value, n, where)
        out.append(item)
    return out


def check_subscribers(data: Any, field: str = "subscribers") -> list[dict]:
    """Expand the patterns of a list (or of one pattern) and check every subscriber.

    Returns the subscribers in order, each with name, user, password, mac, ipv4, ipv6 and
    ipv6_address (None when not given) and state. Raises SubscriberError with every error found.
    """
    if data is None:
        return []
    if isinstance(data, Mapping):
        data = [data]
    if isinstance(data, (str, bytes)) or not isinstance(data, Iterable):
        raise SubscriberError(
            [f"{field}: must be a list of subscribers or patterns, got {type(data).__name__}"]
        )
    errors: list[str] = []
    entries: list[tuple[str, Any]] = []
    for index, item in enumerate(data):
        where = f"{field}[{index}]"
        if isinstance(item, Mapping) and "count" in item:
            try:
                expanded = expand_pattern(item, where)
            except SubscriberError as exc:
                errors.extend(exc.errors)
                continue
            entries += [
                (f"{where} (n={offset + item.get('start', 1)})", e) for offset, e in enumerate(expanded)
            ]
        else:
            entries.append((where, item))
    out = []
    for where, entry in entries:
        try:
            out.append(check_subscriber(entry, where))
        except SubscriberError as exc:
            errors.extend(exc.errors)
    seen: dict[tuple[str, str], str] = {}
    for (where, _entry), subscriber in zip(entries, out, strict=False) if not errors else ():
        for key in ("name", "user", "mac", "ipv4", "ipv6"):
            value = subscriber[key]
            if value is None:
                continue
            if (key, value) in seen:
                errors.append(f"{where}.{key}: {value!r} is already used by {seen[key, value]}")
            else:
                seen[key, value] = where
    if errors:
        raise SubscriberError(errors)
    return out

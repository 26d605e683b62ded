# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters of the role isplab.bng.accel_ppp: check its instance data, derive the [modules]
list, and tell which changes of an accel-ppp 1.14.0 configuration `reload` covers.

Documented in the YAML files of the same names next to this file.

What `reload` covers was read in accel-ppp's source: `reload` re-parses the file and fires
EV_CONFIG_RELOAD, and only the modules that register a handler for it re-read their options.
Not re-read: [modules] and [core] (read once at start), [ip-pool] and [ipv6-pool] (extra/ippool.c
and extra/ipv6pool.c register no handler), the CLI's listening addresses ([cli] tcp, telnet:
bound at start), the log files of log_file (opened at start), the DAE listener's address
([radius] dae-server, bound at start; its secret is re-read), the RADIUS dictionary, and
[pppoe] mac-filter and vlan-mon. [pppoe] interface lines are only read at start too, but the CLI
adds and removes served interfaces at run time (`pppoe interface add|del`), which drops only
the sessions of a removed interface.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.isplab.bng.plugins.module_utils._accel_ppp_conf import parse_conf

# Sections read only when accel-pppd starts: any change needs a restart.
RESTART_SECTIONS = {
    "modules": "the module list is loaded at start",
    "core": "[core] is read at start",
    "ip-pool": "ippool reads its pools at start only",
    "ipv6-pool": "ipv6pool reads its pools at start only",
}
# Options of otherwise reloadable sections that are read at start only.
RESTART_OPTIONS = {
    "cli": {"tcp", "telnet"},
    "radius": {"dictionary"},
    "pppoe": {"mac-filter", "vlan-mon"},
}
# [log] belongs to the core (level, log-emerg, log-debug are re-read) and to the log modules;
# log_file opens its files at start.
LOG_RELOADABLE = {"level", "log-emerg", "log-debug", "syslog"}
# Sections whose module re-reads them on reload (EV_CONFIG_RELOAD handlers in 1.14.0).
RELOAD_SECTIONS = {
    "common",
    "ppp",
    "auth",
    "pppoe",
    "dns",
    "wins",
    "ipv6-dns",
    "ipv6-nd",
    "ipv6-dhcp",
    "chap-secrets",
    "client-ip-range",
    "radius",
    "shaper",
    "connlimit",
    "log",
    "cli",
    "pppd-compat",
}

# Module load order, after accel-ppp's sample configuration: the address providers (ipdb) are
# asked in load order, so static addresses from chap-secrets come before the ippool pools.
_AUTH_MODULES = {
    "mschap_v2": "auth_mschap_v2",
    "mschap_v1": "auth_mschap_v1",
    "chap_md5": "auth_chap_md5",
    "pap": "auth_pap",
}

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_IFNAME_BAD = set(" /:,=#\t\n\r")
_PADO_DELAY_RE = re.compile(r"^-?\d+(?:,-?\d+:\d+)*$")
_CONNLIMIT_RE = re.compile(r"^\d+(?:/\d*[smh][a-z]*)?$")
_RANGE_RE = re.compile(r"^(\d+\.\d+\.\d+\.)(\d+)-(\d+)$")
_MAC_RE = re.compile(r"^[0-9a-f]{2}([:-])[0-9a-f]{2}(\1[0-9a-f]{2}){4}$", re.IGNORECASE)


def _option_values(items: list[tuple[str, str | None]], name: str) -> list[str | None]:
    return [value for key, value in items if key == name]


def _pppoe_interfaces(items: list[tuple[str, str | None]]) -> dict[str, str]:
    """Served interfaces: ifname -> the whole `interface=` value (name and its options)."""
    return {value.split(",", 1)[0]: value for value in _option_values(items, "interface") if value}


def accel_ppp_conf_changes(old: str | None, new: str) -> dict:
    """How a running accel-pppd started with `old` takes `new` (both configuration texts).

    Returns restart (reasons, each naming what changed and why reload does not cover it),
    reload (the sections that changed and that reload re-reads), interfaces_add and
    interfaces_del ([pppoe] interfaces to add or remove through the CLI), unknown (true when
    old is None: nothing tells what the daemon runs with, so reload is planned) and differs
    (whether anything at all is to be done).
    Values never appear in the result: it is safe to print (the texts hold passwords).
    """
    if not isinstance(new, str) or (old is not None and not isinstance(old, str)):
        raise AnsibleFilterError("accel_ppp_conf_changes expects two configuration texts")
    result: dict[str, Any] = {
        "restart": [],
        "reload": [],
        "interfaces_add": [],
        "interfaces_del": [],
        "unknown": old is None,
    }
    new_conf = parse_conf(new).sections
    if old is None:
        result["reload"] = sorted(set(new_conf) & RELOAD_SECTIONS)
        result["differs"] = True
        return result
    old_conf = parse_conf(old).sections
    restart: list[str] = result["restart"]
    reload: list[str] = result["reload"]
    for section in sorted(set(old_conf) | set(new_conf)):
        before = old_conf.get(section, [])
        after = new_conf.get(section, [])
        if before == after:
            continue
        if section in RESTART_SECTIONS:
            restart.append(f"[{section}] changed ({RESTART_SECTIONS[section]})")
            continue
        if section not in RELOAD_SECTIONS:
            restart.append(f"[{section}] changed (not known to be re-read on reload)")
            continue
        keys = {key for key, _value in before} | {key for key, _value in after}
        changed = {key for key in keys if _option_values(before, key) != _option_values(after, key)}
        if section == "pppoe" and "interface" in changed:
            changed.discard("interface")
            old_ifs, new_ifs = _pppoe_interfaces(before), _pppoe_interfaces(after)
            result["interfaces_add"] = sorted(set(new_ifs) - set(old_ifs))
            result["interfaces_del"] = sorted(set(old_ifs) - set(new_ifs))
            for ifname in sorted(set(old_ifs) & set(new_ifs)):
                if old_ifs[ifname] != new_ifs[ifname]:
                    restart.append(f"[pppoe] options of interface {ifname} changed (read when it is added)")
        if section == "radius" and "dae-server" in changed:
            changed.discard("dae-server")
            addresses = [
                [(value or "").split(",", 1)[0] for value in _option_values(items, "dae-server")]
                for items in (before, after)
            ]
            if addresses[0] != addresses[1]:
                restart.append("[radius] dae-server address changed (the DAE listener is bound at start)")
            elif section not in reload:
                reload.append(section)
        for key in sorted(changed):
            if key in RESTART_OPTIONS.get(section, ()) or (section == "log" and key not in LOG_RELOADABLE):
                restart.append(f"[{section}] {key} changed (read at start only)")
            elif section not in reload:
                reload.append(section)
    result["differs"] = bool(restart or reload or result["interfaces_add"] or result["interfaces_del"])
    return result


def accel_ppp_modules(instance: Mapping) -> list[str]:
    """The [modules] list of an instance (merged with the role's defaults)."""
    if not isinstance(instance, Mapping):
        raise AnsibleFilterError("accel_ppp_modules expects one instance (a dict)")
    modules = ["log_file"]
    if instance["connlimit"]["enabled"]:
        modules.append("connlimit")
    if instance["radius"]["servers"]:
        modules.append("radius")
    if instance["chap_secrets"]["enabled"]:
        modules.append("chap-secrets")
    modules.append("pppoe")
    modules += [module for proto, module in _AUTH_MODULES.items() if proto in instance["auth"]["protocols"]]
    if instance["ip_pool"]["ranges"]:
        modules.append("ippool")
    if instance["shaper"]["enabled"]:
        modules.append("shaper")
    ipv6 = instance["ipv6_pool"]
    if ipv6["prefixes"]:
        modules.append("ipv6_nd")
    if ipv6["delegate"]:
        modules.append("ipv6_dhcp")
    if ipv6["prefixes"] or ipv6["delegate"]:
        modules.append("ipv6pool")
    modules += [module for module in instance["modules_extra"] if module not in modules]
    return modules


class _Errors:
    def __init__(self) -> None:
        self.messages: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.messages.append(f"{where}: {message}")


def _ip(value: Any, version: int | None = None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(str(value))
    except ValueError:
        return None
    if version and address.version != version:
        return None
    return address


def _word_problem(value: Any, allow: str = "") -> str | None:
    """Why a value cannot go into an accel-ppp file or CLI line, or None."""
    if not isinstance(value, str) or not value:
        return "must be a non-empty string"
    if any(ord(char) < 0x21 or ord(char) == 0x7F for char in value if char not in allow):
        return "must not contain blanks, line breaks or control characters"
    return None


def _pool_ranges(where: str, ranges: Any, errors: _Errors) -> list[tuple[int, int]]:
    spans = []
    for index, text in enumerate(ranges or []):
        at = f"{where}[{index}]"
        match = _RANGE_RE.match(str(text))
        try:
            if match:
                first = ipaddress.IPv4Address(match[1] + match[2])
                last_octet = int(match[3])
                if last_octet > 255 or last_octet < int(match[2]):
                    raise ValueError
                span = (int(first), int(first) - int(match[2]) + last_octet)
            elif "/" in str(text):
                net = ipaddress.IPv4Network(str(text), strict=True)
                span = (int(net.network_address), int(net.broadcast_address))
            else:
                raise ValueError
        except ValueError:
            errors.add(at, f"must be A.B.C.D-E (E at least D, at most 255) or A.B.C.D/N, got {text!r}")
            continue
        for other in spans:
            if span[0] <= other[1] and other[0] <= span[1]:
                errors.add(at, f"{text!r} overlaps another range of the pool")
        spans.append(span)
    return spans


def _check_ipv6_pool(where: str, pool: Mapping, errors: _Errors) -> None:
    networks = []
    for kind, max_len in (("prefixes", 128), ("delegate", 64)):
        for index, entry in enumerate(pool.get(kind) or []):
            at = f"{where}.{kind}[{index}]"
            try:
                net = ipaddress.IPv6Network(str(entry.get("prefix")), strict=True)
            except ValueError:
                errors.add(
                    at, f"prefix must be an IPv6 network with no host bits set, got {entry.get('prefix')!r}"
                )
                continue
            length = entry.get("length")
            if not isinstance(length, int) or not net.prefixlen <= length <= max_len:
                errors.add(
                    at,
                    f"length must be between the prefix's own length ({net.prefixlen}) "
                    f"and {max_len}, got {length!r}",
                )
            for other_at, other in networks:
                if net.overlaps(other):
                    errors.add(at, f"{net} overlaps {other} of {other_at}")
            networks.append((at, net))


def _check_instance(where: str, inst: Mapping, errors: _Errors) -> None:
    if inst.get("netns") is not None and not _NAME_RE.match(str(inst["netns"])):
        errors.add(f"{where}.netns", f"must be a network namespace name, got {inst['netns']!r}")

    cli = inst["cli"]
    if not _ip(cli["address"], 4):
        errors.add(
            f"{where}.cli.address",
            f"must be an IPv4 address (accel-ppp's CLI listens on IPv4 only), got {cli['address']!r}",
        )
    if not 1 <= int(cli["port"]) <= 65535:
        errors.add(f"{where}.cli.port", f"must be a TCP port, got {cli['port']!r}")
    if cli.get("password") is not None and _word_problem(cli["password"]):
        errors.add(f"{where}.cli.password", f"{_word_problem(cli['password'])} (value not shown)")
    # The CLI terminates sessions and stops PPPoE service: off loopback, anyone who reaches the
    # port could, unless it asks for a password.
    address = _ip(cli["address"], 4)
    if not cli.get("password") and address is not None and not address.is_loopback:
        errors.add(
            f"{where}.cli.password",
            f"required when the CLI listens outside loopback (cli.address {cli['address']!r}): "
            "keep one in Ansible Vault, or listen on 127.0.0.1",
        )

    if inst["common"]["single_session"] not in (None, "deny", "replace"):
        errors.add(
            f"{where}.common.single_session",
            f"must be deny, replace or unset, got {inst['common']['single_session']!r}",
        )

    ppp = inst["ppp"]
    for key in ("mtu", "mru"):
        if not 576 <= ppp[key] <= 1500:
            errors.add(
                f"{where}.ppp.{key}",
                f"must be between 576 and 1500 (1492 for PPPoE on a 1500-byte link), got {ppp[key]!r}",
            )
    if not 0 < ppp["min_mtu"] <= min(ppp["mtu"], ppp["mru"]):
        errors.add(
            f"{where}.ppp.min_mtu", f"must be positive and at most mtu and mru, got {ppp['min_mtu']!r}"
        )
    if ppp["ipv6"] != "deny" and min(ppp["mtu"], ppp["mru"]) < 1280:
        errors.add(f"{where}.ppp", "mtu and mru must be at least 1280 when IPv6 is not denied")
    for key in ("lcp_echo_interval", "lcp_echo_failure", "lcp_echo_timeout"):
        if ppp[key] < 0:
            errors.add(f"{where}.ppp.{key}", f"must not be negative, got {ppp[key]!r}")

    pppoe = inst["pppoe"]
    if not pppoe["interfaces"]:
        errors.add(f"{where}.pppoe.interfaces", "must list at least one access interface")
    for index, ifname in enumerate(pppoe["interfaces"]):
        name = str(ifname)
        if not name or len(name.encode()) > 15 or _IFNAME_BAD & set(name) or name in (".", ".."):
            errors.add(
                f"{where}.pppoe.interfaces[{index}]",
                f"is not a Linux interface name (1 to 15 bytes, no blank, '/', ':', ','), got {ifname!r}",
            )
    if len(set(pppoe["interfaces"])) != len(pppoe["interfaces"]):
        errors.add(f"{where}.pppoe.interfaces", "lists an interface twice")
    for key in ("ac_name",):
        if _word_problem(pppoe[key]) or "," in pppoe[key]:
            errors.add(
                f"{where}.pppoe.{key}",
                f"must be one word without commas (the CLI cannot set blanks), got {pppoe[key]!r}",
            )
    for index, service in enumerate(pppoe["service_names"]):
        if _word_problem(service) or "," in service:
            errors.add(
                f"{where}.pppoe.service_names[{index}]", f"must be one word without commas, got {service!r}"
            )
    if not _PADO_DELAY_RE.match(str(pppoe["pado_delay"])):
        errors.add(
            f"{where}.pppoe.pado_delay",
            "must be DELAY[,DELAY:COUNT...] in ms, e.g. '0' or '0,100:100,-1:500', "
            f"got {pppoe['pado_delay']!r}",
        )
    if pppoe["padi_limit"] < 0:
        errors.add(f"{where}.pppoe.padi_limit", f"must not be negative, got {pppoe['padi_limit']!r}")

    if not inst["auth"]["protocols"]:
        errors.add(f"{where}.auth.protocols", "must list at least one of pap, chap_md5, mschap_v1, mschap_v2")

    gateway = inst.get("ipv4_gateway")
    if gateway is not None and not _ip(gateway, 4):
        errors.add(f"{where}.ipv4_gateway", f"must be an IPv4 address, got {gateway!r}")
    pool = _pool_ranges(f"{where}.ip_pool.ranges", inst["ip_pool"]["ranges"], errors)
    if inst["ip_pool"]["ranges"] and gateway is None:
        errors.add(f"{where}.ipv4_gateway", "is required with ip_pool.ranges")
    gw = _ip(gateway, 4)
    if gw and any(lo <= int(gw) <= hi for lo, hi in pool):
        errors.add(f"{where}.ipv4_gateway", f"{gateway} is inside ip_pool.ranges: the pool would hand it out")

    chap = inst["chap_secrets"]
    users, addresses = set(), set()
    for index, user in enumerate(chap["users"]):
        at = f"{where}.chap_secrets.users[{index}]"
        if user.get("state", "present") == "absent":
            continue
        name = user.get("user")
        problem = _word_problem(name)
        if problem or name[0] in "#\"'":
            errors.add(f"{at}.user", f"{problem or 'must not start with #, a quote'}, got {name!r}")
        elif name in users:
            errors.add(f"{at}.user", f"{name!r} is listed twice")
        users.add(name)
        mac = user.get("mac")
        if mac is not None and (not _MAC_RE.match(str(mac)) or int(str(mac)[:2], 16) & 1):
            errors.add(f"{at}.mac", f"must be a unicast MAC of six octets, got {mac!r} (user {name!r})")
        password = user.get("password")
        problem = _word_problem(password)
        if problem or password[0] in "\"'":
            errors.add(
                f"{at}.password",
                f"{problem or 'must not start with a quote'} (user {name!r}, value not shown)",
            )
        address = user.get("ipv4")
        if address is None:
            continue
        ip = _ip(address, 4)
        if not ip:
            errors.add(f"{at}.ipv4", f"must be an IPv4 address, got {address!r} (user {name!r})")
            continue
        if ip in addresses:
            errors.add(f"{at}.ipv4", f"{address} is given to two users")
        addresses.add(ip)
        if any(lo <= int(ip) <= hi for lo, hi in pool):
            errors.add(
                f"{at}.ipv4",
                f"{address} (user {name!r}) is inside ip_pool.ranges: the pool could give it to someone else",
            )
        if gw and ip == gw:
            errors.add(f"{at}.ipv4", f"{address} (user {name!r}) is the gateway address")
        if gateway is None:
            errors.add(
                f"{where}.ipv4_gateway", f"is required for static addresses in chap-secrets (user {name!r})"
            )
    if chap["users"] and not chap["enabled"]:
        errors.add(f"{where}.chap_secrets.enabled", "is false but chap_secrets.users are given")

    _check_ipv6_pool(f"{where}.ipv6_pool", inst["ipv6_pool"], errors)
    if (inst["ipv6_pool"]["prefixes"] or inst["ipv6_pool"]["delegate"]) and ppp["ipv6"] == "deny":
        errors.add(f"{where}.ppp.ipv6", "is deny but ipv6_pool has prefixes: set allow, prefer or require")

    dns = inst["dns"]
    if len(dns["ipv4"]) > 2:
        errors.add(
            f"{where}.dns.ipv4", f"accel-ppp offers at most two IPv4 DNS servers, got {len(dns['ipv4'])}"
        )
    for index, server in enumerate(dns["ipv4"]):
        if not _ip(server, 4):
            errors.add(f"{where}.dns.ipv4[{index}]", f"must be an IPv4 address, got {server!r}")
    for index, server in enumerate(dns["ipv6"]):
        if not _ip(server, 6):
            errors.add(f"{where}.dns.ipv6[{index}]", f"must be an IPv6 address, got {server!r}")

    radius = inst["radius"]
    for index, server in enumerate(radius["servers"]):
        at = f"{where}.radius.servers[{index}]"
        if not _ip(server.get("address"), 4):
            errors.add(f"{at}.address", f"must be an IPv4 address, got {server.get('address')!r}")
        if _word_problem(server.get("secret")) or "," in str(server.get("secret")):
            errors.add(f"{at}.secret", "must be one word without commas (value not shown)")
    for key in ("nas_ip_address",):
        if radius.get(key) is not None and not _ip(radius[key], 4):
            errors.add(f"{where}.radius.{key}", f"must be an IPv4 address, got {radius[key]!r}")
    if radius.get("nas_identifier") is not None and _word_problem(radius["nas_identifier"]):
        errors.add(
            f"{where}.radius.nas_identifier",
            f"{_word_problem(radius['nas_identifier'])}, got {radius['nas_identifier']!r}",
        )
    dae = radius.get("dae")
    if dae:
        if not _ip(dae.get("address"), 4):
            errors.add(f"{where}.radius.dae.address", f"must be an IPv4 address, got {dae.get('address')!r}")
        if _word_problem(dae.get("secret")) or "," in str(dae.get("secret")):
            errors.add(f"{where}.radius.dae.secret", "must be one word without commas (value not shown)")
        if not radius["servers"]:
            errors.add(f"{where}.radius.dae", "needs radius.servers (the radius module serves DAE)")

    if inst["connlimit"]["enabled"] and not _CONNLIMIT_RE.match(str(inst["connlimit"]["limit"])):
        errors.add(
            f"{where}.connlimit.limit",
            f"must be N or N/[count](s|m|h), e.g. 10/min, got {inst['connlimit']['limit']!r}",
        )
    for index, module in enumerate(inst["modules_extra"]):
        if not re.match(r"^[A-Za-z0-9_-]+$", str(module)):
            errors.add(
                f"{where}.modules_extra[{index}]", f"must be a module name (lib<NAME>.so), got {module!r}"
            )


def accel_ppp_errors(instances: Any) -> list[str]:
    """Every error in the role's instances (merged with its defaults), each naming the field
    and the value; secrets are never shown. An empty list means the data is good."""
    if not isinstance(instances, list):
        raise AnsibleFilterError("accel_ppp_errors expects the list of instances")
    errors = _Errors()
    names: set[str] = set()
    endpoints: dict[tuple, str] = {}
    for index, inst in enumerate(instances):
        name = inst.get("name") if isinstance(inst, Mapping) else None
        where = f"accel_ppp_instances[{index}]" + (f" ({name})" if name else "")
        if not isinstance(name, str) or not _NAME_RE.match(name):
            errors.add(
                f"{where}.name",
                f"must be 1 to 64 letters, digits, '_', '.', '-' (a systemd instance name), got {name!r}",
            )
            continue
        if name in names:
            errors.add(f"{where}.name", f"{name!r} is used by two instances")
        names.add(name)
        if inst.get("state", "present") == "absent":
            continue
        try:
            _check_instance(where, inst, errors)
        except (KeyError, TypeError, AttributeError) as exc:
            errors.add(
                where, f"is not shaped as meta/argument_specs.yml describes ({type(exc).__name__}: {exc})"
            )
            continue
        endpoint = (inst.get("netns"), inst["cli"]["address"], int(inst["cli"]["port"]))
        if endpoint in endpoints:
            errors.add(
                f"{where}.cli",
                f"listens where instance {endpoints[endpoint]} does "
                f"({endpoint[1]}:{endpoint[2]} in namespace {endpoint[0] or '(host)'})",
            )
        endpoints[endpoint] = name
    return errors.messages


class FilterModule:
    def filters(self):
        return {
            "accel_ppp_conf_changes": accel_ppp_conf_changes,
            "accel_ppp_errors": accel_ppp_errors,
            "accel_ppp_modules": accel_ppp_modules,
        }

# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters of the role isplab.bng.jool: check its variables, build Jool's files, plan sysctls.

Documented in the YAML files of the same names next to this file.

jool_errors   every error in jool_instances, each naming the instance, the field and the value
jool_file     one instance as Jool 4.1.9's atomic-configuration JSON (a dict)
jool_restart  why a running instance cannot take a new file in place ('' if it can)
jool_sysctls  per namespace, the sysctls the instances need and the errors of the
              pool4/ephemeral-port check (refuse or adjust)

What Jool 4.1.9 accepts was tried on it (jool-tools and jool-dkms 4.1.9-1, Debian 12): the JSON
keys, that `file handle` replaces pool4, EAMT and denylist4 as a whole but leaves a global the
file omits at its current value, that it refuses to change the framework or a NAT64 pool6 in
place, and that it accepts EAMT entries whose suffix lengths differ. Addresses are parsed with
netaddr; RFC 6052 prefixes with the filter nat64_address's own check (nat64.py).
"""

from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError

from ansible_collections.isplab.bng.plugins.filter.nat64 import Rfc6052Error, parse_prefix

try:
    from netaddr import INET_PTON, AddrFormatError, IPAddress, IPNetwork, IPSet
except ImportError as exc:  # pragma: no cover - reported when a filter is used
    NETADDR_IMPORT_ERROR: ImportError | None = exc
else:
    NETADDR_IMPORT_ERROR = None

TYPES = ("nat64", "siit")
FRAMEWORKS = ("netfilter", "iptables")
PROTOCOLS = ("TCP", "UDP", "ICMP")
INSTANCE_KEYS = {
    "nat64": {"name", "type", "namespace", "framework", "pool6", "pool4", "global", "iptables"},
    "siit": {"name", "type", "namespace", "framework", "pool6", "eamt", "denylist4", "global", "iptables"},
}
POOL4_KEYS = {"protocol", "prefix", "ports", "mark", "max_iterations"}
EAMT_KEYS = {"ipv6", "ipv4"}
# What Jool takes when pool4 (or an ICMP entry's range) is empty; see jool(8) and pool4 display.
JOOL_DEFAULT_PORTS = (61001, 65535)
# Jool 4.1.9's globals with its defaults (`global display` of a fresh instance), pool6 aside.
# Every one is written to the file: `file handle` leaves a global the file omits at its current
# value, so a setting removed from the variables would otherwise stay. ('trace' is in the man
# page but 4.1.9's JSON parser refuses it.)
_COMMON_GLOBALS = {
    "manually-enabled": True,
    "lowest-ipv6-mtu": 1280,
    "logging-debug": False,
    "zeroize-traffic-class": False,
    "override-tos": False,
    "tos": 0,
    "mtu-plateaus": [65535, 32000, 17914, 8166, 4352, 2002, 1492, 1006, 508, 296, 68],
}
GLOBAL_DEFAULTS = {
    "nat64": {
        **_COMMON_GLOBALS,
        "address-dependent-filtering": False,
        "drop-externally-initiated-tcp": False,
        "drop-icmpv6-info": False,
        "source-icmpv6-errors-better": True,
        "f-args": 11,
        "handle-rst-during-fin-rcv": False,
        "tcp-est-timeout": "2:00:00",
        "tcp-trans-timeout": "0:04:00",
        "udp-timeout": "0:05:00",
        "icmp-timeout": "0:01:00",
        "logging-bib": False,
        "logging-session": False,
        "maximum-simultaneous-opens": 10,
        "ss-enabled": False,
        "ss-flush-asap": True,
        "ss-flush-deadline": 2000,
        "ss-capacity": 512,
        "ss-max-payload": 1452,
    },
    "siit": {
        **_COMMON_GLOBALS,
        "amend-udp-checksum-zero": False,
        "eam-hairpin-mode": "intrinsic",
        "randomize-rfc6791-addresses": True,
        "rfc6791v6-prefix": None,
        "rfc6791v4-prefix": None,
    },
}
# Jool's instance names are at most 15 ASCII characters; these also make safe systemd unit
# instance names and file names.
_NAME_RE = re.compile(r"[A-Za-z0-9_-]{1,15}")
# `ip netns` names (a file under /run/netns), as the role netns_topology accepts them.
_NETNS_RE = re.compile(r"[A-Za-z0-9_.@+-]{1,255}")
# iptables match arguments end up on a systemd ExecStartPost= line: nothing systemd would
# expand (%, $), quote or split.
_IPTABLES_ARG_RE = re.compile(r"[A-Za-z0-9_.:/,=+!@-]+")
SYSCTL_FORWARDING = ("net.ipv4.conf.all.forwarding", "net.ipv6.conf.all.forwarding")
SYSCTL_PORT_RANGE = "net.ipv4.ip_local_port_range"


class JoolConfigError(ValueError):
    """A value of jool_instances that the role refuses."""


def _check_netaddr(name: str) -> None:
    if NETADDR_IMPORT_ERROR is not None:
        raise AnsibleFilterError(
            f"{name}: the Python library netaddr is required on the controller: {NETADDR_IMPORT_ERROR}"
        )


def network(value: object, version: int, default_length: int | None = None) -> IPNetwork:
    """An IPv4 or IPv6 prefix with no bits set after its length (Jool refuses those)."""
    family = f"IPv{version}"
    if not isinstance(value, str) or not value.strip():
        raise JoolConfigError(f"{value!r} is not an {family} prefix")
    text = value.strip()
    address, _slash, length = text.partition("/")
    if not length and default_length is None:
        raise JoolConfigError(f"{text!r} has no prefix length")
    try:
        # INET_PTON: netaddr 0.8 would read 10.1 as 10.0.0.1.
        ip = IPAddress(address, version, flags=INET_PTON)
        net = IPNetwork(f"{ip}/{int(length) if length else default_length}", version)
    except (AddrFormatError, ValueError, TypeError):
        raise JoolConfigError(f"{text!r} is not an {family} prefix") from None
    if net.ip != net.network:
        raise JoolConfigError(
            f"{text!r} has bits set after its length /{net.prefixlen}: did you mean {net.cidr}?"
        )
    return net


def port_range(value: object) -> tuple[int, int]:
    """'61001-65535' or a single port; Jool's own syntax."""
    text = str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    match = re.fullmatch(r"(\d{1,5})(?:-(\d{1,5}))?", text)
    if not match:
        raise JoolConfigError(f"{value!r} is not a port range (such as 61001-65535)")
    low = int(match.group(1))
    high = int(match.group(2)) if match.group(2) is not None else low
    if high > 65535 or low > high:
        raise JoolConfigError(f"{value!r} is not a port range: ports go 0 to 65535, the lower first")
    return low, high


def _integer(value: object, low: int, high: int) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, str))
        or not re.fullmatch(r"\d+", str(value).strip())
    ):
        raise JoolConfigError(f"{value!r} is not a whole number")
    number = int(str(value).strip())
    if not low <= number <= high:
        raise JoolConfigError(f"{number} is not between {low} and {high}")
    return number


def _max_iterations(value: object) -> str | int:
    if isinstance(value, str) and value.strip().lower() in ("auto", "infinity"):
        return value.strip().lower()
    try:
        return _integer(value, 1, 2**32 - 1)
    except JoolConfigError:
        raise JoolConfigError(f"{value!r} is not auto, infinity or a whole number from 1") from None


def _label(index: int, instance: object) -> str:
    name = instance.get("name") if isinstance(instance, dict) else None
    return f"jool_instances[{index}]" + (f" ({name})" if isinstance(name, str) else "")


class _Errors(list):
    def at(self, where: str, func, *args):
        try:
            return func(*args)
        except JoolConfigError as exc:
            self.append(f"{where}: {exc}")
        except Rfc6052Error as exc:
            self.append(f"{where}: {exc}")
        return None


def _check_pool6(errors: _Errors, where: str, instance: dict) -> None:
    pool6 = instance.get("pool6")
    if pool6 is None:
        if instance["type"] == "nat64":
            errors.append(f"{where}: pool6 is required for a NAT64 instance (such as 64:ff9b::/96)")
        return
    errors.at(f"{where}: pool6", parse_prefix, pool6)


def _check_pool4(errors: _Errors, where: str, entries: object) -> None:
    if not isinstance(entries, list):
        errors.append(f"{where}: pool4 must be a list of entries, got {entries!r}")
        return
    for index, entry in enumerate(entries):
        at = f"{where}: pool4[{index}]"
        if not isinstance(entry, dict):
            errors.append(f"{at}: must be a mapping with protocol, prefix and ports, got {entry!r}")
            continue
        for key in sorted(set(entry) - POOL4_KEYS):
            errors.append(f"{at}: unknown key {key!r} (known: {', '.join(sorted(POOL4_KEYS))})")
        protocol = entry.get("protocol")
        if not isinstance(protocol, str) or protocol.upper() not in PROTOCOLS:
            errors.append(f"{at}: protocol {protocol!r} is not one of {', '.join(PROTOCOLS)}")
        if "prefix" not in entry:
            errors.append(f"{at}: prefix is required (an IPv4 address or prefix such as 203.0.113.1/32)")
        else:
            errors.at(f"{at}: prefix", network, entry["prefix"], 4, 32)
        if entry.get("ports") is not None:
            errors.at(f"{at}: ports", port_range, entry["ports"])
        if entry.get("mark") is not None:
            errors.at(f"{at}: mark", _integer, entry["mark"], 0, 2**32 - 1)
        if entry.get("max_iterations") is not None:
            errors.at(f"{at}: max_iterations", _max_iterations, entry["max_iterations"])


def _check_eamt(errors: _Errors, where: str, entries: object) -> None:
    """Both sides valid, suffixes of equal length (Jool 4.1.9 does not check that), no overlap."""
    if not isinstance(entries, list):
        errors.append(f"{where}: eamt must be a list of entries, got {entries!r}")
        return
    seen: list[tuple[str, IPNetwork, IPNetwork]] = []
    for index, entry in enumerate(entries):
        at = f"{where}: eamt[{index}]"
        if not isinstance(entry, dict):
            errors.append(f"{at}: must be a mapping with ipv6 and ipv4, got {entry!r}")
            continue
        for key in sorted(set(entry) - EAMT_KEYS):
            errors.append(f"{at}: unknown key {key!r} (known: ipv6, ipv4)")
        v6 = errors.at(f"{at}: ipv6", network, entry.get("ipv6"), 6, 128)
        v4 = errors.at(f"{at}: ipv4", network, entry.get("ipv4"), 4, 32)
        if v6 is None or v4 is None:
            continue
        if 128 - v6.prefixlen != 32 - v4.prefixlen:
            counterpart = (
                f"IPv6 /{v6.prefixlen} goes with IPv4 /{v6.prefixlen - 96}"
                if v6.prefixlen >= 96
                else "an IPv6 prefix shorter than /96 has no IPv4 counterpart"
            )
            errors.append(
                f"{at}: {v6.cidr} and {v4.cidr} have suffixes of different lengths "
                f"({128 - v6.prefixlen} and {32 - v4.prefixlen} bits): an EAMT entry maps each address of "
                f"one side to one address of the other, so the lengths must be equal ({counterpart})"
            )
            continue
        for other, o6, o4 in seen:
            for mine, theirs, family in ((v6, o6, "IPv6"), (v4, o4, "IPv4")):
                if IPSet([mine]) & IPSet([theirs]):
                    errors.append(f"{at}: the {family} prefix {mine.cidr} overlaps {theirs.cidr} of {other}")
        seen.append((f"eamt[{index}]", v6, v4))


def _check_denylist(errors: _Errors, where: str, entries: object) -> None:
    if not isinstance(entries, list):
        errors.append(f"{where}: denylist4 must be a list of IPv4 prefixes, got {entries!r}")
        return
    for index, entry in enumerate(entries):
        errors.at(f"{where}: denylist4[{index}]", network, entry, 4, 32)


def _check_iptables(errors: _Errors, where: str, instance: dict) -> None:
    rules = instance.get("iptables")
    if rules is None:
        return
    if (instance.get("framework") or "netfilter") != "iptables":
        errors.append(f"{where}: iptables is only for framework: iptables (this instance uses netfilter)")
        return
    if not isinstance(rules, dict) or set(rules) - {"ipv4", "ipv6"}:
        errors.append(f"{where}: iptables must be a mapping of ipv4 and ipv6 to lists of match arguments")
        return
    for family, args in rules.items():
        if not isinstance(args, list):
            errors.append(f"{where}: iptables.{family} must be a list of arguments, got {args!r}")
            continue
        for index, arg in enumerate(args):
            if not isinstance(arg, str) or not _IPTABLES_ARG_RE.fullmatch(arg):
                errors.append(
                    f"{where}: iptables.{family}[{index}]: {arg!r} is not a plain iptables argument "
                    "(letters, digits and _ . : / , = + ! @ - only)"
                )


def _check_globals(errors: _Errors, where: str, instance: dict) -> None:
    settings = instance.get("global")
    if settings is None:
        return
    if not isinstance(settings, dict):
        errors.append(f"{where}: global must be a mapping of Jool global names to values, got {settings!r}")
        return
    known = GLOBAL_DEFAULTS[instance["type"]]
    for key in settings:
        if key == "pool6":
            errors.append(f"{where}: global.pool6: set pool6 on the instance, not under global")
        elif key not in known:
            errors.append(
                f"{where}: global: {key!r} is not a global of Jool 4.1.9's {instance['type']} "
                f"(known: {', '.join(sorted(known))})"
            )


def _check_instance(errors: _Errors, where: str, instance: dict) -> None:
    kind = instance.get("type")
    if kind not in TYPES:
        errors.append(f"{where}: type {kind!r} is not one of {', '.join(TYPES)}")
        return
    for key in sorted(set(instance) - INSTANCE_KEYS[kind]):
        hint = " (NAT64 only)" if key == "pool4" else " (SIIT only)" if key in ("eamt", "denylist4") else ""
        errors.append(f"{where}: unknown key {key!r} for a {kind} instance{hint}")
    name = instance.get("name")
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        errors.append(f"{where}: name {name!r} is not 1 to 15 letters, digits, '_' or '-'")
    namespace = instance.get("namespace")
    if namespace is not None and (
        not isinstance(namespace, str) or not _NETNS_RE.fullmatch(namespace) or namespace in (".", "..")
    ):
        errors.append(f"{where}: namespace {namespace!r} is not a network namespace name")
    framework = instance.get("framework") or "netfilter"
    if framework not in FRAMEWORKS:
        errors.append(f"{where}: framework {framework!r} is not one of {', '.join(FRAMEWORKS)}")
    _check_pool6(errors, where, instance)
    if kind == "nat64":
        _check_pool4(errors, where, instance.get("pool4", []))
    else:
        _check_eamt(errors, where, instance.get("eamt", []))
        _check_denylist(errors, where, instance.get("denylist4", []))
    _check_globals(errors, where, instance)
    _check_iptables(errors, where, instance)


def jool_errors(instances: object) -> list[str]:
    """Every error in jool_instances (an empty list when it is fine)."""
    _check_netaddr("jool_errors")
    if not isinstance(instances, list):
        return [f"jool_instances must be a list of instances, got {instances!r}"]
    errors = _Errors()
    names: dict[str, int] = {}
    for index, instance in enumerate(instances):
        where = _label(index, instance)
        if not isinstance(instance, dict):
            errors.append(f"{where}: must be a mapping, got {instance!r}")
            continue
        _check_instance(errors, where, instance)
        name = instance.get("name")
        if isinstance(name, str):
            if name in names:
                errors.append(
                    f"{where}: name {name!r} is also jool_instances[{names[name]}]: the name is the "
                    "unit's and the file's, so it must be unique even across namespaces"
                )
            names.setdefault(name, index)
    return list(errors)


def _pool4_entries(instance: dict) -> list[dict]:
    entries = []
    for entry in instance.get("pool4", []):
        item = {
            "protocol": entry["protocol"].upper(),
            "prefix": str(network(entry["prefix"], 4, 32).cidr),
            "port range": "{}-{}".format(
                *port_range(entry.get("ports", "{}-{}".format(*JOOL_DEFAULT_PORTS)))
            ),
            "mark": int(entry.get("mark", 0)),
        }
        if entry.get("max_iterations") is not None:
            item["max-iterations"] = _max_iterations(entry["max_iterations"])
        entries.append(item)
    return entries


def _iptables(instance: dict) -> dict | None:
    if (instance.get("framework") or "netfilter") != "iptables":
        return None
    rules = instance.get("iptables") or {}
    return {"ipv6": list(rules.get("ipv6", [])), "ipv4": list(rules.get("ipv4", []))}


def jool_file(instance: dict) -> dict:
    """The instance as Jool's atomic configuration: the whole instance, every global included."""
    _check_netaddr("jool_file")
    kind = instance["type"]
    settings = dict(GLOBAL_DEFAULTS[kind])
    settings.update(instance.get("global") or {})
    pool6 = instance.get("pool6")
    settings["pool6"] = str(parse_prefix(pool6).cidr) if pool6 is not None else None
    result = {
        # Jool ignores "comment"; the role reads these back to see what a change needs.
        "comment": {
            "isplab": {
                "type": kind,
                "namespace": instance.get("namespace"),
                "iptables": _iptables(instance),
            },
        },
        "instance": instance["name"],
        "framework": (instance.get("framework") or "netfilter"),
        "global": settings,
    }
    if kind == "nat64":
        result["pool4"] = _pool4_entries(instance)
    else:
        result["eamt"] = [
            {
                "ipv6 prefix": str(network(entry["ipv6"], 6, 128).cidr),
                "ipv4 prefix": str(network(entry["ipv4"], 4, 32).cidr),
            }
            for entry in instance.get("eamt", [])
        ]
        result["denylist4"] = [str(network(entry, 4, 32).cidr) for entry in instance.get("denylist4", [])]
    return result


def jool_restart(new: dict, old: object) -> str:
    """Why the instance must be stopped (with its old unit) and started again, or ''.

    `jool file handle` replaces an instance's configuration in place, but refuses to change its
    framework or a NAT64 instance's pool6; the translator type, the namespace and the iptables
    rules belong to the unit, not to the file.
    """
    if not isinstance(old, dict):
        return ""
    was = (old.get("comment") or {}).get("isplab") or {}
    now = new["comment"]["isplab"]
    reasons = []
    for key in ("type", "namespace", "iptables"):
        if was.get(key) != now[key]:
            reasons.append(f"{key} {was.get(key)!r} -> {now[key]!r}")
    if old.get("framework") != new["framework"]:
        reasons.append(f"framework {old.get('framework')!r} -> {new['framework']!r}")
    if now["type"] == "nat64" and (old.get("global") or {}).get("pool6") != new["global"]["pool6"]:
        reasons.append(f"pool6 {(old.get('global') or {}).get('pool6')!r} -> {new['global']['pool6']!r}")
    return ", ".join(reasons)


def _ranges_overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


def _used_ports(instances: list[dict]) -> list[tuple[tuple[int, int], str]]:
    """TCP and UDP pool4 ranges: the ones a local socket's ephemeral port can collide with.

    ICMP identifiers are not ports: the kernel does not take them from ip_local_port_range.
    """
    used = []
    for instance in instances:
        if instance["type"] != "nat64":
            continue
        entries = instance.get("pool4", [])
        if not entries:
            used.append(
                (JOOL_DEFAULT_PORTS, f"{instance['name']}: empty pool4 (Jool then uses ports 61001-65535)")
            )
        for index, entry in enumerate(entries):
            if entry["protocol"].upper() == "ICMP":
                continue
            ports = port_range(entry.get("ports", "{}-{}".format(*JOOL_DEFAULT_PORTS)))
            label = f"pool4[{index}] {entry['protocol'].upper()} {entry['prefix']} {ports[0]}-{ports[1]}"
            used.append((ports, f"{instance['name']}: {label}"))
    return used


def _free_ranges(base: tuple[int, int], used: list[tuple[int, int]]) -> list[tuple[int, int]]:
    free = [base]
    for low, high in used:
        pieces = []
        for a, b in free:
            if high < a or low > b:
                pieces.append((a, b))
                continue
            if a < low:
                pieces.append((a, low - 1))
            if high < b:
                pieces.append((high + 1, b))
        free = pieces
    return free


def _parse_readings(text: object, namespace: str) -> dict[str, str]:
    lines = [line.split() for line in str(text).splitlines()]
    if len(lines) != 3 or [len(line) for line in lines] != [1, 1, 2]:
        raise AnsibleFilterError(
            f"jool_sysctls: unexpected sysctl output in {namespace or 'the root namespace'}: {text!r}"
        )
    return {
        SYSCTL_FORWARDING[0]: lines[0][0],
        SYSCTL_FORWARDING[1]: lines[1][0],
        SYSCTL_PORT_RANGE: " ".join(lines[2]),
    }


def jool_sysctls(
    instances: list[dict],
    readings: dict,
    policy: str,
    wanted: str,
    min_ports: int,
    forwarding: bool,
) -> list[dict]:
    """Per namespace ('' is the root one): the sysctls to hold, those that differ, and errors.

    readings maps a namespace to the output of `sysctl -n` of net.ipv4.conf.all.forwarding,
    net.ipv6.conf.all.forwarding and net.ipv4.ip_local_port_range, in that order.
    refuse: a TCP/UDP pool4 range inside the namespace's current ephemeral range is an error.
    adjust: the ephemeral range becomes the largest part of `wanted` that no pool4 range uses.
    """
    if policy not in ("refuse", "adjust"):
        raise AnsibleFilterError(f"jool_ephemeral_overlap: {policy!r} is not refuse or adjust")
    try:
        base = port_range(wanted)
    except JoolConfigError as exc:
        raise AnsibleFilterError(f"jool_ephemeral_range: {exc}") from None
    if base[0] < 1024:
        raise AnsibleFilterError(
            f"jool_ephemeral_range: {wanted!r} starts below 1024, which the kernel refuses"
        )
    namespaces: dict[str, list[dict]] = {}
    for instance in instances:
        namespaces.setdefault(instance.get("namespace") or "", []).append(instance)
    plans = []
    for namespace, members in namespaces.items():
        where = f"namespace {namespace}" if namespace else "the root namespace"
        current = _parse_readings(readings[namespace], namespace)
        wanted_sysctls = {name: "1" for name in SYSCTL_FORWARDING} if forwarding else {}
        errors = []
        used = _used_ports(members)
        if policy == "refuse":
            ephemeral = port_range(current[SYSCTL_PORT_RANGE].replace(" ", "-"))
            for ports, label in used:
                if _ranges_overlap(ports, ephemeral):
                    errors.append(
                        f"{where}: {label} overlaps {SYSCTL_PORT_RANGE} {ephemeral[0]}-{ephemeral[1]}, the "
                        "kernel's ephemeral ports: Jool would take the replies of local connections that "
                        "get such a port. Move the pool4 range out of it, or set "
                        "jool_ephemeral_overlap: adjust to have the role shrink the kernel's range"
                    )
        else:
            free = _free_ranges(base, [ports for ports, _label in used])
            best = max(free, key=lambda r: r[1] - r[0], default=None)
            size = best[1] - best[0] + 1 if best else 0
            if size < min_ports:
                errors.append(
                    f"{where}: the pool4 ranges ({'; '.join(label for _ports, label in used)}) leave "
                    f"{size} ports of jool_ephemeral_range {base[0]}-{base[1]} in one piece, fewer than "
                    f"jool_ephemeral_min_ports ({min_ports}): narrow pool4 or widen jool_ephemeral_range"
                )
            else:
                wanted_sysctls[SYSCTL_PORT_RANGE] = f"{best[0]} {best[1]}"
        plans.append(
            {
                "namespace": namespace,
                "sysctls": [{"name": k, "value": v} for k, v in wanted_sysctls.items()],
                "changes": [{"name": k, "value": v} for k, v in wanted_sysctls.items() if current[k] != v],
                "current": current,
                "errors": errors,
            }
        )
    return plans


class FilterModule:
    """Filters of the role isplab.bng.jool."""

    def filters(self):
        return {
            "jool_errors": jool_errors,
            "jool_file": jool_file,
            "jool_restart": jool_restart,
            "jool_sysctls": jool_sysctls,
        }

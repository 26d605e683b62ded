# SPDX-License-Identifier: GPL-3.0-or-later
"""A lab's network topology as data: the model, its validation and the plan that applies it.

Private to the isplab.bng collection: no stability promise outside it.

Standard library only (no root, no kernel, no pyroute2): a model is checked before anything
changes, on any host. The modules, the role's boot-time entry point, the benchmark and the
tests all turn a model into the same ordered plan; _topology_apply.py applies a plan to the
kernel. The checks of single values are in _topology_checks.py, the verification probes in
_topology_probes.py.

The model (the role variable netns_topology); every key is optional unless marked:

    hosts:                        # the network namespaces, by name
      NAME:
        sysctls: {net.ipv6.conf.all.forwarding: 1}    # net.* only: those are per namespace
        loopback: [2001:db8::53/128]                  # service addresses on lo (lo is always up)
        routes:
          - {to: default, via: 2001:db8::1}           # to (required): a prefix or `default`
          - {to: 10.0.0.0/8, dev: eth1, metric: 100}  # via and/or dev
    bridges:
      - {name: br0, namespace: NAME, mtu: 1500, mac: "02:00:00:00:00:01", up: true, addresses: []}
    links:
      - ends:                     # a veth pair (`type: veth` is the default): exactly two ends
          - {name: a, namespace: NAME, mac: ..., mtu: ..., addresses: [...], bridge: br0, up: true}
          - {name: b}             # no namespace: the host's root namespace
      - {type: macvlan, name: mv0, namespace: NAME, parent: a, mode: bridge, mac: ..., addresses: []}
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from ._topology_checks import (
    DEFAULT_METRIC,
    IPV6_MIN_MTU,
    Address,
    TopologyError,
    check_address,
    check_destination,
    check_gateway,
    check_ifname,
    check_mac,
    check_metric,
    check_mtu,
    check_netns_name,
    sysctl_path,
    sysctl_value,
)

MACVLAN_MODES = ("private", "vepa", "bridge", "passthru", "source")

_TOP_KEYS = {"hosts", "bridges", "links"}
_HOST_KEYS = {"sysctls", "routes", "loopback"}
_BRIDGE_KEYS = {"name", "namespace", "mtu", "mac", "up", "addresses"}
_END_KEYS = {"name", "namespace", "mtu", "mac", "up", "addresses", "bridge"}
_VETH_KEYS = {"type", "ends"}
_MACVLAN_KEYS = {"type", "name", "namespace", "parent", "mode", "mtu", "mac", "up", "addresses"}
_ROUTE_KEYS = {"to", "via", "dev", "metric"}


def where(netns: str | None, name: str) -> str:
    """How messages name an interface: `bng1:core`, or `eth0 (root namespace)`."""
    return f"{netns}:{name}" if netns else f"{name} (root namespace)"


# --- The whole model. ---


class _Iface:
    """One interface of the model (bridge, veth end, macvlan or a namespace's lo)."""

    def __init__(self, kind: str, netns: str | None, name: str, entry: str) -> None:
        self.kind = kind
        self.netns = netns
        self.name = name
        self.entry = entry
        self.mac: str | None = None
        self.mtu: int | None = None
        self.up = True
        self.addresses: list[Address] = []
        self.master: str | None = None
        self.peer: _Iface | None = None
        self.parent: str | None = None
        self.mode = "bridge"

    @property
    def key(self) -> tuple[str | None, str]:
        return (self.netns, self.name)


class _Checker:
    """Collects every error and warning of one model, each prefixed with the entry it is about."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.warnings: list[str] = []

    def run(self, entry: str, func, *args):
        """func(*args, field=entry) or None, with its error recorded."""
        try:
            return func(*args, field=entry)
        except TopologyError as exc:
            self.errors.extend(exc.errors)
            return None

    def error(self, entry: str, message: str) -> None:
        self.errors.append(f"{entry}: {message}")

    def mapping(self, value: Any, entry: str, allowed: set[str], required: Iterable[str] = ()) -> dict | None:
        if value is None:
            value = {}
        if not isinstance(value, Mapping):
            self.error(entry, f"must be a mapping, got {type(value).__name__} {value!r}")
            return None
        unknown = sorted(set(value) - allowed, key=str)
        if unknown:
            self.error(
                entry, f"unknown key(s) {', '.join(map(str, unknown))} (known: {', '.join(sorted(allowed))})"
            )
        for key in required:
            if value.get(key) is None:
                self.error(entry, f"{key} is required")
        return dict(value)

    def sequence(self, value: Any, entry: str) -> list:
        if value is None:
            return []
        if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
            self.error(entry, f"must be a list, got {type(value).__name__} {value!r}")
            return []
        return list(value)


class Topology:
    """A validated, normalised model. Build it with load()."""

    def __init__(self) -> None:
        self.namespaces: dict[str, dict] = {}
        self.interfaces: dict[tuple[str | None, str], _Iface] = {}
        self.warnings: list[str] = []

    def iface(self, netns: str | None, name: str) -> _Iface | None:
        return self.interfaces.get((netns, name))

    def by_kind(self, kind: str) -> list[_Iface]:
        return [i for i in self.interfaces.values() if i.kind == kind]


def validate(model: Any) -> tuple[list[str], list[str]]:
    """Every error and every warning of a model, without raising."""
    try:
        topology = load(model)
    except TopologyError as exc:
        return exc.errors, exc.warnings
    return [], topology.warnings


def load(model: Any) -> Topology:
    """Validate and normalise a model; TopologyError lists every error at once."""
    check = _Checker()
    topo = Topology()
    top = check.mapping(model, "topology", _TOP_KEYS)
    if top is None:
        raise TopologyError(check.errors)

    hosts = top.get("hosts") or {}
    if not isinstance(hosts, Mapping):
        check.error("hosts", f"must be a mapping of namespace name to settings, got {hosts!r}")
        hosts = {}
    for name, settings in hosts.items():
        entry = f"hosts.{name}"
        if check.run(entry, check_netns_name, name) is None:
            continue
        spec = check.mapping(settings, entry, _HOST_KEYS) or {}
        topo.namespaces[name] = {"raw": spec, "sysctls": [], "routes": [], "loopback": []}
        lo = _Iface("loopback", name, "lo", f"{entry} (lo)")
        topo.interfaces[lo.key] = lo

    def declare(iface: _Iface) -> None:
        if iface.netns is not None and iface.netns not in topo.namespaces:
            check.error(iface.entry, f"namespace {iface.netns!r} is not declared under hosts")
        other = topo.interfaces.get(iface.key)
        if other is not None:
            check.error(iface.entry, f"{where(*iface.key)} is already declared by {other.entry}")
            return
        topo.interfaces[iface.key] = iface

    def common(iface: _Iface, spec: dict) -> None:
        if spec.get("mac") is not None:
            iface.mac = check.run(f"{iface.entry}.mac", check_mac, spec["mac"])
        if spec.get("mtu") is not None:
            iface.mtu = check.run(f"{iface.entry}.mtu", check_mtu, spec["mtu"])
        if spec.get("up") is not None:
            if isinstance(spec["up"], bool):
                iface.up = spec["up"]
            else:
                check.error(f"{iface.entry}.up", f"must be true or false, got {spec['up']!r}")
        for index, value in enumerate(check.sequence(spec.get("addresses"), f"{iface.entry}.addresses")):
            address = check.run(f"{iface.entry}.addresses[{index}]", check_address, value)
            if address is not None:
                iface.addresses.append(address)

    def new_iface(kind: str, spec: dict, entry: str) -> _Iface | None:
        if spec.get("name") is None:
            return None
        name = check.run(f"{entry}.name", check_ifname, spec["name"])
        netns = spec.get("namespace")
        if netns is not None and check.run(f"{entry}.namespace", check_netns_name, netns) is None:
            return None
        if name is None:
            return None
        iface = _Iface(kind, netns, name, f"{entry} ({where(netns, name)})")
        common(iface, spec)
        declare(iface)
        return iface

    for index, raw in enumerate(check.sequence(top.get("bridges"), "bridges")):
        spec = check.mapping(raw, f"bridges[{index}]", _BRIDGE_KEYS, required=["name"])
        if spec is not None:
            new_iface("bridge", spec, f"bridges[{index}]")

    pending_masters: list[tuple[_Iface, Any]] = []
    pending_parents: list[_Iface] = []
    for index, raw in enumerate(check.sequence(top.get("links"), "links")):
        entry = f"links[{index}]"
        kind = raw.get("type", "veth") if isinstance(raw, Mapping) else "veth"
        if kind == "veth":
            spec = check.mapping(raw, entry, _VETH_KEYS, required=["ends"])
            if spec is None:
                continue
            ends = check.sequence(spec.get("ends"), f"{entry}.ends")
            if len(ends) != 2:
                if spec.get("ends") is not None:
                    check.error(f"{entry}.ends", f"a veth pair has exactly two ends, got {len(ends)}")
                continue
            made = []
            for end_index, end_raw in enumerate(ends):
                end_entry = f"{entry}.ends[{end_index}]"
                end_spec = check.mapping(end_raw, end_entry, _END_KEYS, required=["name"])
                if end_spec is None:
                    continue
                iface = new_iface("veth", end_spec, end_entry)
                if iface is not None:
                    made.append(iface)
                    if end_spec.get("bridge") is not None:
                        pending_masters.append((iface, end_spec["bridge"]))
            if len(made) == 2:
                made[0].peer, made[1].peer = made[1], made[0]
        elif kind == "macvlan":
            spec = check.mapping(raw, entry, _MACVLAN_KEYS, required=["name", "parent"])
            if spec is None:
                continue
            iface = new_iface("macvlan", spec, entry)
            if iface is None:
                continue
            iface.parent = check.run(f"{iface.entry}.parent", check_ifname, spec.get("parent"))
            mode = spec.get("mode", "bridge")
            if mode not in MACVLAN_MODES:
                check.error(
                    f"{iface.entry}.mode", f"{mode!r} is not a macvlan mode ({', '.join(MACVLAN_MODES)})"
                )
            else:
                iface.mode = mode
            if iface.parent is not None:
                pending_parents.append(iface)
        else:
            check.error(f"{entry}.type", f"{kind!r} is not a link type (veth or macvlan)")

    for iface, bridge in pending_masters:
        entry = f"{iface.entry}.bridge"
        if check.run(entry, check_ifname, bridge) is None:
            continue
        master = topo.iface(iface.netns, bridge)
        if master is None or master.kind != "bridge":
            check.error(
                entry,
                f"no bridge {bridge!r} is declared in the same namespace ({where(iface.netns, bridge)})",
            )
        else:
            iface.master = bridge

    for iface in pending_parents:
        parent = topo.iface(iface.netns, iface.parent)
        entry = f"{iface.entry}.parent"
        if parent is None:
            if iface.netns is not None:
                check.error(
                    entry,
                    f"{where(iface.netns, iface.parent)} is not declared; a macvlan's parent is "
                    "in the macvlan's namespace",
                )
        elif parent.master is not None:
            check.error(
                entry,
                f"{where(*parent.key)} is a port of bridge {parent.master}; an interface takes "
                "either a bridge or macvlans, put the macvlan on the bridge",
            )
        elif parent.kind == "loopback":
            check.error(entry, "a macvlan cannot sit on lo")
        elif parent is iface:
            check.error(entry, "a macvlan cannot be its own parent")

    for name, host in topo.namespaces.items():
        spec = host["raw"]
        entry = f"hosts.{name}"
        lo = topo.interfaces[(name, "lo")]
        for index, value in enumerate(check.sequence(spec.get("loopback"), f"{entry}.loopback")):
            address = check.run(f"{entry}.loopback[{index}]", check_address, value)
            if address is not None:
                lo.addresses.append(address)
        sysctls = spec.get("sysctls") or {}
        if not isinstance(sysctls, Mapping):
            check.error(f"{entry}.sysctls", f"must be a mapping of sysctl name to value, got {sysctls!r}")
            sysctls = {}
        for key, value in sysctls.items():
            path = check.run(f"{entry}.sysctls.{key}", sysctl_path, key)
            text = check.run(f"{entry}.sysctls.{key}", sysctl_value, value)
            if path is None or text is None:
                continue
            if path[1] is not None and topo.iface(name, path[1]) is None:
                check.error(f"{entry}.sysctls.{key}", f"interface {path[1]!r} is not declared in {name}")
            host["sysctls"].append({"name": key, "path": path[0], "dev": path[1], "value": text})

    _check_addresses(topo, check)

    for name, host in topo.namespaces.items():
        seen: dict[tuple, str] = {}
        for index, raw in enumerate(check.sequence(host["raw"].get("routes"), f"hosts.{name}.routes")):
            entry = f"hosts.{name}.routes[{index}]"
            route = _route(topo, check, name, raw, entry)
            if route is None:
                continue
            key = (route["to"], route["metric"])
            if key in seen:
                check.error(
                    entry,
                    f"route to {route['to']} metric {route['metric']} is already declared by {seen[key]}",
                )
                continue
            seen[key] = entry
            host["routes"].append(route)

    if check.errors:
        raise TopologyError(check.errors, check.warnings)
    topo.warnings = check.warnings
    return topo


def _check_addresses(topo: Topology, check: _Checker) -> None:
    owners: dict[tuple, str] = {}
    for iface in topo.interfaces.values():
        for address in iface.addresses:
            if address.version == 6 and iface.mtu is not None and iface.mtu < IPV6_MIN_MTU:
                check.error(
                    iface.entry, f"IPv6 address {address} needs mtu >= {IPV6_MIN_MTU}, got {iface.mtu}"
                )
            key = (iface.netns, address.ip)
            if key in owners:
                check.error(iface.entry, f"address {address.ip} is already declared by {owners[key]}")
            else:
                owners[key] = iface.entry
    for segment in segments(topo):
        macs: dict[str, str] = {}
        for iface in segment:
            if iface.mac is None:
                continue
            if iface.mac in macs:
                check.error(
                    iface.entry, f"MAC {iface.mac} is already used on the same segment by {macs[iface.mac]}"
                )
            else:
                macs[iface.mac] = iface.entry


def _route(topo: Topology, check: _Checker, netns: str, raw: Any, entry: str) -> dict | None:
    spec = check.mapping(raw, entry, _ROUTE_KEYS, required=["to"])
    if spec is None or spec.get("to") is None:
        return None
    via = None
    if spec.get("via") is not None:
        via = check.run(f"{entry}.via", check_gateway, spec["via"])
        if via is None:
            return None
    dev = None
    if spec.get("dev") is not None:
        dev = check.run(f"{entry}.dev", check_ifname, spec["dev"])
        if dev is None:
            return None
        if topo.iface(netns, dev) is None:
            check.error(f"{entry}.dev", f"interface {dev!r} is not declared in {netns}")
            return None
    if via is None and dev is None:
        check.error(entry, "a route needs via (a gateway), dev (an interface) or both")
        return None
    to = check.run(f"{entry}.to", check_destination, spec["to"], via)
    if to is None:
        return None
    if via is not None and via.version != to.version:
        check.error(entry, f"gateway {via} is IPv{via.version} but the destination {to} is IPv{to.version}")
        return None
    metric = DEFAULT_METRIC[to.version]
    if spec.get("metric") is not None:
        metric = check.run(f"{entry}.metric", check_metric, spec["metric"])
        if metric is None:
            return None
    if via is not None and via.version == 6 and via.is_link_local and dev is None:
        check.error(entry, f"the link-local gateway {via} needs dev (the interface it is reached on)")
        return None
    if via is not None and not (via.version == 6 and via.is_link_local):
        candidates = (
            [topo.iface(netns, dev)] if dev else [i for i in topo.interfaces.values() if i.netns == netns]
        )
        if not any(via in a.network for i in candidates for a in i.addresses):
            on = f"on {dev}" if dev else "in the namespace"
            check.warnings.append(
                f"{entry}: gateway {via} is not inside any address declared {on}; the kernel refuses the "
                "route unless something else gives the namespace an address on that network"
            )
    return {
        "to": str(to),
        "via": str(via) if via is not None else None,
        "dev": dev,
        "metric": metric,
        "family": to.version,
    }


# --- Layer 2 segments (shared by validation and by verification probes). ---


def segments(topo: Topology) -> list[list[_Iface]]:
    """The layer-2 segments: the interfaces that terminate traffic, grouped by what they reach.

    A veth joins its two ends, a bridge port joins the bridge, a macvlan joins its parent's
    segment. Bridge ports themselves are left out (they do not terminate traffic), and so are
    lo and interfaces that share no segment with anything.
    """
    parent: dict[tuple, tuple] = {key: key for key in topo.interfaces}

    def find(key: tuple) -> tuple:
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    def union(a: tuple, b: tuple) -> None:
        if a in parent and b in parent:
            parent[find(a)] = find(b)

    for iface in topo.interfaces.values():
        if iface.peer is not None:
            union(iface.key, iface.peer.key)
        if iface.master is not None:
            union(iface.key, (iface.netns, iface.master))
        if iface.parent is not None:
            union(iface.key, (iface.netns, iface.parent))
    groups: dict[tuple, list[_Iface]] = {}
    for iface in topo.interfaces.values():
        if iface.kind == "loopback" or iface.master is not None:
            continue
        groups.setdefault(find(iface.key), []).append(iface)
    return [members for members in groups.values() if len(members) > 1]


# --- The plan: the resources that make a model real, in the order to apply them. ---


def plan(model: Any) -> list[dict]:
    """The ordered resources of a model (a dict, or a Topology from load()).

    Namespaces first, then the sysctls that are not about one interface (so that
    net.ipv6.conf.default.* is in place before the interfaces that inherit it are created),
    then bridges, veth pairs, macvlans, the per-interface sysctls, the link properties
    (MAC, MTU, bridge, up), addresses and last routes (a gateway needs its address first).
    Every resource is a JSON-friendly dict with a `kind`.
    """
    topo = model if isinstance(model, Topology) else load(model)
    out: list[dict] = []
    for name in topo.namespaces:
        out.append({"kind": "netns", "name": name})
    for name, host in topo.namespaces.items():
        for sysctl in host["sysctls"]:
            if sysctl["dev"] is None:
                out.append(_sysctl_resource(name, sysctl))
    for iface in topo.by_kind("bridge"):
        out.append({"kind": "bridge", "netns": iface.netns, "name": iface.name})
    done: set[tuple] = set()
    for iface in topo.by_kind("veth"):
        if iface.peer is None or iface.key in done:
            continue
        done.update({iface.key, iface.peer.key})
        out.append(
            {
                "kind": "veth",
                "netns": iface.netns,
                "name": iface.name,
                "peer_netns": iface.peer.netns,
                "peer": iface.peer.name,
            }
        )
    for iface in topo.by_kind("macvlan"):
        out.append(
            {
                "kind": "macvlan",
                "netns": iface.netns,
                "name": iface.name,
                "parent": iface.parent,
                "mode": iface.mode,
            }
        )
    for name, host in topo.namespaces.items():
        for sysctl in host["sysctls"]:
            if sysctl["dev"] is not None:
                out.append(_sysctl_resource(name, sysctl))
    links = list(topo.interfaces.values())
    # Bridges before their ports: a port takes the bridge's MTU when it joins.
    links.sort(key=lambda i: 0 if i.kind in ("bridge", "loopback") else 1)
    for iface in links:
        out.append(
            {
                "kind": "link",
                "netns": iface.netns,
                "name": iface.name,
                "mac": iface.mac,
                "mtu": iface.mtu,
                # "" takes the interface out of any bridge; lo is never a port.
                "master": None if iface.kind == "loopback" else (iface.master or ""),
                "up": iface.up,
            }
        )
    for iface in links:
        for address in iface.addresses:
            out.append({"kind": "address", "netns": iface.netns, "dev": iface.name, "address": str(address)})
    for name, host in topo.namespaces.items():
        for route in host["routes"]:
            out.append({"kind": "route", "netns": name, **route})
    return out


def _sysctl_resource(netns: str, sysctl: dict) -> dict:
    return {
        "kind": "sysctl",
        "netns": netns,
        "name": sysctl["name"],
        "path": sysctl["path"],
        "value": sysctl["value"],
    }


def resource_key(resource: Mapping) -> tuple:
    """What identifies a resource across two plans: a change of anything else is applied in place."""
    kind = resource["kind"]
    if kind == "netns":
        return (kind, resource["name"])
    if kind == "veth":
        ends = sorted(
            [(resource["netns"] or "", resource["name"]), (resource["peer_netns"] or "", resource["peer"])]
        )
        return (kind, *ends[0], *ends[1])
    if kind == "macvlan":
        return (kind, resource["netns"], resource["name"], resource["parent"], resource["mode"])
    if kind in ("bridge", "link"):
        return (kind, resource["netns"], resource["name"])
    if kind == "address":
        return (kind, resource["netns"], resource["dev"], resource["address"])
    if kind == "route":
        return (kind, resource["netns"], resource["to"], resource["metric"])
    if kind == "sysctl":
        return (kind, resource["netns"], resource["path"])
    raise ValueError(f"unknown resource kind {kind!r}")


def removals(previous: list[dict], current: list[dict]) -> list[dict]:
    """What `previous` made that `current` no longer declares, in the order to remove it.

    Routes and addresses first, then macvlans, veth pairs, bridges and namespaces. Whatever
    lives inside a namespace that goes away goes with it, so it is not listed. Sysctls and
    link properties are not undone: the kernel keeps no record of the value before.
    """
    keep = {resource_key(r) for r in current}
    gone_ns = {r["name"] for r in previous if r["kind"] == "netns" and resource_key(r) not in keep}

    def goes_with_namespace(resource: Mapping) -> bool:
        if resource["kind"] == "veth":
            # A veth end left in a surviving namespace is removed explicitly.
            return resource["netns"] in gone_ns and resource["peer_netns"] in gone_ns
        return resource["kind"] != "netns" and resource["netns"] in gone_ns

    gone_links = set()
    for resource in previous:
        if resource["kind"] in ("macvlan", "bridge", "veth") and resource_key(resource) not in keep:
            gone_links.add((resource["netns"], resource["name"]))
            if resource["kind"] == "veth":
                gone_links.add((resource["peer_netns"], resource["peer"]))
    out = []
    for kind in ("route", "address", "macvlan", "veth", "bridge", "netns"):
        for resource in previous:
            if resource["kind"] != kind or resource_key(resource) in keep or goes_with_namespace(resource):
                continue
            if kind == "address" and (resource["netns"], resource["dev"]) in gone_links:
                continue
            out.append(resource)
    return out


def teardown_plan(resources: list[dict]) -> list[dict]:
    """What to remove to tear a plan down: the links in the root namespace, then the namespaces.

    Removing a namespace removes every interface in it (and the peer of every veth end in
    it); links in the root namespace are removed first so that none outlives its namespace
    while a process still holds that namespace open.
    """
    out = [r for r in resources if r["kind"] in ("macvlan", "veth", "bridge") and r["netns"] is None]
    out.sort(key=lambda r: ("macvlan", "veth", "bridge").index(r["kind"]))
    out += [
        r for r in resources if r["kind"] == "veth" and r["netns"] is not None and r["peer_netns"] is None
    ]
    out += [r for r in resources if r["kind"] == "netns"]
    return out


def describe(resource: Mapping) -> str:
    """A resource in one line, for actions and errors."""
    kind = resource["kind"]
    if kind == "netns":
        return f"namespace {resource['name']}"
    if kind == "sysctl":
        return f"sysctl {resource['name']} in {resource['netns']}"
    if kind == "veth":
        return (
            f"veth {where(resource['netns'], resource['name'])} <-> "
            f"{where(resource['peer_netns'], resource['peer'])}"
        )
    if kind == "macvlan":
        return f"macvlan {where(resource['netns'], resource['name'])} on {resource['parent']}"
    if kind in ("bridge", "link"):
        return f"{kind} {where(resource['netns'], resource['name'])}"
    if kind == "address":
        return f"address {resource['address']} on {where(resource['netns'], resource['dev'])}"
    if kind == "route":
        via = f" via {resource['via']}" if resource.get("via") else ""
        dev = f" dev {resource['dev']}" if resource.get("dev") else ""
        netns = resource["netns"] or "the root namespace"
        return f"route {resource['to']}{via}{dev} metric {resource['metric']} in {netns}"
    return f"{kind} {json.dumps(dict(resource), sort_keys=True)}"

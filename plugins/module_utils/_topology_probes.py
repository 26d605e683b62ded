# SPDX-License-Identifier: GPL-3.0-or-later
"""Verification of a network topology: what a playbook can ping and ask `ip route get` about.

Private to the isplab.bng collection: no stability promise outside it.

Apart from the model (_topology.py) because applying a topology never needs them: the module
netns_topology reports them for verification playbooks, and the boot-time copy of the model
goes without them. Standard library only, like the model.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from ._topology import Topology, _Iface, load, segments
from ._topology_checks import IPV6_MIN_MTU


def probes(model: Any) -> dict[str, list[dict]]:
    """Checks with real traffic for a model, for verification playbooks.

    links: for every two interfaces on one segment, each address of the second that is on a
    network the first also has an address on: ping `address` from `netns` out of `dev`. Two
    interfaces with no such address (e.g. PPPoE access ports) get one probe with address None:
    ping the target's IPv6 link-local address. A macvlan is never probed against its own
    parent (macvlan traffic never reaches the parent), nor against a bridge without addresses.
    routes: for every route, an address it covers that no more specific route or address of
    the namespace covers, and the gateway and device `ip route get` must answer.
    """
    topo = model if isinstance(model, Topology) else load(model)
    links = []
    for segment in segments(topo):
        for source in segment:
            for target in segment:
                if _can_reach(source, target):
                    links.extend(_pair_probes(topo, source, target))
    routes = []
    for name, host in topo.namespaces.items():
        covered = [r["to"] for r in host["routes"]]
        covered += [str(a.network) for i in topo.interfaces.values() if i.netns == name for a in i.addresses]
        for route in host["routes"]:
            address = _probe_address(route["to"], covered)
            if address is not None:
                routes.append(
                    {
                        "netns": name,
                        "to": route["to"],
                        "address": address,
                        "via": route["via"],
                        "dev": route["dev"],
                    }
                )
    return {"links": links, "routes": routes}


def _can_reach(source: _Iface, target: _Iface) -> bool:
    """Whether traffic from source can reach target on their shared segment."""
    if source is target or any(i.kind == "bridge" and not i.addresses for i in (source, target)):
        return False
    # Macvlan traffic never reaches the parent, and only bridge-mode macvlans reach each other.
    if (target.netns, target.parent) == source.key or (source.netns, source.parent) == target.key:
        return False
    same_parent = source.parent and (source.netns, source.parent) == (target.netns, target.parent)
    return not same_parent or source.mode == target.mode == "bridge"


def _pair_probes(topo: Topology, source: _Iface, target: _Iface) -> list[dict]:
    found = [
        _link_probe(source, target, str(address.ip))
        for address in target.addresses
        if any(address.ip in mine.network for mine in source.addresses)
    ]
    if found or source.addresses or target.addresses:
        return found
    if _ipv6_on(topo, source) and _ipv6_on(topo, target):
        return [_link_probe(source, target, None)]
    return []


def _link_probe(source: _Iface, target: _Iface, address: str | None) -> dict:
    return {
        "netns": source.netns,
        "dev": source.name,
        "address": address,
        "target_netns": target.netns,
        "target_dev": target.name,
    }


def _ipv6_on(topo: Topology, iface: _Iface) -> bool:
    """False where the model turns IPv6 off (small MTU, disable_ipv6); True when unknown (root namespace)."""
    if iface.mtu is not None and iface.mtu < IPV6_MIN_MTU:
        return False
    if iface.netns is None:
        return True
    off = ("net/ipv6/conf/default/disable_ipv6", "net/ipv6/conf/all/disable_ipv6")
    return not any(s["path"] in off and s["value"] == "1" for s in topo.namespaces[iface.netns]["sysctls"])


def _probe_address(prefix: str, covered: list[str]) -> str | None:
    network = ipaddress.ip_network(prefix)
    others = [ipaddress.ip_network(c) for c in covered]
    others = [o for o in others if o.version == network.version and o.prefixlen > network.prefixlen]
    if network.prefixlen == 0:
        # Documentation addresses (RFC 5737, RFC 3849) stand for "anywhere else".
        candidates = (
            ["192.0.2.1", "203.0.113.1"] if network.version == 4 else ["2001:db8:ffff::1", "2001:db8:fffe::1"]
        )
    else:
        candidates = [
            str(address)
            for address in (
                network.network_address + 1,
                network.broadcast_address - 1,
                network.network_address,
            )
            if address in network
        ]
    for text in candidates:
        candidate = ipaddress.ip_address(text)
        if candidate in network and not any(candidate in o for o in others):
            return text
    return None

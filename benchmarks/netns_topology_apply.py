#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""How long the topology apply code takes for many namespaces: first apply, then a re-run.

Builds a topology of N namespaces (default 200), each with a veth into one bridge in a hub
namespace, an IPv4 and an IPv6 address, default routes of both families through the hub
and a sysctl; applies it with the code the module netns_topology and the boot unit run,
times the first apply, a check-mode run and a re-run with nothing to change, then tears it
down. Prints figures and asserts nothing about time.

    sudo .venv/bin/python benchmarks/netns_topology_apply.py [--count 200] [--prefix bench]

Needs root and a kernel with network namespaces, veth and bridges.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# The collection is importable through the symlink scripts/make-venv creates.
sys.path.insert(0, str(REPO / ".venv" / "collections"))

from ansible_collections.isplab.bng.plugins.module_utils._topology import plan
from ansible_collections.isplab.bng.plugins.module_utils._topology_apply import (
    apply_topology,
    teardown_topology,
)

IPV4 = ipaddress.ip_network("10.200.0.0/16")
IPV6 = ipaddress.ip_network("2001:db8:200::/64")


def model(count: int, prefix: str) -> dict:
    hub = f"{prefix}-hub"
    gateway4, gateway6 = IPV4.network_address + 1, IPV6.network_address + 1
    hosts: dict = {hub: {"sysctls": {"net.ipv6.conf.default.accept_dad": 0, "net.ipv4.ip_forward": 1}}}
    links = []
    for index in range(1, count + 1):
        name = f"{prefix}-{index}"
        hosts[name] = {
            "sysctls": {"net.ipv6.conf.default.accept_dad": 0, "net.ipv4.conf.all.rp_filter": 2},
            "routes": [{"to": "default", "via": str(gateway4)}, {"to": "default", "via": str(gateway6)}],
        }
        links.append(
            {
                "ends": [
                    {
                        "name": "hub",
                        "namespace": name,
                        "addresses": [
                            f"{gateway4 + index}/{IPV4.prefixlen}",
                            f"{gateway6 + index}/{IPV6.prefixlen}",
                        ],
                    },
                    {"name": f"p{index}", "namespace": hub, "bridge": "br0"},
                ]
            }
        )
    return {
        "hosts": hosts,
        "bridges": [
            {
                "name": "br0",
                "namespace": hub,
                "addresses": [f"{gateway4}/{IPV4.prefixlen}", f"{gateway6}/{IPV6.prefixlen}"],
            }
        ],
        "links": links,
    }


def timed(label: str, func, *args, **kwargs) -> dict:
    start = time.perf_counter()
    result = func(*args, **kwargs)
    elapsed = time.perf_counter() - start
    print(f"{label:<34} {elapsed:8.3f} s   {len(result['actions']):6d} changes")
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--count", type=int, default=200, help="namespaces besides the hub (default 200)")
    parser.add_argument("--prefix", default=f"bench{os.getpid()}", help="namespace name prefix")
    options = parser.parse_args()
    if os.geteuid() != 0:
        print("needs root: it creates network namespaces", file=sys.stderr)
        return 2
    topology = model(options.count, options.prefix)
    resources = plan(topology)
    kinds: dict[str, int] = {}
    for resource in resources:
        kinds[resource["kind"]] = kinds.get(resource["kind"], 0) + 1
    counts = ", ".join(f"{number} {kind}" for kind, number in kinds.items())
    print(f"{options.count} namespaces + hub: {len(resources)} resources ({counts})")
    try:
        timed("first apply", apply_topology, topology)
        timed("check mode, nothing to change", apply_topology, topology, check_mode=True)
        timed("re-run, nothing to change", apply_topology, topology)
    finally:
        timed("teardown", teardown_topology, [topology])
    return 0


if __name__ == "__main__":
    sys.exit(main())

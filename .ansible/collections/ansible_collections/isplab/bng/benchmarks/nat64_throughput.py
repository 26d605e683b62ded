#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""TCP throughput through Jool's NAT64 against the same path routed natively over IPv4.

Runs in the lab (as root, on the lab host or in the lab VM) with the topology of
inventories/lab applied and the role jool's NAT64 running in the namespace nat64. iperf3 sends
from the IPv6-only client namespace (dns64 by default) to the IPv4 server 198.51.100.10 in
inet, alternately:

  nat64   to 64:ff9b::198.51.100.10: client -> core -> nat64 (translated) -> inet
  native  to 198.51.100.10 over the same namespaces and veths, with temporary IPv4 addresses
          from 198.18.0.0/29 (RFC 2544, benchmarking) on client-core and core-nat64, routes
          for them, and IPv4 forwarding in core; all removed again at the end

so that the only difference is the translation. Prints each round, the medians and their
ratio. Under software emulation the absolute rates mean little; the ratio is the figure.

    python3 nat64_throughput.py [--seconds 10] [--rounds 3] [--reverse]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from contextlib import ExitStack

from netaddr import IPAddress, IPNetwork
from pyroute2 import NetNS

SERVER_NS = "inet"
SERVER = "198.51.100.10"
NAT64_NS = "nat64"
CORE_NS = "core"
NAT64_POOL4 = "203.0.113.1"
# Temporary IPv4 for the native path: client-core 198.18.0.0/30, core-nat64 198.18.0.4/30.
NATIVE_NET = "198.18.0.0/29"
CLIENT_NET = "198.18.0.0/30"
CLIENT_LINK = ("198.18.0.1", "198.18.0.2")  # core's end, the client's end
NAT64_LINK = ("198.18.0.5", "198.18.0.6")  # core's end, nat64's end


def run(netns: str, *argv: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["ip", "netns", "exec", netns, *argv], check=check, text=True, capture_output=True, **kwargs
    )


def sysctl(netns: str, name: str, value: str | None = None) -> str:
    if value is None:
        return run(netns, "sysctl", "-n", name).stdout.strip()
    run(netns, "sysctl", "-q", "-w", f"{name}={value}")
    return value


def embed(prefix: str, ipv4: str) -> str:
    """The IPv4-embedded address under a /96 NAT64 prefix (RFC 6052 section 2.2)."""
    network = IPNetwork(prefix)
    if network.version != 6 or network.prefixlen != 96:
        raise SystemExit(f"--pool6 {prefix}: only an IPv6 /96 is supported here")
    return str(IPAddress(int(network.network) | int(IPAddress(ipv4, 4)), 6))


def ifindex(ns: NetNS, name: str, where: str) -> int:
    found = ns.link_lookup(ifname=name)
    if not found:
        raise SystemExit(f"no interface {name} in {where}: is the lab topology applied?")
    return found[0]


class NativePath:
    """Temporary IPv4 addressing and routes along client -> core -> nat64 -> inet."""

    def __init__(self, client: str):
        self.client = client
        self.undo: list = []

    def __enter__(self) -> NativePath:
        try:
            self._setup()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _addr(self, netns: str, ifname: str, address: str) -> None:
        with NetNS(netns, flags=0) as ns:
            index = ifindex(ns, ifname, netns)
            ns.addr("replace", index=index, address=address, prefixlen=30)
        self.undo.append(("addr", netns, index, address))

    def _route(self, netns: str, dst: str, gateway: str) -> None:
        with NetNS(netns, flags=0) as ns:
            ns.route("replace", dst=dst, gateway=gateway)
        self.undo.append(("route", netns, dst, gateway))

    def _setup(self) -> None:
        # Interfaces are named after the namespace at their other end (topology.yml).
        self._addr(CORE_NS, self.client, CLIENT_LINK[0])
        self._addr(self.client, CORE_NS, CLIENT_LINK[1])
        self._addr(CORE_NS, NAT64_NS, NAT64_LINK[0])
        self._addr(NAT64_NS, CORE_NS, NAT64_LINK[1])
        self._route(self.client, f"{SERVER}/32", CLIENT_LINK[0])
        self._route(CORE_NS, f"{SERVER}/32", NAT64_LINK[1])
        self._route(NAT64_NS, CLIENT_NET, NAT64_LINK[0])
        self._route(SERVER_NS, NATIVE_NET, NAT64_POOL4)
        forwarding = sysctl(CORE_NS, "net.ipv4.ip_forward")
        self.undo.append(("sysctl", CORE_NS, "net.ipv4.ip_forward", forwarding))
        sysctl(CORE_NS, "net.ipv4.ip_forward", "1")

    def __exit__(self, *exc) -> None:
        for kind, netns, *args in reversed(self.undo):
            try:
                if kind == "sysctl":
                    sysctl(netns, args[0], args[1])
                    continue
                with NetNS(netns, flags=0) as ns:
                    if kind == "addr":
                        ns.addr("del", index=args[0], address=args[1], prefixlen=30)
                    else:
                        ns.route("del", dst=args[0], gateway=args[1])
            except Exception as error:  # undo the rest, then report
                print(f"warning: could not undo {kind} {args} in {netns}: {error}", file=sys.stderr)
        self.undo.clear()


def iperf(client: str, target: str, port: int, seconds: int, reverse: bool) -> float:
    argv = [
        "iperf3",
        "--json",
        "-c",
        target,
        "-p",
        str(port),
        "-t",
        str(seconds),
        "--connect-timeout",
        "5000",
    ]
    if reverse:
        argv.append("-R")
    done = run(client, *argv, check=False, timeout=seconds + 60)
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        raise SystemExit(
            f"iperf3 to {target} gave no report: {done.stderr.strip() or done.stdout.strip()}"
        ) from None
    if "error" in report:
        raise SystemExit(f"iperf3 to {target}: {report['error']}")
    return report["end"]["sum_received"]["bits_per_second"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--client", default="dns64", help="the IPv6-only client namespace (default dns64)")
    parser.add_argument("--pool6", default="64:ff9b::/96", help="the NAT64 prefix (default 64:ff9b::/96)")
    parser.add_argument("--seconds", type=int, default=10, help="length of each transfer")
    parser.add_argument("--rounds", type=int, default=3, help="NAT64/native pairs, alternated")
    parser.add_argument("--port", type=int, default=5201, help="iperf3 server port")
    parser.add_argument("--reverse", action="store_true", help="server to client (iperf3 -R)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root: it enters the lab's network namespaces")

    target6 = embed(args.pool6, SERVER)
    print(
        f"{platform.node()} {platform.release()}, {os.cpu_count()} CPU(s); {args.client} -> {SERVER} in "
        f"{SERVER_NS}, {args.seconds} s per transfer, {args.rounds} round(s), "
        f"{'server to client' if args.reverse else 'client to server'}"
    )
    rates: dict[str, list[float]] = {"nat64": [], "native": []}
    with ExitStack() as stack:
        server = subprocess.Popen(
            ["ip", "netns", "exec", SERVER_NS, "iperf3", "-s", "-B", SERVER, "-p", str(args.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        stack.callback(server.wait)
        stack.callback(server.terminate)
        time.sleep(1)
        stack.enter_context(NativePath(args.client))
        for round_ in range(1, args.rounds + 1):
            for name, target in (("nat64", target6), ("native", SERVER)):
                rate = iperf(args.client, target, args.port, args.seconds, args.reverse)
                rates[name].append(rate)
                print(f"round {round_}: {name:6} to {target:24} {rate / 1e6:9.1f} Mbit/s")
    nat64 = statistics.median(rates["nat64"])
    native = statistics.median(rates["native"])
    print(f"median: nat64 {nat64 / 1e6:.1f} Mbit/s, native IPv4 {native / 1e6:.1f} Mbit/s")
    print(f"ratio nat64/native: {nat64 / native:.3f}")


if __name__ == "__main__":
    main()

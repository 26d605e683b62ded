#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Subscribers' outage when the primary BNG dies: the stock pair, stage one and stage two.

Runs in the lab (as root, in the lab VM) with the BNG pair of the role bng_failover installed
and the collection's plugins/ next to this directory (the script imports the collection's code
from there). `make bench-failover` does it all in its own boot of the lab VM: the failover
scenario converged with as many subscribers as the largest size, plugins/ and benchmarks/
copied in, this script run there, the VM destroyed (scripts/bench-failover):

    make bench-failover SIZES=5,20,50 ACCEL_PPP_SOURCE=/path/to/accel-ppp   # or rp-pppoe without it

For every size and column, in one run with the same subscribers (cpe1..cpeN), from a clean
start (every subscriber dialed to bng1): every subscriber pings the gateway every 50 ms (one
raw ICMP socket per subscriber namespace, all in this process), the primary's PPPoE server is
killed (SIGKILL, every process of its unit), and the run waits until every subscriber answers
again. Columns:

  stock      no failover: keepalived and the agents stopped, the standby's server answering
             discovery late (accel-ppp PADO-delay 500; rp-pppoe: a discovery filter that delays
             its PADOs 500 ms, as in the role pppoe_server's stock pair); subscribers notice
             through their own LCP echoes and redial
  stage one  the failover with takeover padt: the standby sends a PADT for every replicated
             session on the dead primary's behalf; subscribers redial at once
  stage two  the failover with takeover hitless: the standby adopts every session

Figures per column: the worst and median outage (largest gap between replies, per subscriber)
and how many subscribers redialed (their PPPoE session id or AC MAC changed). Under software
emulation the seconds mean little; the ratios are the figures.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import select
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _import_path() -> str:
    """A directory holding ansible_collections/isplab/bng -> this checkout."""
    if not (REPO / "plugins" / "module_utils").is_dir():
        raise SystemExit(f"run this from a copy of the collection's checkout ({REPO} is not one)")
    base = Path(tempfile.mkdtemp(prefix="isplab-bench-"))
    (base / "ansible_collections" / "isplab").mkdir(parents=True)
    (base / "ansible_collections" / "isplab" / "bng").symlink_to(REPO)
    return str(base)


sys.path.insert(0, _import_path())

from ansible_collections.isplab.bng.plugins.module_utils._accel_ppp_cli import (
    AccelPppCli,
    AccelPppError,
    run_in_netns,
)
from ansible_collections.isplab.bng.plugins.module_utils._failover.config import (
    AgentError,
    config_path,
    load_config,
)
from ansible_collections.isplab.bng.plugins.module_utils._failover.control import control_request
from ansible_collections.isplab.bng.plugins.module_utils._failover.server import set_discovery_filter
from ansible_collections.isplab.bng.plugins.module_utils._outage import largest_gap, summary
from ansible_collections.isplab.bng.plugins.module_utils._pppoe_kernel import (
    PppoeKernelError,
    read_proc_net_pppoe,
)

COLUMNS = {"stock": "stock pair", "padt": "stage one", "hitless": "stage two"}
PEERS_DIR = Path("/etc/ppp/peers/isplab")
SIOCGIFADDR = 0x8915
ICMP_ECHO, ICMP_REPLY = 8, 0


def sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess:
    # Long: under software emulation an agent takes a minute to start in a busy VM.
    return subprocess.run(argv, check=check, text=True, capture_output=True, timeout=600)


def systemctl(action: str, *units: str, check: bool = True) -> None:
    if units:
        sh("systemctl", action, *units, check=check)


# --- subscribers ----------------------------------------------------------------------------------


def subscribers() -> list[str]:
    names = [p.name for p in PEERS_DIR.iterdir()] if PEERS_DIR.is_dir() else []
    return sorted(names, key=lambda n: (len(n), n))


def _session() -> tuple[int, str] | None:
    """In a subscriber's namespace: (PPPoE session id, AC MAC) when ppp0 is up with IPv4."""
    try:
        rows = read_proc_net_pppoe()
    except PppoeKernelError:
        return None
    if not rows:
        return None
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            import fcntl

            fcntl.ioctl(sock.fileno(), SIOCGIFADDR, struct.pack("256s", b"ppp0"))
        except OSError:
            return None
    return rows[0].session_id, rows[0].peer_mac


def sessions(names: list[str]) -> dict[str, tuple[int, str] | None]:
    return {name: run_in_netns(name, _session) for name in names}


def wait_up(names: list[str], timeout: float, ac_mac: str | None = None) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        now = sessions(names)
        missing = [n for n, s in now.items() if s is None or (ac_mac and s[1] != ac_mac)]
        if not missing:
            return now
        if time.monotonic() > deadline:
            raise SystemExit(f"not up{' on ' + ac_mac if ac_mac else ''} after {timeout:g} s: {missing}")
        time.sleep(1.0)


# --- the pinger -----------------------------------------------------------------------------------


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


class Pinger(threading.Thread):
    """Echo requests to the gateway every interval from every namespace; reply times per namespace."""

    def __init__(self, names: list[str], gateway: str, interval: float = 0.05):
        super().__init__(daemon=True)
        self.gateway = gateway
        self.interval = interval
        self.replies: dict[str, list[float]] = {name: [] for name in names}
        self.socks = {}
        for index, name in enumerate(names):
            sock = run_in_netns(
                name, lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
            )
            sock.setblocking(False)
            self.socks[sock] = (name, 0x4000 + index)
        self.stop = threading.Event()

    def run(self) -> None:
        sequence = 0
        next_send = time.monotonic()
        while not self.stop.is_set():
            now = time.monotonic()
            if now >= next_send:
                sequence = (sequence + 1) & 0xFFFF
                for sock, (_name, ident) in self.socks.items():
                    header = struct.pack("!BBHHH", ICMP_ECHO, 0, 0, ident, sequence)
                    packet = struct.pack(
                        "!BBHHH", ICMP_ECHO, 0, _checksum(header + b"isplab"), ident, sequence
                    )
                    with contextlib.suppress(OSError):
                        sock.sendto(packet + b"isplab", (self.gateway, 0))
                next_send += self.interval
                if next_send < now:
                    next_send = now + self.interval
            ready, _writable, _errored = select.select(
                list(self.socks), [], [], max(next_send - time.monotonic(), 0)
            )
            stamp = time.time()
            for sock in ready:
                name, ident = self.socks[sock]
                while True:
                    try:
                        data = sock.recv(2048)
                    except BlockingIOError:
                        break
                    offset = (data[0] & 0x0F) * 4
                    kind, _code, _sum, rid, _seq = struct.unpack("!BBHHH", data[offset : offset + 8])
                    if kind == ICMP_REPLY and rid == ident:
                        self.replies[name].append(stamp)

    def close(self) -> None:
        self.stop.set()
        self.join(5)
        for sock in self.socks:
            sock.close()


# --- the pair --------------------------------------------------------------------------------------


class Pair:
    def __init__(self) -> None:
        try:
            self.primary = load_config(config_path("bng1"))
            self.standby = load_config(config_path("bng2"))
        except AgentError as exc:
            raise SystemExit(f"the role bng_failover's instances bng1 and bng2 are needed: {exc}") from None
        self.server = self.primary.server
        # The AC MAC a subscriber sees: its BNG's access interface's.
        self.primary_mac = self._access_mac(self.primary)
        self.standby_mac = self._access_mac(self.standby)

    @staticmethod
    def _access_mac(config) -> str:
        link = sh("ip", "-n", config.instance, "-j", "link", "show", config.access_interface).stdout
        return json.loads(link)[0]["address"]

    def unit(self, config) -> str:
        return (
            config.server_unit if self.server == "rp-pppoe" else f"isplab-accel-ppp@{config.instance}.service"
        )

    def cli(self, config) -> AccelPppCli:
        return AccelPppCli(
            config.accel_ppp_host,
            config.accel_ppp_port,
            config.accel_ppp_password,
            5.0,
            netns=config.instance,
        )

    def failover_units(self) -> list[str]:
        return [
            f"{kind}@{c.instance}.service"
            for c in (self.primary, self.standby)
            for kind in ("isplab-bng-keepalived", "isplab-bng-failover")
        ]

    def reset(self, column: str) -> None:
        """Every subscriber down, both BNGs clean, then the column's setup with bng1 serving."""
        # Every subscriber, not only this round's: one left dialed would load the BNGs too.
        systemctl("stop", "isplab-pppoe-client@*.service", check=False)
        systemctl("stop", *self.failover_units(), check=False)
        for config in (self.primary, self.standby):
            sh("ip", "-n", config.instance, "link", "set", config.access_interface, "up")
            for line in sh("ip", "-n", config.instance, "-o", "link", "show").stdout.splitlines():
                match = re.match(r"^\d+: (ac[0-9a-f]{12})[@:]", line)
                if match:
                    sh("ip", "-n", config.instance, "link", "del", match[1], check=False)
            # A BNG fenced in the round before stays fenced across agent restarts: not here.
            for path in (config.state_file, config.journal_file, config.fenced_file):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
        if self.server == "rp-pppoe":
            # Both servers run, their PADOs dropped until an agent is active (the lab's pair);
            # the stock pair answers at once from bng1, 500 ms late from bng2 (pppoe_server's).
            systemctl("restart", self.unit(self.primary), self.unit(self.standby))
            if column == "stock":
                for config, delay in ((self.primary, 0), (self.standby, 500)):
                    set_discovery_filter(config.access_interface, delay, config.instance)
        else:
            systemctl("restart", self.unit(self.primary), self.unit(self.standby))
            self._accel_ready(self.primary, "0")
            self._accel_ready(self.standby, "500" if column == "stock" else "-1")
        if column != "stock":
            systemctl(
                "start", *[f"isplab-bng-failover@{c.instance}.service" for c in (self.primary, self.standby)]
            )
            for config in (self.primary, self.standby):
                control_request(config, {"command": "takeover-mode", "mode": column})
            systemctl("start", f"isplab-bng-keepalived@{self.primary.instance}.service")
            self._wait_role(self.primary, "active", 60)
            systemctl("start", f"isplab-bng-keepalived@{self.standby.instance}.service")
            self._wait_role(self.standby, "standby", 60)

    def _accel_ready(self, config, delay: str) -> None:
        deadline = time.monotonic() + 60
        while True:
            try:
                self.cli(config).pppoe_set("PADO-delay", delay)
                return
            except AccelPppError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)

    @staticmethod
    def _wait_role(config, role: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(AgentError):
                if control_request(config, {"command": "status"}).get("role") == role:
                    return
            if time.monotonic() > deadline:
                raise SystemExit(f"{config.instance} is not {role} after {timeout:g} s")
            time.sleep(1)

    def failed_over(self, names: list[str], column: str) -> bool:
        """Stock pair and stage one: every subscriber dialed the standby again. Stage two: the
        standby's takeover is done and every subscriber's session is up."""
        now = sessions(names)
        if any(s is None for s in now.values()):
            return False
        if column != "hitless":
            return all(s[1] == self.standby_mac for s in now.values())
        with contextlib.suppress(AgentError):
            status = control_request(self.standby, {"command": "status"})
            return status.get("role") == "active" and bool(status.get("last_takeover"))
        return False

    def wait_replicated(self, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            state = control_request(self.standby, {"command": "status"}).get("replicated_state") or {}
            # Every session complete (addresses included), or its adoption would fall back to a PADT.
            if state.get("sessions") == count and state.get("complete") == count and state.get("fresh"):
                return
            if time.monotonic() > deadline:
                raise SystemExit(
                    f"{self.standby.instance} has {state} after {timeout:g} s, not {count} sessions"
                )
            time.sleep(0.5)


# --- one round -------------------------------------------------------------------------------------


def round_(pair: Pair, names: list[str], column: str, gateway: str, window: float) -> dict:
    pair.reset(column)
    systemctl("start", *[f"isplab-pppoe-client@{n}.service" for n in names])
    before = wait_up(names, 600, pair.primary_mac)
    if column != "stock":
        pair.wait_replicated(len(names), 60)
    pinger = Pinger(names, gateway)
    pinger.start()
    try:
        time.sleep(3)
        killed = time.time()
        sh("systemctl", "kill", "--signal=SIGKILL", pair.unit(pair.primary))
        # Replies still in flight right after the kill say nothing: wait until the failover is
        # over (every subscriber redialed to the standby, or the standby's takeover done), then
        # until every subscriber answers again.
        deadline = time.monotonic() + window
        while time.monotonic() < deadline:
            if pair.failed_over(names, column) and all(
                pinger.replies[n] and pinger.replies[n][-1] > time.time() - 1.0 for n in names
            ):
                break
            time.sleep(0.5)
        time.sleep(2)
        end = time.time()
    finally:
        pinger.close()
    after = sessions(names)
    gaps = {n: largest_gap(pinger.replies[n], killed - 1, end) for n in names}
    redialed = [n for n in names if after[n] != before[n]]
    never = [n for n in names if gaps[n]["back"] is None]
    return {
        "subscribers": len(names),
        "column": COLUMNS[column],
        **{k: v for k, v in summary(g["gap"] for g in gaps.values()).items() if k != "count"},
        "redialed": len(redialed),
        "not_back": never,
        "gaps": {n: g["gap"] for n, g in gaps.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--sizes", default="5,20,50", help="subscriber counts, comma separated")
    parser.add_argument("--columns", default="stock,padt,hitless", help="any of stock, padt, hitless")
    parser.add_argument("--gateway", default="100.64.0.1")
    parser.add_argument("--window", type=float, default=240, help="seconds to wait for every subscriber")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root in the lab (namespaces, raw sockets, systemctl)")
    # systemctl waits 25 s for systemd's answer by default: too short for 50 units in a busy VM.
    os.environ["SYSTEMD_BUS_TIMEOUT"] = "600"
    sizes = [int(s) for s in args.sizes.split(",")]
    columns = args.columns.split(",")
    unknown = [c for c in columns if c not in COLUMNS]
    if unknown:
        raise SystemExit(f"--columns: unknown {unknown}, choose from {list(COLUMNS)}")
    everyone = subscribers()
    if max(sizes) > len(everyone):
        raise SystemExit(
            f"{max(sizes)} subscribers asked, {len(everyone)} configured: converge the failover scenario "
            f"with ISPLAB_FAILOVER_SUBSCRIBERS={max(sizes)}"
        )
    pair = Pair()
    results = []
    for size in sizes:
        names = everyone[:size]
        for column in columns:
            result = round_(pair, names, column, args.gateway, args.window)
            results.append(result)
            print(
                f"{size:>4} {result['column']:<11} worst {result['worst']:7.2f} s  "
                f"median {result['median']:7.2f} s  redialed {result['redialed']}/{size}"
                + (f"  NOT BACK {result['not_back']}" if result["not_back"] else ""),
                flush=True,
            )
    pair.reset("hitless")
    systemctl("start", *[f"isplab-pppoe-client@{n}.service" for n in everyone])
    if args.json:
        print(
            json.dumps({"machine": platform.machine(), "server": pair.server, "results": results}, indent=1)
        )
        return
    print(
        f"\n{pair.server} servers, {platform.machine()}, outage = largest gap in 50 ms pings to the gateway"
    )
    print(f"{'subs':>4}  {'column':<11} {'worst s':>8} {'median s':>9} {'redialed':>9}")
    for r in results:
        print(
            f"{r['subscribers']:>4}  {r['column']:<11} {r['worst']:>8.2f} {r['median']:>9.2f} "
            f"{r['redialed']:>5}/{r['subscribers']:<3}"
        )
    print("\nratios of the worst outage:")
    for size in sizes:
        by = {r["column"]: r for r in results if r["subscribers"] == size}
        parts = []
        for a, b in (("stock pair", "stage one"), ("stock pair", "stage two"), ("stage one", "stage two")):
            if a in by and b in by and by[b]["worst"]:
                parts.append(f"{a} / {b} = {by[a]['worst'] / by[b]['worst']:.1f}")
        print(f"  {size:>3} subscribers: " + ", ".join(parts))


if __name__ == "__main__":
    main()

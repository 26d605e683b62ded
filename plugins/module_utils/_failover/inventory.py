# SPDX-License-Identifier: GPL-3.0-or-later
"""The session inventory: every PPPoE session the active BNG serves, read from its kernel, its
PPPoE server and the records of the server's pppd hook, as the records the agent replicates.

Private to the isplab.bng collection: no stability promise outside it.

accel-ppp: /proc/net/pppoe joined with the CLI's session table and the ppp interfaces'
addresses; rp-pppoe: the per-session pppd command lines, the records of their ip-up hook, and
the IPv6 routes to their ppp interfaces. The parsing and joining functions are pure; the
readers at the end do the reading. This is where a session record starts its way (see
docs/architecture.md): nothing here knows the replication, the takeover or adoption.
"""

from __future__ import annotations

import contextlib
import ipaddress
import itertools
import logging
import os
import shlex
import socket
import time
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from ansible_collections.isplab.bng.plugins.module_utils._accel_ppp_cli import AccelPppCli
from ansible_collections.isplab.bng.plugins.module_utils._accel_ppp_join import join_sessions
from ansible_collections.isplab.bng.plugins.module_utils._failover.config import AgentConfig
from ansible_collections.isplab.bng.plugins.module_utils._failover.host import find_processes
from ansible_collections.isplab.bng.plugins.module_utils._failover.state import (
    CorruptStateError,
    ReplicatedSession,
)
from ansible_collections.isplab.bng.plugins.module_utils._netlink import netlink_dump
from ansible_collections.isplab.bng.plugins.module_utils._pppoe_kernel import (
    KernelPppoeSession,
    MacAddressError,
    PppoeKernelError,
    normalise_mac,
    read_proc_net_pppoe,
)

ARPHRD_PPP = 512
RT_TABLE_MAIN = 254
# The columns of accel-ppp's session table that a replicated session is made of.
# calling-sid and inbound-if are what join_sessions() joins on.
ACCEL_PPP_COLUMNS = ["ifname", "username", "ip", "ip6", "ip6-dp", "calling-sid", "uptime-raw", "inbound-if"]

log = logging.getLogger("isplab-bng-failover")


def parse_rp_pppoe_argv(argv: list[str]) -> tuple[str, int, str] | None:
    """(interface, session id, client MAC) of an rp-pppoe server session's pppd, else None.

    pppoe-server runs every session as `pppd pty "/usr/sbin/pppoe -n -I IF -e SID:MAC ..." ...`:
    the pty command, one argument, carries the interface and the session.
    """
    if len(argv) < 3 or os.path.basename(argv[0]) != "pppd" or argv[1] != "pty":
        return None
    try:
        words = shlex.split(argv[2])
    except ValueError:
        return None
    if not words or os.path.basename(words[0]) != "pppoe":
        return None
    interface = session = None
    for option, value in itertools.pairwise(words):
        if option == "-I":
            interface = value
        elif option == "-e":
            session = value
    if not interface or not session or ":" not in session:
        return None
    sid, _colon, mac = session.partition(":")
    try:
        session_id = int(sid, 10)
        mac = normalise_mac(mac)
    except (ValueError, MacAddressError):
        return None
    if not 1 <= session_id <= 0xFFFE:
        return None
    return interface, session_id, mac


def parse_pppd_record(text: str) -> dict[str, str]:
    """A record of the pppd ip-up hook: `key=value` lines (ifname, peername, local, remote)."""
    record = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() and value.strip():
            record[key.strip()] = value.strip()
    return record


def link_facts(
    links: Iterable[Mapping], addresses: Iterable[Mapping], routes: Iterable[Mapping] = ()
) -> dict[str, dict]:
    """Per ppp interface name: mtu, the IPv4 local/peer, the IPv6 link-local local/peer, and the
    IPv6 prefixes routed to it (global, shorter than /128: what the PPPoE server routes to the
    subscriber, e.g. the rp-pppoe server's ipv6-up hook; not the link-local or host routes).

    links: dicts of index, name, type, mtu; addresses: dicts of index, family, local, peer;
    routes: dicts of oif, family, dst (NETWORK/LEN).
    """
    by_index: dict[int, dict] = {}
    for link in links:
        if link.get("type") == ARPHRD_PPP:
            by_index[link["index"]] = {
                "name": link["name"],
                "mtu": link.get("mtu"),
                "gateway": None,
                "ipv4": None,
                "ipv6_local_ll": None,
                "ipv6_peer_ll": None,
                "ipv6_routed": [],
            }
    for route in routes:
        facts = by_index.get(route.get("oif"))
        if facts is None or route.get("family") != socket.AF_INET6:
            continue
        with contextlib.suppress(ValueError):
            network = ipaddress.IPv6Network(route["dst"])
            if 0 < network.prefixlen < 128 and not (network.is_link_local or network.is_multicast):
                facts["ipv6_routed"].append(str(network))
    for facts in by_index.values():
        facts["ipv6_routed"].sort()
    for address in addresses:
        facts = by_index.get(address["index"])
        if facts is None or not address.get("local"):
            continue
        if address["family"] == socket.AF_INET:
            facts["gateway"] = address["local"]
            facts["ipv4"] = address.get("peer") if address.get("peer") != address["local"] else None
        elif address["family"] == socket.AF_INET6 and ipaddress.IPv6Address(address["local"]).is_link_local:
            facts["ipv6_local_ll"] = address["local"]
            peer = address.get("peer")
            facts["ipv6_peer_ll"] = peer if peer and peer != address["local"] else None
    return {facts["name"]: facts for facts in by_index.values()}


def _session(fields: Mapping[str, Any]) -> ReplicatedSession | None:
    try:
        return ReplicatedSession.from_dict({k: v for k, v in fields.items() if v is not None})
    except CorruptStateError as exc:
        log.warning("session left out of the replicated state: %s", exc)
        return None


def join_accel_ppp(
    kernel: Iterable,
    cli_rows: Iterable[Mapping],
    ppp: Mapping[str, dict],
    macs: Mapping[str, str],
    now: float,
    exclude: set[tuple[int, str, str]] = frozenset(),
) -> list[ReplicatedSession]:
    """accel-ppp's sessions: /proc/net/pppoe rows joined with `show sessions` rows and pppN facts.

    kernel: KernelPppoeSession rows (the session id, client MAC and access device); cli_rows:
    show sessions with ACCEL_PPP_COLUMNS; ppp: link_facts(); macs: interface name -> MAC.
    The join is join_sessions(): a session whose client MAC and access interface have more than
    one kernel session or row is ambiguous and replicated without the CLI's data (it cannot be
    adopted, only sent a PADT). exclude: keys of sessions the agent adopted itself, which
    accel-ppp does not know, so they take no part in the join.
    """
    # Only the sessions of the access interfaces (those with a MAC) that accel-ppp serves.
    served = [
        item
        for item in kernel
        if item.device in macs and (item.session_id, item.peer_mac, macs[item.device]) not in exclude
    ]
    sessions = []
    for join in join_sessions(served, cli_rows):
        row = join.row or {}
        for item in join.kernel:
            session = _accel_ppp_session(item, macs[item.device], row, ppp, now)
            if session is not None:
                sessions.append(session)
    return sessions


def _accel_ppp_session(
    item: KernelPppoeSession, ac_mac: str, row: Mapping, ppp: Mapping[str, dict], now: float
) -> ReplicatedSession | None:
    """The replicated record of one kernel session, with its row's data if it has one."""
    facts = ppp.get(row.get("ifname") or "", {})
    uptime = row.get("uptime_raw")
    return _session(
        {
            "session_id": item.session_id,
            "client_mac": item.peer_mac,
            "ac_mac": ac_mac,
            "interface": item.device,
            "origin": "accel-ppp",
            "since": now - uptime if isinstance(uptime, int) else now,
            "ifname": row.get("ifname"),
            "username": row.get("username"),
            "ipv4": row.get("ip") or facts.get("ipv4"),
            "gateway": facts.get("gateway"),
            "ipv6_prefix": _prefix_of(row.get("ip6")),
            "ipv6_delegated": _prefix_of(row.get("ip6_dp")),
            "ipv6_local_ll": facts.get("ipv6_local_ll"),
            "ipv6_peer_ll": facts.get("ipv6_peer_ll"),
            "mtu": facts.get("mtu"),
        }
    )


def _prefix_of(value: str | None) -> str | None:
    """accel-ppp prints ip6 as ADDRESS/LEN (the subscriber's /64 or address); keep the network."""
    if not value:
        return None
    try:
        return str(ipaddress.IPv6Interface(value).network)
    except ValueError:
        return None


def rp_pppoe_session(
    parsed: tuple[str, int, str],
    record: Mapping[str, str],
    ppp: Mapping[str, dict],
    macs: Mapping[str, str],
    since: float,
) -> ReplicatedSession | None:
    """One rp-pppoe server session from its pppd's arguments and the record of its ip-up hook.

    The IPv6 prefix the server routes to the session (the role pppoe_server's ipv6-up hook routes
    the subscriber's static prefix) is replicated as its delegated prefix: routed to an adopted
    copy, not advertised (the rp-pppoe server sends no router advertisements).
    """
    interface, session_id, client_mac = parsed
    ac_mac = macs.get(interface)
    if ac_mac is None:
        return None
    ifname = record.get("ifname")
    facts = ppp.get(ifname or "", {})
    return _session(
        {
            "session_id": session_id,
            "client_mac": client_mac,
            "ac_mac": ac_mac,
            "interface": interface,
            "origin": "rp-pppoe",
            "since": since,
            "ifname": ifname if ifname in ppp else None,
            "username": record.get("peername"),
            "ipv4": record.get("remote") or facts.get("ipv4"),
            "gateway": record.get("local") or facts.get("gateway"),
            "ipv6_local_ll": facts.get("ipv6_local_ll"),
            "ipv6_peer_ll": facts.get("ipv6_peer_ll"),
            "ipv6_delegated": next(iter(facts.get("ipv6_routed") or []), None),
            "mtu": facts.get("mtu"),
        }
    )


# --- reading --------------------------------------------------------------------------------------


def read_links(ipr) -> tuple[list[dict], list[dict], dict[str, str]]:
    """Links, addresses (the forms link_facts takes) and the Ethernet interfaces' MACs, by name."""
    links, macs = [], {}
    for msg in netlink_dump(ipr.get_links):
        name = msg.get_attr("IFLA_IFNAME")
        mac = msg.get_attr("IFLA_ADDRESS")
        links.append(
            {
                "index": msg["index"],
                "name": name,
                "type": msg["ifi_type"],
                "mtu": msg.get_attr("IFLA_MTU"),
            }
        )
        if mac and msg["ifi_type"] == 1:
            with contextlib.suppress(MacAddressError):
                macs[name] = normalise_mac(mac)
    addresses = []
    for msg in netlink_dump(ipr.get_addr):
        local = msg.get_attr("IFA_LOCAL") or msg.get_attr("IFA_ADDRESS")
        peer = msg.get_attr("IFA_ADDRESS")
        addresses.append(
            {
                "index": msg["index"],
                "family": msg["family"],
                "local": local,
                "peer": peer if peer != local else None,
            }
        )
    return links, addresses, macs


def ipv6_routes(ipr) -> list[dict]:
    """The main table's IPv6 routes with an outgoing interface, for link_facts.

    Not _netns.Kernel.routes: that module imports pyroute2 at once (seconds under emulation
    for every `isplab-bng-failover` command) and is not installed with the agent.
    """
    routes = []
    for msg in netlink_dump(ipr.get_routes, family=socket.AF_INET6):
        dst = msg.get_attr("RTA_DST")
        oif = msg.get_attr("RTA_OIF")
        table = msg.get_attr("RTA_TABLE") or msg["table"]
        if dst and oif and table == RT_TABLE_MAIN:  # not the local table's own and multicast
            routes.append({"oif": oif, "family": socket.AF_INET6, "dst": f"{dst}/{msg['dst_len']}"})
    return routes


def read_rp_pppoe(
    config: AgentConfig,
    ppp: Mapping[str, dict],
    macs: Mapping[str, str],
    exclude: set,
    namespace: int,
) -> list[ReplicatedSession]:
    """The rp-pppoe server's sessions: its pppd processes in this namespace (by inode) and their records."""
    sessions = []
    for pid in find_processes(("pppd",), namespace):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                argv = [arg.decode("utf-8", "replace") for arg in handle.read().split(b"\0") if arg]
        except OSError:
            continue
        parsed = parse_rp_pppoe_argv(argv)
        if parsed is None:
            continue
        record: dict[str, str] = {}
        since = time.time()
        path = os.path.join(config.pppd_records_dir, f"{pid}.ip")
        with contextlib.suppress(OSError):
            with open(path, encoding="utf-8") as handle:
                record = parse_pppd_record(handle.read())
            since = os.stat(path).st_mtime
        session = rp_pppoe_session(parsed, record, ppp, macs, since)
        if session is not None and session.key not in exclude:
            sessions.append(session)
    return sessions


class SessionReader:
    """Reads every session this BNG serves, keeping the first time each was seen."""

    def __init__(self, config: AgentConfig, namespace: int):
        self.config = config
        self.namespace = namespace
        self.since: dict[tuple, float] = {}

    def read(self, ipr, cli: AccelPppCli | None, adopted: list[ReplicatedSession]) -> list[ReplicatedSession]:
        """Its PPPoE server's sessions and `adopted` (those the agent holds itself), sorted."""
        links, addresses, macs = read_links(ipr)
        # accel-ppp's CLI names a session's IPv6 prefixes; for the rp-pppoe server, its routes do.
        routes = ipv6_routes(ipr) if self.config.server == "rp-pppoe" else []
        ppp = link_facts(links, addresses, routes)
        now = time.time()
        exclude = {a.key for a in adopted}
        if self.config.server == "accel-ppp":
            try:
                kernel = read_proc_net_pppoe()
            except PppoeKernelError:
                kernel = []
            served = join_accel_ppp(kernel, cli.show_sessions(ACCEL_PPP_COLUMNS), ppp, macs, now, exclude)
        else:
            served = read_rp_pppoe(self.config, ppp, macs, exclude, self.namespace)
        current = served + adopted
        keys = {s.key for s in current}
        for key in list(self.since):
            if key not in keys:
                del self.since[key]
        # accel-ppp reports uptime in whole seconds: keep the first-seen start of each session.
        current = [replace(s, since=self.since.setdefault(s.key, s.since)) for s in current]
        return sorted(current, key=lambda s: (s.ac_mac, s.client_mac, s.session_id))

# SPDX-License-Identifier: GPL-3.0-or-later
"""The client side of PPPoE sessions, one network namespace per subscriber.

Private to the isplab.bng collection: no stability promise outside it.

A subscriber's namespace holds one pppd. Its kernel PPPoE session is the row of the
namespace's /proc/net/pppoe (session id and AC MAC; parsed by _pppoe_kernel), its ppp
interface is the one of link type ARPHRD_PPP, and pppd brings that interface up only when
the first network protocol (IPCP or IPv6CP) has opened: so a session is up when both exist
and the interface is up. On a ppp interface IFA_LOCAL is the subscriber's address and
IFA_ADDRESS the peer's, the gateway.

read_namespace() touches the kernel (through _netns.Kernel: a thread enters the namespace);
summarise() is pure and unit tested.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable, Mapping

from ._netlink import netlink_dump
from ._netns import Kernel, NetnsError, _strerror
from ._pppoe_kernel import KernelPppoeSession, PppoeKernelError, read_proc_net_pppoe

try:
    from pyroute2.netlink.exceptions import NetlinkError
except ImportError:
    NetlinkError = OSError

ARPHRD_PPP = 512
IFF_UP = 0x1


def summarise(
    namespace: str,
    exists: bool,
    sessions: list[KernelPppoeSession],
    links: Iterable[Mapping],
    addresses: Iterable[Mapping],
) -> dict:
    """What the module returns for one namespace.

    links: dicts of index, name, type (ARPHRD), up; addresses: dicts of index, family, local,
    peer (the address and the peer as strings, peer None when there is none).
    """
    ppp = sorted((link for link in links if link["type"] == ARPHRD_PPP), key=lambda link: link["index"])
    iface = ppp[0] if ppp else None
    mine = [a for a in addresses if iface is not None and a["index"] == iface["index"]]
    ipv4 = [a["local"] for a in mine if a["family"] == socket.AF_INET]
    gateway = next((a["peer"] for a in mine if a["family"] == socket.AF_INET and a["peer"]), None)
    ipv6 = [a["local"] for a in mine if a["family"] == socket.AF_INET6]
    session = sessions[0] if sessions else None
    return {
        "namespace": namespace,
        "exists": exists,
        "up": bool(session and iface and iface["up"]),
        "interface": iface["name"] if iface else None,
        "ipv4": ipv4,
        "gateway": gateway,
        "ipv6": sorted(ipv6, key=lambda a: (not ipaddress.IPv6Address(a).is_link_local, a)),
        "ac_mac": session.peer_mac if session else None,
        "session_id": session.session_id if session else None,
        "pppoe_interface": session.device if session else None,
    }


def _read_proc_or_none() -> list[KernelPppoeSession]:
    try:
        return read_proc_net_pppoe()
    except PppoeKernelError:
        # No /proc/net/pppoe in this namespace: the pppoe module is not loaded, so no session.
        return []


def _peer(local: str | None, address: str | None) -> str | None:
    return address if local and address and address != local else None


def read_namespace(kernel: Kernel, namespace: str) -> dict:
    """The session of one subscriber namespace, read from the kernel now."""
    if not kernel.exists(namespace):
        return summarise(namespace, False, [], [], [])
    sessions = kernel.run_in(namespace, _read_proc_or_none)
    try:
        ipr = kernel.ipr(namespace)
        links = [
            {
                "index": msg["index"],
                "name": msg.get_attr("IFLA_IFNAME"),
                "type": msg["ifi_type"],
                "up": bool(msg["flags"] & IFF_UP),
            }
            for msg in netlink_dump(ipr.get_links)
        ]
        addresses = [
            {
                "index": msg["index"],
                "family": msg["family"],
                "local": msg.get_attr("IFA_LOCAL") or msg.get_attr("IFA_ADDRESS"),
                # A point-to-point address has IFA_ADDRESS set to the peer, else to itself.
                "peer": _peer(msg.get_attr("IFA_LOCAL"), msg.get_attr("IFA_ADDRESS")),
            }
            for msg in netlink_dump(ipr.get_addr)
        ]
    except (NetlinkError, OSError) as exc:
        raise NetnsError(f"reading the interfaces of {namespace}: {_strerror(exc)}") from None
    return summarise(namespace, True, sessions, links, addresses)

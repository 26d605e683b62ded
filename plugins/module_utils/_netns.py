# SPDX-License-Identifier: GPL-3.0-or-later
"""Network namespaces, links, addresses, routes and sysctls through netlink (pyroute2 0.7).

Private to the isplab.bng collection: no stability promise outside it.

Every operation reads the kernel's state, compares it with what is asked, changes only the
difference and, in check mode, nothing: it reports what it would do. The modules netns_*
use it one resource at a time; _topology_apply.py applies a whole model's plan with it (for
the module netns_topology, the role netns_topology, also at boot, and the benchmark).

Only the pyroute2 0.7 API is used (pyroute2.netns and IPRoute): target hosts run Debian 12's
python3-pyroute2 0.7.2, the controller pins 0.7.12. NetNS is not used: it forks a proxy
process per namespace and relays every message through it, which is slow for hundreds of
namespaces. Instead, setns(2) moves only the calling thread, so every piece of work inside a
namespace (opening its netlink socket, reading /proc/sys) runs in a short-lived thread that
enters the namespace and ends; the process itself never changes namespace. A netlink socket
keeps the namespace it was opened in, so one socket per namespace then serves every request
from the main thread. /proc/sys/net follows the namespace of the thread that opens the file.

The imports of this package are relative so that the boot-time copy runs without Ansible.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from ._netlink import netlink_dump
from ._nsthread import EnterError, call_in_netns
from ._topology import describe, where
from ._topology_checks import DEFAULT_METRIC

try:
    from pyroute2 import IPRoute
    from pyroute2 import netns as pr_netns
    from pyroute2.netlink.exceptions import NetlinkError
except ImportError as exc:
    IPRoute = pr_netns = None
    NetlinkError = OSError
    PYROUTE2_IMPORT_ERROR: ImportError | None = exc
else:
    PYROUTE2_IMPORT_ERROR = None

NETNS_DIR = "/var/run/netns"
RT_TABLE_MAIN = 254
RTN_UNICAST = 1
RTPROT_STATIC = 4
RT_SCOPE_LINK = 253
IFF_UP = 0x1
# The kernel reports "no id assigned yet" as -1 in a u32.
NETNSA_NSID_NOT_ASSIGNED = (-1, 2**32 - 1)

T = TypeVar("T")


class NetnsError(Exception):
    """A kernel operation failed, or what exists conflicts with what is asked; names the resource.

    `actions` lists the changes made before the failure (set by _topology_apply.py's apply_topology and
    teardown_topology).
    """

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        self.actions: list[str] = []


def _strerror(exc: BaseException) -> str:
    code = getattr(exc, "code", None) or getattr(exc, "errno", None)
    if isinstance(code, int) and code > 0:
        return os.strerror(code)
    return str(exc)


class Kernel:
    """Netlink sockets per namespace, the state read through them, and the changes made.

    Use as a context manager: it closes its sockets and namespace descriptors. With
    check_mode=True nothing is changed; namespaces that would be created count as existing
    and empty. Every change (done or, in check mode, due) is appended to `actions`.
    """

    def __init__(self, check_mode: bool = False) -> None:
        if PYROUTE2_IMPORT_ERROR is not None:
            raise NetnsError(f"pyroute2 is needed (Debian: python3-pyroute2): {PYROUTE2_IMPORT_ERROR}")
        self.check_mode = check_mode
        self.actions: list[str] = []
        self.warnings: list[str] = []
        self._planned: set[str] = set()
        self._names: set[str] | None = None
        self._fds: dict[str | None, int] = {}
        self._iprs: dict[str | None, Any] = {}
        self._links: dict[str | None, dict[str, dict]] = {}
        self._addrs: dict[str | None, list[dict]] = {}
        self._routes: dict[str | None, list[dict]] = {}
        # The namespace the process runs in; veth ends without a namespace go there.
        self._fds[None] = os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)

    def __enter__(self) -> Kernel:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        for name in list(self._iprs):
            self._forget(name)
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()

    def _forget(self, netns: str | None) -> None:
        """Drop the socket and caches of a namespace (before removing it: a socket keeps it alive)."""
        ipr = self._iprs.pop(netns, None)
        if ipr is not None:
            ipr.close()
        if netns is not None and netns in self._fds:
            os.close(self._fds.pop(netns))
        self._invalidate(netns)

    def _invalidate(self, netns: str | None) -> None:
        self._links.pop(netns, None)
        self._addrs.pop(netns, None)
        self._routes.pop(netns, None)

    def _change(self, action: str, func: Callable[[], T] | None = None) -> list[str]:
        """Record an action and, outside check mode, do it; kernel errors name the action."""
        if not self.check_mode and func is not None:
            try:
                func()
            except (NetlinkError, OSError) as exc:
                raise NetnsError(f"{action}: {_strerror(exc)}") from None
        self.actions.append(action)
        return [action]

    # --- namespaces ---

    def namespaces(self) -> set[str]:
        if self._names is None:
            self._names = set(pr_netns.listnetns())
        return self._names | self._planned

    def exists(self, netns: str | None) -> bool:
        return netns is None or netns in self.namespaces()

    def _real(self, netns: str | None) -> bool:
        """The namespace exists in the kernel (not only planned in check mode)."""
        return netns is None or (netns in self.namespaces() and netns not in self._planned)

    def _fd(self, netns: str | None) -> int:
        if netns not in self._fds:
            try:
                self._fds[netns] = os.open(os.path.join(NETNS_DIR, netns), os.O_RDONLY | os.O_CLOEXEC)
            except OSError as exc:
                raise NetnsError(f"namespace {netns}: {exc.strerror}") from None
        return self._fds[netns]

    def run_in(self, netns: str | None, func: Callable[[], T]) -> T:
        """func() run in a thread inside the namespace; its result, or its exception re-raised here."""
        if netns is None:
            return func()
        try:
            return call_in_netns(self._fd(netns), func, f"netns-{netns}")
        except EnterError as exc:
            raise NetnsError(
                f"cannot enter namespace {netns}: {_strerror(exc)} (needs root or CAP_SYS_ADMIN)"
            ) from None

    def ipr(self, netns: str | None):
        if netns not in self._iprs:
            self._iprs[netns] = self.run_in(netns, IPRoute)
        return self._iprs[netns]

    def ensure_netns(self, name: str, present: bool = True) -> list[str]:
        if present:
            if self.exists(name):
                return []
            changes = self._change(f"create namespace {name}", lambda: pr_netns.create(name))
            if self.check_mode:
                self._planned.add(name)
            else:
                self.namespaces()
                self._names.add(name)
            return changes
        if not self._real(name):
            self._planned.discard(name)
            return []
        self._forget(name)
        changes = self._change(f"remove namespace {name}", lambda: pr_netns.remove(name))
        if not self.check_mode:
            self._names.discard(name)
        return changes

    # --- reading state ---

    def links(self, netns: str | None) -> dict[str, dict]:
        """The interfaces of a namespace by name ({} for one that does not exist yet)."""
        if not self._real(netns):
            return {}
        if netns not in self._links:
            try:
                dump = netlink_dump(self.ipr(netns).get_links)
            except (NetlinkError, OSError) as exc:
                raise NetnsError(
                    f"reading the links of {netns or 'the root namespace'}: {_strerror(exc)}"
                ) from None
            self._links[netns] = {link["name"]: link for link in map(_parse_link, dump)}
        return self._links[netns]

    def link(self, netns: str | None, name: str) -> dict | None:
        return self.links(netns).get(name)

    def _refresh(self, netns: str | None, name: str) -> None:
        """Re-read one interface into the cache.

        Decoding a link message costs pyroute2 a millisecond or two, so after a change only
        the interface concerned is read again, never the whole namespace (a hub namespace
        with hundreds of ports would make a first apply quadratic).
        """
        if self.check_mode or netns not in self._links:
            return
        try:
            found = self.ipr(netns).link("get", ifname=name)
        except (NetlinkError, OSError) as exc:
            if getattr(exc, "code", None) == errno.ENODEV:
                self._links[netns].pop(name, None)
                return
            raise NetnsError(f"reading {where(netns, name)}: {_strerror(exc)}") from None
        self._links[netns][name] = _parse_link(found[0])

    def _name_of(self, netns: str | None, index: int) -> str | None:
        """The name of the interface with this index in a namespace (masters are in the same one)."""
        if not index:
            return None
        return next((name for name, link in self.links(netns).items() if link["index"] == index), None)

    def addresses(self, netns: str | None) -> list[dict]:
        if not self._real(netns):
            return []
        if netns not in self._addrs:
            try:
                self._addrs[netns] = [_parse_address(msg) for msg in netlink_dump(self.ipr(netns).get_addr)]
            except (NetlinkError, OSError) as exc:
                raise NetnsError(
                    f"reading the addresses of {netns or 'the root namespace'}: {_strerror(exc)}"
                ) from None
        return self._addrs[netns]

    def routes(self, netns: str | None) -> list[dict]:
        """The unicast routes of the main table."""
        if not self._real(netns):
            return []
        if netns not in self._routes:
            try:
                dump = [
                    r
                    for family in (socket.AF_INET, socket.AF_INET6)
                    for r in netlink_dump(self.ipr(netns).get_routes, family=family)
                ]
            except (NetlinkError, OSError) as exc:
                raise NetnsError(
                    f"reading the routes of {netns or 'the root namespace'}: {_strerror(exc)}"
                ) from None
            parsed = (_parse_route(msg) for msg in dump)
            self._routes[netns] = [r for r in parsed if r is not None]
        return self._routes[netns]

    def _index(self, netns: str | None, name: str, what: str) -> int | None:
        """The ifindex of an interface that must exist (None in check mode when it does not yet)."""
        link = self.link(netns, name)
        if link is not None:
            return link["index"]
        if self.check_mode:
            return None
        raise NetnsError(f"{what}: interface {where(netns, name)} does not exist")

    # --- links ---

    def _require_namespace(self, netns: str | None, what: str) -> None:
        if not self.exists(netns):
            raise NetnsError(f"{what}: namespace {netns} does not exist")

    def _delete_link(self, netns: str | None, name: str, action: str) -> list[str]:
        link = self.link(netns, name)
        if link is None:
            return []
        changes = self._change(action, lambda: self.ipr(netns).link("del", index=link["index"]))
        if not self.check_mode:
            # A veth takes its peer along, and routes and addresses go with an interface.
            for cached in list(self._links):
                self._invalidate(cached)
        return changes

    def _check_kind(self, netns: str | None, name: str, kind: str) -> dict | None:
        link = self.link(netns, name)
        if link is not None and link["kind"] != kind:
            found = link["kind"] or "an interface without a link kind"
            raise NetnsError(
                f"{where(netns, name)} exists as {found}, not {kind}; remove or rename it, or change the name"
            )
        return link

    def remove_link(self, netns: str | None, name: str, kind: str) -> list[str]:
        """Remove an interface of this kind (a veth takes its peer along); another kind is an error."""
        if not self._real(netns):
            return []
        self._check_kind(netns, name, kind)
        return self._delete_link(netns, name, f"remove {kind} {where(netns, name)}")

    def ensure_bridge(self, netns: str | None, name: str, present: bool = True) -> list[str]:
        what = f"bridge {where(netns, name)}"
        if not present:
            return self.remove_link(netns, name, "bridge")
        self._require_namespace(netns, what)
        if self._check_kind(netns, name, "bridge") is not None:
            return []
        changes = self._change(
            f"create {what}", lambda: self.ipr(netns).link("add", ifname=name, kind="bridge")
        )
        self._refresh(netns, name)
        return changes

    def _paired(self, netns: str | None, end: dict, peer_netns: str | None, peer: dict) -> bool:
        if end["kind"] != "veth" or peer["kind"] != "veth":
            return False
        if end["link"] != peer["index"] or peer["link"] != end["index"]:
            return False
        if netns == peer_netns:
            return end["link_netnsid"] is None
        # Interface indexes repeat across namespaces: the peer's namespace id settles it.
        try:
            answer = self.ipr(netns).get_netnsid(fd=self._fd(peer_netns))
        except (NetlinkError, OSError) as exc:
            raise NetnsError(
                f"reading the id of {peer_netns or 'the root namespace'} in {netns}: {_strerror(exc)}"
            ) from None
        nsid = answer.get("nsid") if answer else None
        return nsid not in (None, *NETNSA_NSID_NOT_ASSIGNED) and nsid == end["link_netnsid"]

    def ensure_veth(
        self, netns: str | None, name: str, peer_netns: str | None, peer: str, present: bool = True
    ) -> list[str]:
        what = f"veth {where(netns, name)} <-> {where(peer_netns, peer)}"
        end = self._check_kind(netns, name, "veth")
        other = self._check_kind(peer_netns, peer, "veth")
        if not present:
            if end is not None and other is not None and self._paired(netns, end, peer_netns, other):
                return self._delete_link(netns, name, f"remove {what}")
            # Ends that are not each other's peer (or one alone) are still ours by name.
            changes = self._delete_link(netns, name, f"remove {where(netns, name)}")
            return changes + self._delete_link(peer_netns, peer, f"remove {where(peer_netns, peer)}")
        self._require_namespace(netns, what)
        self._require_namespace(peer_netns, what)
        if end is not None and other is not None and self._paired(netns, end, peer_netns, other):
            return []
        changes = []
        # An end that exists with another peer is recreated: the pair is what was asked.
        if end is not None:
            changes += self._delete_link(netns, name, f"remove {where(netns, name)} (its peer is not {peer})")
        if self.link(peer_netns, peer) is not None:
            changes += self._delete_link(
                peer_netns, peer, f"remove {where(peer_netns, peer)} (its peer is not {name})"
            )

        def create() -> None:
            spec: Any = peer
            if peer_netns != netns:
                spec = {"ifname": peer, "net_ns_fd": self._fd(peer_netns)}
            self.ipr(netns).link("add", ifname=name, kind="veth", peer=spec)

        changes += self._change(f"create {what}", create)
        self._refresh(netns, name)
        self._refresh(peer_netns, peer)
        return changes

    def ensure_macvlan(
        self, netns: str | None, name: str, parent: str, mode: str = "bridge", present: bool = True
    ) -> list[str]:
        what = f"macvlan {where(netns, name)} on {parent} ({mode})"
        link = self._check_kind(netns, name, "macvlan")
        if not present:
            return self._delete_link(netns, name, f"remove {what}")
        self._require_namespace(netns, what)
        parent_index = self._index(netns, parent, what)
        if link is not None and link["link"] == parent_index and link["mode"] == mode:
            return []
        changes = []
        if link is not None:
            changes += self._delete_link(netns, name, f"remove {where(netns, name)} (other parent or mode)")
        changes += self._change(
            f"create {what}",
            lambda: self.ipr(netns).link(
                "add", ifname=name, kind="macvlan", link=parent_index, macvlan_mode=mode
            ),
        )
        self._refresh(netns, name)
        return changes

    def ensure_link(
        self,
        netns: str | None,
        name: str,
        mac: str | None = None,
        mtu: int | None = None,
        master: str | None = None,
        up: bool | None = None,
    ) -> list[str]:
        """Set the properties that differ. None leaves one as it is; master='' leaves any bridge."""
        what = where(netns, name)
        link = self.link(netns, name)
        want: dict[str, Any] = {}
        if link is None:
            if not self.check_mode:
                raise NetnsError(f"setting {what}: the interface does not exist")
            link = {"mac": None, "mtu": None, "master": 0, "up": None}
        changes = []
        if mac is not None and link["mac"] != mac:
            want["address"] = mac
            changes.append(f"mac {link['mac']} -> {mac}")
        if mtu is not None and link["mtu"] != mtu:
            want["mtu"] = mtu
            changes.append(f"mtu {link['mtu']} -> {mtu}")
        if master == "" and link["master"]:
            want["master"] = 0
            changes.append(f"leave bridge {self._name_of(netns, link['master'])}")
        elif master and self._name_of(netns, link["master"]) != master:
            index = self._index(netns, master, f"setting {what}")
            want["master"] = index
            changes.append(f"join bridge {master}")
        if up is not None and link["up"] != up:
            want["state"] = "up" if up else "down"
            changes.append("up" if up else "down")
        if not changes:
            return []
        result = self._change(
            f"set {what}: {', '.join(changes)}",
            lambda: self.ipr(netns).link("set", index=link["index"], **want),
        )
        if not self.check_mode:
            # What was set is what the kernel now has: no need to read the interface again.
            link.update(
                {
                    "mac": want.get("address", link["mac"]),
                    "mtu": want.get("mtu", link["mtu"]),
                    "master": want.get("master", link["master"]),
                    "up": up if "state" in want else link["up"],
                }
            )
        return result

    def wait_up(
        self, links: Iterable[tuple[str | None, str]], timeout: float = 5.0
    ) -> list[tuple[str | None, str]]:
        """Wait until the kernel reports these interfaces operationally up; return those still down.

        A bridge port forwards only once the kernel's link watcher, which runs at most once a
        second, has seen its carrier; until then frames to it are dropped.
        """
        pending = [] if self.check_mode else list(links)
        deadline = time.monotonic() + timeout
        while pending:
            pending = [(netns, name) for netns, name in pending if self._operstate(netns, name) != "UP"]
            if not pending or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        for netns, name in pending:
            self.warnings.append(f"{where(netns, name)} is not up {timeout:g} s after it was brought up")
        return pending

    def _operstate(self, netns: str | None, name: str) -> str | None:
        try:
            found = self.ipr(netns).link("get", ifname=name)
        except (NetlinkError, OSError) as exc:
            raise NetnsError(f"reading {where(netns, name)}: {_strerror(exc)}") from None
        return found[0].get_attr("IFLA_OPERSTATE")

    def link_state(self, netns: str | None, name: str) -> dict:
        """What the modules show as diff: the properties of an interface ({} when it does not exist)."""
        link = self.link(netns, name)
        if link is None:
            return {}
        return {
            "kind": link["kind"],
            "mac": link["mac"],
            "mtu": link["mtu"],
            "master": self._name_of(netns, link["master"]),
            "up": link["up"],
        }

    # --- addresses ---

    def ensure_address(self, netns: str | None, dev: str, address: str, present: bool = True) -> list[str]:
        """An address with prefix length (`2001:db8::1/64`) on an interface."""
        wanted = ipaddress.ip_interface(address)
        what = f"address {wanted} on {where(netns, dev)}"
        index = self._index(netns, dev, what) if present else (self.link(netns, dev) or {}).get("index")
        found = index is not None and any(
            a["index"] == index and a["address"] == wanted for a in self.addresses(netns)
        )
        if found == present:
            return []
        family = socket.AF_INET if wanted.version == 4 else socket.AF_INET6

        def change() -> None:
            command = "add" if present else "del"
            self.ipr(netns).addr(
                command,
                index=index,
                address=str(wanted.ip),
                prefixlen=wanted.network.prefixlen,
                family=family,
            )

        changes = self._change(f"{'add' if present else 'remove'} {what}", change)
        if not self.check_mode and netns in self._addrs:
            if present:
                self._addrs[netns].append({"index": index, "address": wanted})
            else:
                self._addrs[netns] = [
                    a for a in self._addrs[netns] if not (a["index"] == index and a["address"] == wanted)
                ]
        # Connected routes come and go with addresses (and routes through them with them).
        self._routes.pop(netns, None)
        return changes

    def interface_addresses(self, netns: str | None, dev: str) -> list[str]:
        """The addresses of an interface but those the kernel makes (IPv6 link-local, loopback)."""
        link = self.link(netns, dev)
        if link is None:
            return []
        return [
            str(a["address"])
            for a in self.addresses(netns)
            if a["index"] == link["index"]
            and not a["address"].ip.is_loopback
            and not (a["address"].version == 6 and a["address"].ip.is_link_local)
        ]

    # --- routes ---

    def ensure_route(
        self,
        netns: str | None,
        to: str,
        via: str | None = None,
        dev: str | None = None,
        metric: int | None = None,
        present: bool = True,
    ) -> list[str]:
        """A route of the main table, identified by destination and metric like the kernel does."""
        network = ipaddress.ip_network(to)
        if metric is None:
            metric = DEFAULT_METRIC[network.version]
        gateway = ipaddress.ip_address(via) if via else None
        what = describe(
            {
                "kind": "route",
                "netns": netns,
                "to": str(network),
                "via": via and str(gateway),
                "dev": dev,
                "metric": metric,
            }
        )
        current = next((r for r in self.routes(netns) if r["to"] == network and r["metric"] == metric), None)
        family = socket.AF_INET if network.version == 4 else socket.AF_INET6
        key = {
            "dst": str(network.network_address),
            "dst_len": network.prefixlen,
            "family": family,
            "table": RT_TABLE_MAIN,
            "priority": metric,
        }
        if not present:
            if current is None:
                return []
            changes = self._change(f"remove {what}", lambda: self.ipr(netns).route("del", **key))
            self._routes.pop(netns, None)
            return changes
        oif = self._index(netns, dev, what) if dev else None
        if (
            current is not None
            and not current["multipath"]
            and current["gateway"] == gateway
            and (dev is None or current["oif"] == oif)
        ):
            return []
        spec = dict(key, proto=RTPROT_STATIC)
        if gateway is not None:
            spec["gateway"] = str(gateway)
        if oif is not None:
            spec["oif"] = oif
        if gateway is None and network.version == 4:
            spec["scope"] = RT_SCOPE_LINK
        changes = self._change(
            f"{'replace' if current else 'add'} {what}", lambda: self.ipr(netns).route("replace", **spec)
        )
        self._routes.pop(netns, None)
        return changes

    # --- sysctls ---

    def ensure_sysctls(self, netns: str, values: Iterable[tuple[str, str, str]]) -> list[str]:
        """(name, path under /proc/sys, value) set inside a namespace; one thread for all of them."""
        values = list(values)
        if not values:
            return []
        if not self._real(netns):
            if not self.check_mode:
                raise NetnsError(f"setting sysctls in {netns}: the namespace does not exist")
            return [
                self._change(f"set sysctl {name} = {value} in {netns}")[0] for name, _path, value in values
            ]
        check_mode = self.check_mode

        def inside() -> list[tuple[str, str, str, str | None]]:
            done = []
            for name, path, value in values:
                full = os.path.join("/proc/sys", path)
                try:
                    with open(full) as handle:
                        old = " ".join(handle.read().split())
                    if old != value and not check_mode:
                        with open(full, "w") as handle:
                            handle.write(value)
                except OSError as exc:
                    done.append((name, value, "", exc.strerror))
                    continue
                if old != value:
                    done.append((name, value, old, None))
            return done

        changes = []
        for name, value, old, error in self.run_in(netns, inside):
            if error is not None:
                raise NetnsError(f"sysctl {name} in {netns}: {error}")
            changes.append(f"set sysctl {name} = {value} in {netns} (was {old})")
        self.actions.extend(changes)
        return changes

    def read_sysctl(self, netns: str, path: str) -> str | None:
        """The current value of a sysctl in a namespace, blanks collapsed (None if it does not exist)."""
        if not self._real(netns):
            return None

        def inside() -> str | None:
            try:
                with open(os.path.join("/proc/sys", path)) as handle:
                    return " ".join(handle.read().split())
            except FileNotFoundError:
                return None

        return self.run_in(netns, inside)


# --- parsing netlink messages into plain values ---


def _parse_link(msg) -> dict:
    info = msg.get_attr("IFLA_LINKINFO")
    kind = info.get_attr("IFLA_INFO_KIND") if info else None
    mode = None
    if kind == "macvlan":
        data = info.get_attr("IFLA_INFO_DATA")
        mode = data.get_attr("IFLA_MACVLAN_MODE") if data else None
    mac = msg.get_attr("IFLA_ADDRESS")
    return {
        "index": msg["index"],
        "name": msg.get_attr("IFLA_IFNAME"),
        "kind": kind,
        "mac": mac.lower() if mac else None,
        "mtu": msg.get_attr("IFLA_MTU"),
        "master": msg.get_attr("IFLA_MASTER") or 0,
        "up": bool(msg["flags"] & IFF_UP),
        "link": msg.get_attr("IFLA_LINK"),
        "link_netnsid": msg.get_attr("IFLA_LINK_NETNSID"),
        "mode": mode,
    }


def _parse_address(msg) -> dict:
    ip = msg.get_attr("IFA_LOCAL") or msg.get_attr("IFA_ADDRESS")
    return {"index": msg["index"], "address": ipaddress.ip_interface(f"{ip}/{msg['prefixlen']}")}


def _parse_route(msg) -> dict | None:
    table = msg.get_attr("RTA_TABLE") or msg["table"]
    if table != RT_TABLE_MAIN or msg["type"] != RTN_UNICAST:
        return None
    default = "0.0.0.0" if msg["family"] == socket.AF_INET else "::"
    dst = msg.get_attr("RTA_DST") or default
    gateway = msg.get_attr("RTA_GATEWAY")
    return {
        "to": ipaddress.ip_network(f"{dst}/{msg['dst_len']}"),
        "gateway": ipaddress.ip_address(gateway) if gateway else None,
        "oif": msg.get_attr("RTA_OIF"),
        "metric": msg.get_attr("RTA_PRIORITY") or 0,
        "multipath": msg.get_attr("RTA_MULTIPATH") is not None,
    }

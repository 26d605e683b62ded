# SPDX-License-Identifier: GPL-3.0-or-later
"""What the failover agent reads and sets on its host, whatever its part: processes in this
network namespace, an interface's flags and MAC, files replaced atomically, notifications to
systemd.

Private to the isplab.bng collection: no stability promise outside it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import struct
from collections.abc import Iterable

from ansible_collections.isplab.bng.plugins.module_utils._pppoe_kernel import normalise_mac

IFF_UP = 0x1
IFF_RUNNING = 0x40
SIOCGIFFLAGS = 0x8913


def atomic_write(path: str, data: bytes, mode: int = 0o600, sync: bool = True) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, mode)
    try:
        os.write(fd, data)
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def namespace_inode() -> int:
    """This thread's network namespace, as /proc names it (what find_processes compares)."""
    return os.stat("/proc/thread-self/ns/net").st_ino


def find_processes(names: Iterable[str], netns_inode: int, proc: str = "/proc") -> list[int]:
    """PIDs of processes with one of these names (comm) in this network namespace."""
    names = set(names)
    found = []
    for entry in os.listdir(proc):
        if not entry.isdigit():
            continue
        try:
            with open(f"{proc}/{entry}/comm", encoding="utf-8", errors="replace") as handle:
                comm = handle.read().strip()
            if comm in names and os.stat(f"{proc}/{entry}/ns/net").st_ino == netns_inode:
                found.append(int(entry))
        except OSError:
            continue
    return sorted(found)


def _interface_flags(name: str) -> int:
    """The interface's flags (SIOCGIFFLAGS), 0 when there is no such interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            result = fcntl.ioctl(sock.fileno(), SIOCGIFFLAGS, struct.pack("16sH14x", name.encode()[:15], 0))
        except OSError:
            return 0
    return struct.unpack("16sH14x", result)[1]


def link_mac(ipr, name: str) -> str | None:
    """The MAC of interface `name` (pyroute2's IPRoute), None when there is no such interface."""
    links = ipr.link_lookup(ifname=name)
    if not links:
        return None
    mac = ipr.get_links(links[0])[0].get_attr("IFLA_ADDRESS")
    return normalise_mac(mac) if mac else None


def interface_running(name: str) -> bool:
    """Whether the interface is up and has carrier (IFF_UP and IFF_RUNNING)."""
    flags = _interface_flags(name)
    return bool(flags & IFF_UP and flags & IFF_RUNNING)


def interface_up(name: str) -> bool:
    """Whether the interface is set up (IFF_UP), carrier or not."""
    return bool(_interface_flags(name) & IFF_UP)


def quiet_ipv6(name: str) -> None:
    # An interface that carries an AC MAC for adopted sessions carries PPPoE only: no
    # link-local address, no MLD or ND frames of its own.
    with (
        contextlib.suppress(OSError),
        open(f"/proc/sys/net/ipv6/conf/{name}/disable_ipv6", "w") as handle,
    ):
        handle.write("1")


def sd_notify(message: str, fds: Iterable[int] = ()) -> bool:
    """Send a notification to systemd (with descriptors for its store); False when not under systemd."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    fds = list(fds)
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        ancillary = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack(f"{len(fds)}i", *fds))] if fds else []
        sock.sendmsg([message.encode()], ancillary, 0, address)
    return True

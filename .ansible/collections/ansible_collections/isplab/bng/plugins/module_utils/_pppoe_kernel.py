# SPDX-License-Identifier: GPL-3.0-or-later
"""PPPoE facts from the Linux kernel, MAC addresses, and PADT frames.

Private to the isplab.bng collection: no stability promise outside it.

/proc/net/pppoe is the only place that shows the PPPoE session id of a session (accel-ppp's
`show sessions` does not). A PADT sent with the AC's MAC as source makes a client drop its
session and redial at once; the failover uses it on behalf of a dead primary.

The pure functions (parsing, MAC checks, frame building) are separate from the two that touch
the system (read_proc_net_pppoe, send_frames), so the former are unit tested without privileges.
"""

from __future__ import annotations

import re
import socket
import struct
import sys
from collections.abc import Iterable
from dataclasses import asdict, dataclass

ETH_P_PPP_DISC = 0x8863
PPPOE_VER_TYPE = 0x11
PPPOE_CODE_PADT = 0xA7
# Read from inside the thread's own namespace: /proc/net follows the process's main thread,
# which matters when the caller entered another network namespace in a thread.
PROC_NET_PPPOE = "/proc/thread-self/net/pppoe"

_MAC_SEPARATED_RE = re.compile(r"^[0-9a-fA-F]{2}([:-])(?:[0-9a-fA-F]{2}\1){4}[0-9a-fA-F]{2}$")
_MAC_DOTTED_RE = re.compile(r"^[0-9a-fA-F]{4}\.[0-9a-fA-F]{4}\.[0-9a-fA-F]{4}$")
_MAC_BARE_RE = re.compile(r"^[0-9a-fA-F]{12}$")
_PROC_ROW_RE = re.compile(r"^(?P<id>[0-9A-Fa-f]{8})\s+(?P<mac>\S+)\s+(?P<dev>\S+)\s*$")


class PppoeKernelError(Exception):
    """A PPPoE kernel fact could not be read or a frame could not be sent."""


class MacAddressError(PppoeKernelError, ValueError):
    """A value that is not a MAC address, or not one that may be used here."""


def normalise_mac(value: object, field: str = "mac") -> str:
    """A MAC address as six lower-case colon-separated octets.

    Accepts `02:00:00:00:C0:01`, `02-00-00-00-c0-01`, `0200.0000.c001` and `02000000c001`;
    anything else (five octets, a stray character) is refused with a message naming field and value.
    """
    if isinstance(value, str):
        text = value.strip()
        if _MAC_SEPARATED_RE.match(text):
            digits = text.replace(text[2], "")
        elif _MAC_DOTTED_RE.match(text):
            digits = text.replace(".", "")
        elif _MAC_BARE_RE.match(text):
            digits = text
        else:
            digits = None
        if digits is not None:
            digits = digits.lower()
            return ":".join(digits[i : i + 2] for i in range(0, 12, 2))
    raise MacAddressError(f"{field} is not a MAC address (six octets, e.g. 02:00:00:00:c0:01): {value!r}")


def mac_bytes(value: object, field: str = "mac", unicast: bool = False) -> bytes:
    """The six bytes of a MAC address; with unicast=True, group (multicast) addresses are refused."""
    data = bytes.fromhex(normalise_mac(value, field).replace(":", ""))
    if unicast and data[0] & 1:
        raise MacAddressError(f"{field} must be a unicast MAC address, got a group address: {value!r}")
    return data


def decode_proc_session_id(raw: str, host_byteorder: str = sys.byteorder) -> int:
    """The PPPoE session id from the `Id` column of /proc/net/pppoe.

    The kernel prints the big-endian 16-bit id as a host integer (`%08X`), so on a
    little-endian host session 1 shows as `00000100`; this is ntohs() of the low 16 bits.
    host_byteorder is that of the host the text was read on (recorded fixtures may come from
    another machine).
    """
    value = int(raw, 16) & 0xFFFF
    if host_byteorder == "little":
        return ((value & 0xFF) << 8) | (value >> 8)
    if host_byteorder == "big":
        return value
    raise ValueError(f"host_byteorder must be 'little' or 'big', got {host_byteorder!r}")


@dataclass(frozen=True)
class KernelPppoeSession:
    """One row of /proc/net/pppoe."""

    session_id: int
    peer_mac: str
    device: str
    raw_id: str

    def as_dict(self) -> dict:
        return asdict(self)


def parse_proc_net_pppoe(text: str, host_byteorder: str = sys.byteorder) -> list[KernelPppoeSession]:
    """Parse /proc/net/pppoe (`Id Address Device`); peer_mac is the client on a BNG, the AC on a client."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines or lines[0].split() != ["Id", "Address", "Device"]:
        raise PppoeKernelError(f"not /proc/net/pppoe content (no 'Id Address Device' header): {text[:120]!r}")
    sessions = []
    for line in lines[1:]:
        match = _PROC_ROW_RE.match(line)
        if not match:
            raise PppoeKernelError(f"unexpected /proc/net/pppoe line: {line!r}")
        sessions.append(
            KernelPppoeSession(
                session_id=decode_proc_session_id(match["id"], host_byteorder),
                peer_mac=normalise_mac(match["mac"], "/proc/net/pppoe address"),
                device=match["dev"],
                raw_id=match["id"],
            )
        )
    return sessions


def build_padt(session_id: int, client_mac: str, ac_mac: str) -> bytes:
    """An Ethernet PADT frame: to the client, from the AC, for one PPPoE session.

    Layout (RFC 2516): dst MAC, src MAC, EtherType 0x8863, then VER/TYPE 0x11, CODE 0xa7,
    SESSION_ID (big endian), LENGTH 0 (no tags). Both MACs must be unicast: a broadcast PADT
    would end the session with that id on every client that has one.
    """
    if isinstance(session_id, bool) or not isinstance(session_id, int) or not 1 <= session_id <= 0xFFFE:
        raise PppoeKernelError(f"PPPoE session id must be an integer from 1 to 65534, got {session_id!r}")
    dst = mac_bytes(client_mac, "client_mac", unicast=True)
    src = mac_bytes(ac_mac, "ac_mac", unicast=True)
    return dst + src + struct.pack("!HBBHH", ETH_P_PPP_DISC, PPPOE_VER_TYPE, PPPOE_CODE_PADT, session_id, 0)


def read_proc_net_pppoe(path: str = PROC_NET_PPPOE) -> list[KernelPppoeSession]:
    """The kernel PPPoE sessions of the calling thread's network namespace."""
    try:
        with open(path, encoding="ascii", errors="replace") as handle:
            text = handle.read()
    except FileNotFoundError:
        raise PppoeKernelError(f"{path} does not exist: the pppoe kernel module is not loaded") from None
    except OSError as exc:
        raise PppoeKernelError(f"cannot read {path}: {exc.strerror}") from None
    return parse_proc_net_pppoe(text)


def send_frames(ifname: str, frames: Iterable[bytes]) -> int:
    """Send complete Ethernet frames on ifname with an AF_PACKET raw socket; returns how many.

    Needs CAP_NET_RAW. Run it through run_in_netns() for an interface in another namespace.
    """
    try:
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_PPP_DISC))
    except OSError as exc:
        raise PppoeKernelError(
            f"cannot open a raw packet socket: {exc.strerror} (needs CAP_NET_RAW)"
        ) from None
    sent = 0
    try:
        sock.bind((ifname, 0))
        for frame in frames:
            sock.send(frame)
            sent += 1
    except OSError as exc:
        raise PppoeKernelError(
            f"sending on {ifname!r} failed after {sent} frames: {exc.strerror or exc}"
        ) from None
    finally:
        sock.close()
    return sent

# SPDX-License-Identifier: GPL-3.0-or-later
"""PPPoE discovery (RFC 2516, EtherType 0x8863): its frames, and the tc filter that delays or drops
an rp-pppoe server's PADOs.

Private to the isplab.bng collection: no stability promise outside it.

The failover sends PADTs on behalf of a dead primary (a PADT with the AC's MAC as source makes a
client drop its session and redial at once) and probes with a PADI whether an AC still offers
PADOs. The rp-pppoe server has no PADO-delay: a tc filter on its access interface holds its PADOs
back, written by the role pppoe_server (through the filter isplab.bng.pppoe_discovery_filter) and
put back by the failover agent; both take it from discovery_filter here, so that the agent
recognises the filter the server's unit applies.

The pure functions (frame building and parsing, the filter's lines) are unit tested without
privileges; send_frames needs CAP_NET_RAW.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterable

from ansible_collections.isplab.bng.plugins.module_utils._pppoe_kernel import PppoeKernelError, mac_bytes

ETH_P_PPP_DISC = 0x8863
PPPOE_VER_TYPE = 0x11
PPPOE_CODE_PADI = 0x09
PPPOE_CODE_PADO = 0x07
PPPOE_CODE_PADT = 0xA7
TAG_END = 0x0000
TAG_SERVICE_NAME = 0x0101
TAG_AC_NAME = 0x0102
TAG_HOST_UNIQ = 0x0103
BROADCAST_MAC = "ff:ff:ff:ff:ff:ff"


class FrameError(ValueError):
    """A frame that is not what it claims to be (too short, a wrong length field)."""


# --- PADT: ending a session ------------------------------------------------------------------------


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


# --- PADI and PADO: the liveness probe -------------------------------------------------------------


def _tags(tags: list[tuple[int, bytes]]) -> bytes:
    return b"".join(struct.pack("!HH", kind, len(value)) + value for kind, value in tags)


def build_padi(source_mac: str, host_uniq: bytes) -> bytes:
    """A broadcast PADI asking for any service, tagged with host_uniq to recognise the answers."""
    if not 1 <= len(host_uniq) <= 64:
        raise FrameError(f"Host-Uniq must be 1 to 64 bytes, got {len(host_uniq)}")
    payload = _tags([(TAG_SERVICE_NAME, b""), (TAG_HOST_UNIQ, host_uniq)])
    header = struct.pack("!HBBHH", ETH_P_PPP_DISC, PPPOE_VER_TYPE, PPPOE_CODE_PADI, 0, len(payload))
    return (
        mac_bytes(BROADCAST_MAC, "destination")
        + mac_bytes(source_mac, "source_mac", unicast=True)
        + header
        + payload
    )


def parse_discovery(frame: bytes) -> dict:
    """An Ethernet PPPoE discovery frame: destination, source, code, session id and tags."""
    if len(frame) < 20:
        raise FrameError(f"discovery frame of {len(frame)} bytes is shorter than its headers")
    ethertype, ver_type, code, session_id, length = struct.unpack("!HBBHH", frame[12:20])
    if ethertype != ETH_P_PPP_DISC or ver_type != PPPOE_VER_TYPE:
        raise FrameError(
            f"not a PPPoE discovery frame (EtherType 0x{ethertype:04x}, ver/type 0x{ver_type:02x})"
        )
    payload = frame[20 : 20 + length]
    if len(payload) < length:
        raise FrameError(f"PPPoE length {length} exceeds the {len(frame) - 20} bytes of payload")
    tags: dict[int, bytes] = {}
    pos = 0
    while pos + 4 <= len(payload):
        kind, size = struct.unpack("!HH", payload[pos : pos + 4])
        if kind == TAG_END:
            break
        value = payload[pos + 4 : pos + 4 + size]
        if len(value) < size:
            raise FrameError(f"PPPoE tag 0x{kind:04x} of {size} bytes runs past the payload")
        tags.setdefault(kind, value)
        pos += 4 + size
    return {
        "destination": ":".join(f"{b:02x}" for b in frame[0:6]),
        "source": ":".join(f"{b:02x}" for b in frame[6:12]),
        "code": code,
        "session_id": session_id,
        "tags": tags,
    }


# --- the PADO delay of an rp-pppoe server ----------------------------------------------------------


def discovery_filter(interface: str, delay_ms: int) -> str:
    """The `tc -batch` lines that make an rp-pppoe server on `interface` answer discovery late
    (delay_ms > 0), never (-1), or at once (0: no lines). rp-pppoe has no PADO-delay: PADOs
    (PPPoE discovery code 0x07) leave through a netem band, or are dropped; nothing else is
    touched. Removing the filter is deleting the root qdisc of `interface`."""
    if delay_ms == 0:
        return ""
    lines = [f"qdisc add dev {interface} root handle 1: prio bands 4 priomap 1 2 2 2 1 2 0 0 1 1 1 1 1 1 1 1"]
    # The u32 match: the CODE octet, the second of the PPPoE header, is a PADO's.
    match = (
        f"filter add dev {interface} parent 1: protocol 0x{ETH_P_PPP_DISC:04x} prio 1"
        f" u32 match u8 0x{PPPOE_CODE_PADO:02x} 0xff at 1"
    )
    if delay_ms > 0:
        lines.append(f"qdisc add dev {interface} parent 1:4 handle 40: netem delay {delay_ms}ms")
        lines.append(f"{match} flowid 1:4")
    else:
        lines.append(f"{match} action drop")
    return "\n".join(lines) + "\n"

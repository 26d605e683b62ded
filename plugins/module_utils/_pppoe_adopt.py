# SPDX-License-Identifier: GPL-3.0-or-later
"""Adopting a live PPPoE session into this host's kernel, and speaking just enough PPP to keep it.

Private to the isplab.bng collection: no stability promise outside it.

A PPPoE session lives in the client's kernel as (session id, AC MAC, interface). A standby BNG
that opens a kernel PPPoE socket with the same session id and client MAC, on an interface that
carries the AC MAC the client knows, and attaches a PPP unit to it, receives the client's
frames as if it had negotiated the session itself; the client never notices, as long as its
LCP Echo-Requests keep being answered. The kernel calls (see the kernel's
Documentation/networking/ppp_generic.rst and include/uapi/linux/if_pppox.h):

  socket(AF_PPPOX, SOCK_DGRAM, PX_PROTO_OE); connect(sockaddr_pppox{sid, client MAC, dev})
  ioctl(sock, PPPIOCGCHAN) -> channel index
  open(/dev/ppp); ioctl(PPPIOCATTCHAN, index)      the channel fd: LCP frames arrive here
  open(/dev/ppp); ioctl(PPPIOCNEWUNIT, -1) -> unit  the unit fd: pppN exists while it is open
  ioctl(channel fd, PPPIOCCONNECT, unit); ioctl(unit fd, PPPIOCSNPMODE, {IP, PASS})

Frames read from or written to /dev/ppp start with the 2-byte PPP protocol (no address and
control bytes). Protocols from 0xc000 up (LCP, authentication) go to the channel fd; network
control protocols (IPCP, IPv6CP) to the unit fd.

The pure functions (ioctl numbers, the socket address, LCP, router advertisements; the PADI and
PADO of the liveness probe are _pppoe_discovery's) are unit tested; `open_channel` and what
follows need root, /dev/ppp and the pppoe module.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import ipaddress
import os
import secrets
import socket
import struct
import time
from dataclasses import dataclass

from ansible_collections.isplab.bng.plugins.module_utils._pppoe_discovery import (
    ETH_P_PPP_DISC,
    PPPOE_CODE_PADO,
    TAG_HOST_UNIQ,
    FrameError,
    build_padi,
    parse_discovery,
)
from ansible_collections.isplab.bng.plugins.module_utils._pppoe_kernel import mac_bytes

AF_PPPOX = 24
PX_PROTO_OE = 0
IFNAMSIZ = 16
ETH_P_PPP_SES = 0x8864
PPP_DEVICE = "/dev/ppp"

PPP_IP = 0x0021
PPP_IPV6 = 0x0057
PPP_IPCP = 0x8021
PPP_IPV6CP = 0x8057
PPP_LCP = 0xC021
NPMODE_PASS = 0

LCP_CONF_REQ = 1
LCP_TERM_REQ = 5
LCP_TERM_ACK = 6
LCP_CODE_REJ = 7
LCP_PROTO_REJ = 8
LCP_ECHO_REQ = 9
LCP_ECHO_REP = 10
LCP_DISCARD_REQ = 11
LCP_CODE_NAMES = {
    1: "Configure-Request",
    2: "Configure-Ack",
    3: "Configure-Nak",
    4: "Configure-Reject",
    5: "Terminate-Request",
    6: "Terminate-Ack",
    7: "Code-Reject",
    8: "Protocol-Reject",
    9: "Echo-Request",
    10: "Echo-Reply",
    11: "Discard-Request",
}

ICMPV6_RA = 134
ND_OPT_PREFIX = 3
ND_OPT_MTU = 5


def _ioc(direction: int, kind: str, number: int, size: int) -> int:
    return (direction << 30) | (size << 16) | (ord(kind) << 8) | number


_IOC_WRITE, _IOC_READ = 1, 2
_INT = struct.calcsize("i")
PPPIOCGCHAN = _ioc(_IOC_READ, "t", 55, _INT)
PPPIOCATTCHAN = _ioc(_IOC_WRITE, "t", 56, _INT)
PPPIOCCONNECT = _ioc(_IOC_WRITE, "t", 58, _INT)
PPPIOCNEWUNIT = _ioc(_IOC_READ | _IOC_WRITE, "t", 62, _INT)
PPPIOCSNPMODE = _ioc(_IOC_WRITE, "t", 75, 2 * _INT)  # struct npioctl {int protocol; enum NPmode mode;}
PPPIOCSMRU = _ioc(_IOC_WRITE, "t", 82, _INT)
PPPIOCGUNIT = _ioc(_IOC_READ, "t", 86, _INT)


class AdoptError(Exception):
    """A session could not be adopted; the message names the session and the step."""


# --- the PPPoE socket address -------------------------------------------------------------------


def sockaddr_pppox(session_id: int, remote_mac: str, device: str) -> bytes:
    """struct sockaddr_pppox for PX_PROTO_OE (packed: 2 + 4 + 2 + 6 + 16 = 30 bytes).

    sa_family (host order), sa_protocol (host order), then struct pppoe_addr: the session id
    in network order, the peer's MAC and the local device name, NUL padded.
    """
    if isinstance(session_id, bool) or not isinstance(session_id, int) or not 1 <= session_id <= 0xFFFE:
        raise AdoptError(f"PPPoE session id must be an integer from 1 to 65534, got {session_id!r}")
    name = device.encode("ascii", errors="strict") if isinstance(device, str) else b""
    if not name or len(name) >= IFNAMSIZ:
        raise AdoptError(f"device must be an interface name of 1 to 15 characters, got {device!r}")
    remote = mac_bytes(remote_mac, "client_mac", unicast=True)
    return (
        struct.pack("=HI", AF_PPPOX, PX_PROTO_OE)
        + struct.pack("!H", session_id)
        + remote
        + name.ljust(IFNAMSIZ, b"\0")
    )


# --- PPP and LCP ---------------------------------------------------------------------------------


def ppp_frame(protocol: int, payload: bytes) -> bytes:
    """A frame as /dev/ppp takes it: the protocol number, then the packet."""
    return struct.pack("!H", protocol) + payload


def split_ppp_frame(frame: bytes) -> tuple[int, bytes]:
    if len(frame) < 2:
        raise FrameError(f"PPP frame of {len(frame)} bytes has no protocol field")
    return struct.unpack("!H", frame[:2])[0], frame[2:]


def lcp_packet(code: int, identifier: int, data: bytes = b"") -> bytes:
    """An LCP packet (RFC 1661 section 5): code, identifier, length, data."""
    if not 0 <= code <= 255 or not 0 <= identifier <= 255:
        raise FrameError(f"LCP code and identifier are octets, got {code!r} and {identifier!r}")
    return struct.pack("!BBH", code, identifier, 4 + len(data)) + data


def parse_lcp(packet: bytes) -> tuple[int, int, bytes]:
    """(code, identifier, data) of an LCP packet; bytes past its length field (padding) are dropped."""
    if len(packet) < 4:
        raise FrameError(f"LCP packet of {len(packet)} bytes is shorter than its 4-byte header")
    code, identifier, length = struct.unpack("!BBH", packet[:4])
    if length < 4 or length > len(packet):
        raise FrameError(f"LCP length field {length} does not fit a packet of {len(packet)} bytes")
    return code, identifier, packet[4:length]


def new_magic(avoid: int | None = None) -> int:
    """A random non-zero LCP magic number, different from the peer's (pppd drops its own echoes)."""
    while True:
        magic = secrets.randbits(32)
        if magic and magic != avoid:
            return magic


def echo_request(identifier: int, magic: int, data: bytes = b"") -> bytes:
    return ppp_frame(PPP_LCP, lcp_packet(LCP_ECHO_REQ, identifier, struct.pack("!I", magic) + data))


@dataclass(frozen=True)
class LcpOutcome:
    """What to do about one frame read from a channel: frames to write, and whether the session ends.

    end is None (keep going), 'terminated' (the client sent Terminate-Request: ack it, then
    close) or 'renegotiate' (the client restarted LCP: this session cannot follow, send PADT).
    peer_magic is the client's magic number when the frame showed it.
    """

    replies: tuple[bytes, ...] = ()
    end: str | None = None
    echo_reply: bool = False
    peer_magic: int | None = None
    note: str | None = None


def handle_lcp_frame(frame: bytes, magic: int) -> LcpOutcome:
    """The answer of an adopted session to one frame read from its channel fd.

    Echo-Request: Echo-Reply with our magic and the same data. Terminate-Request:
    Terminate-Ack and end. Configure-Request: the client restarted LCP, which an adopted
    session cannot renegotiate: end with 'renegotiate'. Echo-Reply: the client is alive.
    Discard-Request, Code-Reject, Protocol-Reject, Terminate-Ack: nothing. Any other code:
    Code-Reject. Other protocols on the channel (authentication): Protocol-Reject.
    """
    protocol, payload = split_ppp_frame(frame)
    if protocol != PPP_LCP:
        return _other_protocol(protocol, payload)
    code, identifier, data = parse_lcp(payload)
    if code == LCP_ECHO_REQ:
        if len(data) < 4:
            raise FrameError(f"LCP Echo-Request with {len(data)} data bytes has no magic number")
        peer_magic = struct.unpack("!I", data[:4])[0]
        reply = lcp_packet(LCP_ECHO_REP, identifier, struct.pack("!I", magic) + data[4:])
        return LcpOutcome(replies=(ppp_frame(PPP_LCP, reply),), peer_magic=peer_magic)
    if code == LCP_ECHO_REP:
        peer_magic = struct.unpack("!I", data[:4])[0] if len(data) >= 4 else None
        return LcpOutcome(echo_reply=True, peer_magic=peer_magic)
    if code == LCP_TERM_REQ:
        return LcpOutcome(
            replies=(ppp_frame(PPP_LCP, lcp_packet(LCP_TERM_ACK, identifier, data)),),
            end="terminated",
            note="client sent LCP Terminate-Request",
        )
    if code == LCP_CONF_REQ:
        return LcpOutcome(end="renegotiate", note="client restarted LCP (Configure-Request)")
    if code in (LCP_DISCARD_REQ, LCP_CODE_REJ, LCP_PROTO_REJ, LCP_TERM_ACK, 2, 3, 4):
        return LcpOutcome(note=f"LCP {LCP_CODE_NAMES[code]} ignored")
    rejected = lcp_packet(code, identifier, data)
    return LcpOutcome(
        replies=(ppp_frame(PPP_LCP, lcp_packet(LCP_CODE_REJ, identifier, rejected)),),
        note=f"LCP code {code} rejected",
    )


def _other_protocol(protocol: int, payload: bytes) -> LcpOutcome:
    """A frame of another protocol than LCP on the channel, or a non-IPCP one on the unit.

    Network-layer data (below 0x4000: IP, IPv6) that reached a file descriptor was queued
    while the channel had no unit yet: dropped, never rejected, since a Protocol-Reject of IP
    makes the client close IPCP and hang up. Authentication and the like (0xc000 and up, after
    the session was set up) and unknown control protocols get a Protocol-Reject, as from a
    BNG that does not speak them.
    """
    if protocol < 0x4000 or protocol in (PPP_IPCP, PPP_IPV6CP):
        return LcpOutcome(note=f"stray frame of protocol 0x{protocol:04x} dropped")
    return LcpOutcome(
        replies=(protocol_reject(protocol, payload),), note=f"protocol 0x{protocol:04x} rejected"
    )


def protocol_reject(protocol: int, payload: bytes, identifier: int = 0) -> bytes:
    """LCP Protocol-Reject of a packet of an unsupported protocol (RFC 1661 section 5.7)."""
    data = struct.pack("!H", protocol) + payload[:1400]
    return ppp_frame(PPP_LCP, lcp_packet(LCP_PROTO_REJ, identifier, data))


def handle_unit_frame(frame: bytes) -> LcpOutcome:
    """A frame read from the unit fd: a network control protocol packet from the client.

    A Configure-Request of IPCP or IPv6CP means the client restarted that protocol, which an
    adopted session cannot renegotiate: end with 'renegotiate' so it redials at once. Other
    control packets (CCP and the like) are rejected, as a BNG that does not speak them would.
    """
    protocol, payload = split_ppp_frame(frame)
    if protocol in (PPP_IPCP, PPP_IPV6CP):
        if payload[:1] == bytes([LCP_CONF_REQ]):
            name = "IPCP" if protocol == PPP_IPCP else "IPv6CP"
            return LcpOutcome(end="renegotiate", note=f"client restarted {name}")
        return LcpOutcome(note=f"control protocol 0x{protocol:04x} packet ignored")
    return _other_protocol(protocol, payload)


# --- PPPoE discovery: the liveness probe ---------------------------------------------------------


def probe_for_pado(interface: str, source_mac: str, watch: set[str], timeout: float) -> list[str]:
    """Send one PADI on interface and list which of the ACs in `watch` offer a PADO within timeout.

    This is the direct check that an old primary no longer serves before its sessions are
    taken: a live accel-ppp (PADO-delay 0) or pppoe-server answers in milliseconds. Needs
    CAP_NET_RAW; run it in the access interface's namespace.
    """
    host_uniq = secrets.token_bytes(8)
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_PPP_DISC))
    found: list[str] = []
    try:
        sock.bind((interface, 0))
        sock.send(build_padi(source_mac, host_uniq))
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return found
            sock.settimeout(remaining)
            try:
                frame = sock.recv(2048)
            except TimeoutError:
                return found
            try:
                parsed = parse_discovery(frame)
            except FrameError:
                continue
            if (
                parsed["code"] == PPPOE_CODE_PADO
                and parsed["tags"].get(TAG_HOST_UNIQ) == host_uniq
                and parsed["source"] in watch
                and parsed["source"] not in found
            ):
                found.append(parsed["source"])
    except OSError as exc:
        raise AdoptError(f"PADI probe on {interface}: {exc.strerror or exc}") from None
    finally:
        sock.close()


# --- IPv6 router advertisements ---------------------------------------------------------------------


def build_router_advertisement(
    prefix: str | None, router_lifetime: int, valid: int, preferred: int, mtu: int | None = None
) -> bytes:
    """An ICMPv6 Router Advertisement (RFC 4861) with one on-link, autonomous prefix.

    The checksum field is left 0: the kernel fills it in for ICMPv6 raw sockets.
    """
    if not 0 <= router_lifetime <= 9000:
        raise FrameError(f"router lifetime must be 0 to 9000 s, got {router_lifetime!r}")
    if not 0 <= preferred <= valid:
        raise FrameError(
            f"preferred lifetime {preferred!r} must be between 0 and the valid lifetime {valid!r}"
        )
    body = struct.pack("!BBHBBHII", ICMPV6_RA, 0, 0, 64, 0, router_lifetime, 0, 0)
    if prefix is not None:
        network = ipaddress.IPv6Network(prefix)
        flags = 0xC0 if network.prefixlen == 64 else 0x80  # on-link, and autonomous for a /64
        body += struct.pack("!BBBBIII", ND_OPT_PREFIX, 4, network.prefixlen, flags, valid, preferred, 0)
        body += network.network_address.packed
    if mtu is not None:
        body += struct.pack("!BBHI", ND_OPT_MTU, 1, 0, mtu)
    return body


def send_router_advertisement(ifname: str, source: str, packet: bytes) -> None:
    """Send an RA to all nodes (ff02::1) on ifname, from the link-local source, hop limit 255."""
    sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, ifname.encode())
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 255)
        index = socket.if_nametoindex(ifname)
        sock.bind((source, 0, 0, index))
        sock.sendto(packet, ("ff02::1", 0, 0, index))
    except OSError as exc:
        raise AdoptError(f"router advertisement on {ifname}: {exc.strerror or exc}") from None
    finally:
        sock.close()


# --- the kernel side -------------------------------------------------------------------------------

_libc = None


def _connect(fd: int, address: bytes) -> None:
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    buffer = ctypes.create_string_buffer(address, len(address))
    if _libc.connect(fd, buffer, len(address)) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))


def _ioctl_int(fd: int, request: int, value: int = 0) -> int:
    buffer = bytearray(struct.pack("i", value))
    fcntl.ioctl(fd, request, buffer, True)
    return struct.unpack("i", buffer)[0]


@dataclass
class Channel:
    """The kernel objects of one adopted session: the PPPoE socket, the channel and the unit.

    All three are plain file descriptors, so that they can be handed to systemd's file
    descriptor store and come back after the agent restarts. pppN exists as long as the unit
    fd is open; the session exists as long as the socket is connected.
    """

    sock_fd: int
    chan_fd: int
    unit_fd: int
    unit: int

    @property
    def ifname(self) -> str:
        return f"ppp{self.unit}"

    def fds(self) -> tuple[int, int, int]:
        return (self.sock_fd, self.chan_fd, self.unit_fd)

    def close(self) -> None:
        """Close the unit first (pppN goes), then the channel, then the socket (the session)."""
        for fd in (self.unit_fd, self.chan_fd, self.sock_fd):
            with contextlib.suppress(OSError):
                os.close(fd)

    def write(self, frame: bytes, unit: bool = False) -> None:
        os.write(self.unit_fd if unit else self.chan_fd, frame)


def open_channel(session_id: int, client_mac: str, device: str, mru: int | None = None) -> Channel:
    """Connect a kernel PPPoE socket for the session on device and give it a new PPP unit.

    The unit is made first and the channel connected to it right after the socket, so that
    the client's data frames reach pppN at once: frames that arrive while a channel has no
    unit are queued to the channel fd instead, and are dropped there.

    Runs in the calling thread's network namespace (device and pppN live there). Every
    failure closes what was opened and names the step; EALREADY on connect means the kernel
    already has this session on this device (it is adopted already, by us or by a PPPoE server).
    """
    address = sockaddr_pppox(session_id, client_mac, device)
    opened: list[int] = []
    step = f"open {PPP_DEVICE} for the unit"
    try:
        unit_fd = os.open(PPP_DEVICE, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
        opened.append(unit_fd)
        step = "PPPIOCNEWUNIT"
        unit = _ioctl_int(unit_fd, PPPIOCNEWUNIT, -1)
        for protocol in (PPP_IP, PPP_IPV6):
            step = f"PPPIOCSNPMODE 0x{protocol:04x}"
            fcntl.ioctl(unit_fd, PPPIOCSNPMODE, struct.pack("ii", protocol, NPMODE_PASS))
        if mru:
            step = "PPPIOCSMRU"
            _ioctl_int(unit_fd, PPPIOCSMRU, mru)
        step = f"open {PPP_DEVICE} for the channel"
        chan_fd = os.open(PPP_DEVICE, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
        opened.append(chan_fd)
        step = "socket(AF_PPPOX)"
        sock = socket.socket(AF_PPPOX, socket.SOCK_DGRAM, PX_PROTO_OE)
        sock_fd = sock.detach()
        opened.append(sock_fd)
        os.set_inheritable(sock_fd, False)
        step = f"connect(session {session_id}, {client_mac}, {device})"
        _connect(sock_fd, address)
        step = "PPPIOCGCHAN"
        index = _ioctl_int(sock_fd, PPPIOCGCHAN)
        step = "PPPIOCATTCHAN"
        _ioctl_int(chan_fd, PPPIOCATTCHAN, index)
        step = "PPPIOCCONNECT"
        _ioctl_int(chan_fd, PPPIOCCONNECT, unit)
    except OSError as exc:
        for fd in reversed(opened):
            os.close(fd)
        name = errno.errorcode.get(exc.errno, "") if exc.errno else ""
        raise AdoptError(
            f"session {session_id} {client_mac} on {device}: {step} failed: {exc.strerror or exc}"
            + (f" ({name})" if name else "")
        ) from None
    return Channel(sock_fd=sock_fd, chan_fd=chan_fd, unit_fd=unit_fd, unit=unit)


def channel_from_fds(sock_fd: int, chan_fd: int, unit_fd: int) -> Channel:
    """A Channel from descriptors kept across a restart (systemd's fd store); checks the unit."""
    try:
        unit = _ioctl_int(unit_fd, PPPIOCGUNIT)
    except OSError as exc:
        raise AdoptError(f"stored PPP unit descriptor {unit_fd}: {exc.strerror}") from None
    for fd in (chan_fd, unit_fd):
        os.set_blocking(fd, False)
    return Channel(sock_fd=sock_fd, chan_fd=chan_fd, unit_fd=unit_fd, unit=unit)


# --- the new ppp interface: addresses by ioctl (fast: no netlink library on the way) -----------------

SIOCSIFFLAGS = 0x8914
SIOCGIFFLAGS = 0x8913
SIOCSIFADDR = 0x8916
SIOCSIFDSTADDR = 0x8918
SIOCSIFNETMASK = 0x891C
SIOCSIFMTU = 0x8922
IFF_UP = 0x1


def _ifreq_addr(ifname: str, address: str) -> bytes:
    sockaddr = struct.pack("=H", socket.AF_INET) + struct.pack("!H", 0) + socket.inet_aton(address)
    return struct.pack("16s16s", ifname.encode(), sockaddr.ljust(16, b"\0"))


def configure_ipv4(ifname: str, local: str, peer: str, mtu: int | None = None) -> None:
    """MTU, up, and the point-to-point IPv4 addresses of a ppp interface (as pppd sets them).

    The peer address makes the kernel route the subscriber's /32 to the interface.
    """
    step = "socket"
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            fd = sock.fileno()
            name = ifname.encode()
            if mtu:
                step = f"MTU {mtu}"
                fcntl.ioctl(fd, SIOCSIFMTU, struct.pack("16si12x", name, mtu))
            step = "up"
            flags = struct.unpack("16sH14x", fcntl.ioctl(fd, SIOCGIFFLAGS, struct.pack("16sH14x", name, 0)))[
                1
            ]
            fcntl.ioctl(fd, SIOCSIFFLAGS, struct.pack("16sH14x", name, flags | IFF_UP))
            step = f"address {local}"
            fcntl.ioctl(fd, SIOCSIFADDR, _ifreq_addr(ifname, local))
            step = f"peer {peer}"
            fcntl.ioctl(fd, SIOCSIFDSTADDR, _ifreq_addr(ifname, peer))
            step = "netmask"
            fcntl.ioctl(fd, SIOCSIFNETMASK, _ifreq_addr(ifname, "255.255.255.255"))
    except OSError as exc:
        raise AdoptError(f"{ifname}: setting the {step} failed: {exc.strerror or exc}") from None


def add_ipv6_link_local(ifname: str, address: str) -> None:
    """The BNG's link-local address on the ppp interface, fe80::/64 on-link (the RA source)."""
    request = socket.inet_pton(socket.AF_INET6, address) + struct.pack(
        "=Ii", 64, socket.if_nametoindex(ifname)
    )
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
            fcntl.ioctl(sock.fileno(), SIOCSIFADDR, request)
    except OSError as exc:
        if exc.errno != errno.EEXIST:
            raise AdoptError(f"{ifname}: adding {address}: {exc.strerror or exc}") from None

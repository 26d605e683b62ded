# SPDX-License-Identifier: GPL-3.0-or-later
"""Adoption of PPPoE sessions: the pure parts (ioctl numbers, socket address, LCP, PADI/PADO, RA)
and, as root with the pppoe module and /dev/ppp, a real adoption between two namespaces."""

from __future__ import annotations

import os
import socket
import struct
import time

import pytest

from ansible_collections.isplab.bng.plugins.module_utils._accel_ppp_cli import run_in_netns
from ansible_collections.isplab.bng.plugins.module_utils._pppoe_adopt import (
    AF_PPPOX,
    LCP_ECHO_REP,
    LCP_ECHO_REQ,
    LCP_TERM_ACK,
    PPP_IP,
    PPP_IPCP,
    PPP_LCP,
    PPPIOCATTCHAN,
    PPPIOCCONNECT,
    PPPIOCGCHAN,
    PPPIOCGUNIT,
    PPPIOCNEWUNIT,
    PPPIOCSMRU,
    PPPIOCSNPMODE,
    AdoptError,
    build_router_advertisement,
    echo_request,
    handle_lcp_frame,
    handle_unit_frame,
    lcp_packet,
    new_magic,
    open_channel,
    parse_lcp,
    ppp_frame,
    sockaddr_pppox,
    split_ppp_frame,
)
from ansible_collections.isplab.bng.plugins.module_utils._pppoe_discovery import FrameError
from ansible_collections.isplab.bng.plugins.module_utils._pppoe_kernel import MacAddressError

MAGIC = 0x11223344


def test_ioctl_numbers_are_the_kernels():
    # include/uapi/linux/ppp-ioctl.h on x86_64, as `python3 -c` with the C macros gives them.
    assert PPPIOCGCHAN == 0x80047437
    assert PPPIOCATTCHAN == 0x40047438
    assert PPPIOCCONNECT == 0x4004743A
    assert PPPIOCNEWUNIT == 0xC004743E
    assert PPPIOCSNPMODE == 0x4008744B
    assert PPPIOCSMRU == 0x40047452
    assert PPPIOCGUNIT == 0x80047456


def test_sockaddr_pppox_layout():
    address = sockaddr_pppox(0x0102, "02:00:00:00:C0:01", "ac020000000b01")
    assert len(address) == 30
    family, protocol = struct.unpack("=HI", address[:6])
    assert (family, protocol) == (AF_PPPOX, 0)
    assert address[6:8] == b"\x01\x02"  # network order
    assert address[8:14] == bytes([2, 0, 0, 0, 0xC0, 1])
    assert address[14:] == b"ac020000000b01\0\0"


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        (
            (0, "02:00:00:00:c0:01", "access"),
            AdoptError,
            "session id must be an integer from 1 to 65534, got 0",
        ),
        ((65535, "02:00:00:00:c0:01", "access"), AdoptError, "from 1 to 65534"),
        ((1, "02:00:00:00:c0:01", ""), AdoptError, "device must be an interface name"),
        ((1, "02:00:00:00:c0:01", "sixteen-chars-xx"), AdoptError, "device must be an interface name"),
        ((1, "ff:ff:ff:ff:ff:ff", "access"), MacAddressError, "client_mac must be a unicast MAC address"),
        ((1, "nope", "access"), MacAddressError, "client_mac is not a MAC address"),
    ],
)
def test_sockaddr_pppox_refuses_bad_input(args, error, message):
    with pytest.raises(error, match=message):
        sockaddr_pppox(*args)


def test_lcp_packets():
    packet = lcp_packet(LCP_ECHO_REQ, 7, b"\x00\x00\x00\x01abc")
    assert packet == b"\x09\x07\x00\x0b\x00\x00\x00\x01abc"
    assert parse_lcp(packet + b"\x00\x00") == (LCP_ECHO_REQ, 7, b"\x00\x00\x00\x01abc")  # padding dropped
    assert split_ppp_frame(ppp_frame(PPP_LCP, packet)) == (PPP_LCP, packet)
    with pytest.raises(FrameError, match="shorter than its 4-byte header"):
        parse_lcp(b"\x09\x07")
    with pytest.raises(FrameError, match="length field 20 does not fit a packet of 4 bytes"):
        parse_lcp(b"\x09\x07\x00\x14")
    with pytest.raises(FrameError, match="no protocol field"):
        split_ppp_frame(b"\xc0")
    with pytest.raises(FrameError, match="octets"):
        lcp_packet(300, 1)


def test_echo_request_is_answered_with_our_magic_and_the_same_data():
    request = ppp_frame(PPP_LCP, lcp_packet(LCP_ECHO_REQ, 42, struct.pack("!I", 0xCAFEBABE) + b"payload"))
    outcome = handle_lcp_frame(request, MAGIC)
    assert outcome.end is None
    assert outcome.peer_magic == 0xCAFEBABE
    (reply,) = outcome.replies
    assert split_ppp_frame(reply) == (
        PPP_LCP,
        lcp_packet(LCP_ECHO_REP, 42, struct.pack("!I", MAGIC) + b"payload"),
    )


def test_our_echo_request_and_the_clients_reply():
    frame = echo_request(3, MAGIC)
    assert frame == b"\xc0\x21\x09\x03\x00\x08\x11\x22\x33\x44"
    reply = ppp_frame(PPP_LCP, lcp_packet(LCP_ECHO_REP, 3, struct.pack("!I", 0x55667788)))
    outcome = handle_lcp_frame(reply, MAGIC)
    assert outcome.echo_reply and outcome.replies == () and outcome.peer_magic == 0x55667788


def test_terminate_request_is_acked_and_ends_the_session():
    outcome = handle_lcp_frame(ppp_frame(PPP_LCP, lcp_packet(5, 9, b"User request")), MAGIC)
    assert outcome.end == "terminated"
    assert outcome.replies == (ppp_frame(PPP_LCP, lcp_packet(LCP_TERM_ACK, 9, b"User request")),)


def test_configure_request_means_the_client_restarted():
    outcome = handle_lcp_frame(ppp_frame(PPP_LCP, lcp_packet(1, 1, b"\x01\x04\x05\xd4")), MAGIC)
    assert outcome.end == "renegotiate" and outcome.replies == ()


@pytest.mark.parametrize("code", [2, 3, 4, 6, 7, 8, 11])
def test_codes_that_need_no_answer(code):
    outcome = handle_lcp_frame(ppp_frame(PPP_LCP, lcp_packet(code, 1, b"\x00\x00\x00\x00")), MAGIC)
    assert outcome.replies == () and outcome.end is None


def test_unknown_lcp_code_gets_a_code_reject():
    rejected = lcp_packet(99, 4, b"xy")
    outcome = handle_lcp_frame(ppp_frame(PPP_LCP, rejected), MAGIC)
    assert outcome.replies == (ppp_frame(PPP_LCP, lcp_packet(7, 4, rejected)),)


def test_data_frames_are_never_rejected():
    # IP queued on the channel before it had a unit: a Protocol-Reject of IP would make the
    # client close IPCP and hang up.
    for protocol in (PPP_IP, 0x0057, PPP_IPCP, 0x8057):
        outcome = handle_lcp_frame(ppp_frame(protocol, b"\x45\x00"), MAGIC)
        assert outcome.replies == () and outcome.end is None, hex(protocol)


def test_unknown_control_protocol_gets_a_protocol_reject():
    outcome = handle_lcp_frame(ppp_frame(0xC223, b"\x01\x01\x00\x04"), MAGIC)
    (reply,) = outcome.replies
    protocol, packet = split_ppp_frame(reply)
    code, _identifier, data = parse_lcp(packet)
    assert (protocol, code, data[:2]) == (PPP_LCP, 8, b"\xc2\x23")


def test_unit_frames():
    assert handle_unit_frame(ppp_frame(PPP_IPCP, lcp_packet(1, 1))).end == "renegotiate"
    assert handle_unit_frame(ppp_frame(0x8057, lcp_packet(1, 1))).end == "renegotiate"
    assert handle_unit_frame(ppp_frame(PPP_IPCP, lcp_packet(9, 1))).end is None
    ccp = handle_unit_frame(ppp_frame(0x80FD, lcp_packet(1, 1)))
    assert ccp.end is None and len(ccp.replies) == 1


def test_magic_numbers():
    for _round in range(50):
        magic = new_magic(avoid=5)
        assert magic not in (0, 5) and 0 < magic < 2**32


def test_router_advertisement():
    packet = build_router_advertisement("2001:db8:110:5::/64", 1800, 3600, 1800, 1492)
    kind, code, checksum, hop, flags, lifetime = struct.unpack("!BBHBBH", packet[:8])
    assert (kind, code, checksum, hop, flags, lifetime) == (134, 0, 0, 64, 0, 1800)
    prefix = packet[16:48]
    assert prefix[:4] == bytes([3, 4, 64, 0xC0])
    assert struct.unpack("!II", prefix[4:12]) == (3600, 1800)
    assert prefix[16:] == socket.inet_pton(socket.AF_INET6, "2001:db8:110:5::")
    assert packet[48:] == struct.pack("!BBHI", 5, 1, 0, 1492)
    assert len(build_router_advertisement(None, 0, 0, 0)) == 16
    with pytest.raises(FrameError, match="preferred lifetime"):
        build_router_advertisement("2001:db8::/64", 1800, 10, 20)
    with pytest.raises(FrameError, match="router lifetime"):
        build_router_advertisement("2001:db8::/64", 10000, 10, 5)


# --- the kernel side, in two scratch namespaces (skipped without root, pppoe and /dev/ppp) ---------


def _kernel_ready() -> str | None:
    if os.geteuid() != 0:
        return "needs root"
    if not os.path.exists("/dev/ppp"):
        return "needs /dev/ppp (the ppp_generic module)"
    try:
        socket.socket(AF_PPPOX, socket.SOCK_DGRAM, 0).close()
    except OSError as exc:
        return f"no PPPoE sockets here ({exc.strerror}): the pppoe module is not loaded"
    return None


def test_adopt_a_session_on_a_veth(scratch_netns, netns_ip):
    """A kernel PPPoE session and a PPP unit on the AC side; the peer sees our Echo-Request."""
    reason = _kernel_ready()
    if reason:
        pytest.skip(reason)
    netns_ip(
        "-n",
        scratch_netns,
        "link",
        "add",
        "ac0",
        "address",
        "02:00:00:00:0b:01",
        "type",
        "veth",
        "peer",
        "name",
        "cpe0",
        "address",
        "02:00:00:00:c0:01",
    )
    netns_ip("-n", scratch_netns, "link", "set", "ac0", "up")
    netns_ip("-n", scratch_netns, "link", "set", "cpe0", "up")

    def listen():
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x8864))
        sock.bind(("cpe0", 0))
        sock.settimeout(3)
        return sock

    receiver = run_in_netns(scratch_netns, listen)
    channel = run_in_netns(scratch_netns, lambda: open_channel(5, "02:00:00:00:c0:01", "ac0", 1492))
    try:
        assert channel.ifname.startswith("ppp")
        channel.write(echo_request(1, MAGIC))
        deadline = time.monotonic() + 3
        while True:
            frame = receiver.recv(2048)
            if frame[6:12] == bytes.fromhex("020000000b01") or time.monotonic() > deadline:
                break
        assert frame[:6] == bytes.fromhex("02000000c001")
        assert struct.unpack("!HBBHH", frame[12:20])[:4] == (0x8864, 0x11, 0, 5)
        assert frame[20:22] == b"\xc0\x21" and frame[22] == LCP_ECHO_REQ
        # The same session on the same device again is refused by the kernel (no duplicate).
        with pytest.raises(AdoptError, match=r"connect\(session 5, 02:00:00:00:c0:01, ac0\) failed"):
            run_in_netns(scratch_netns, lambda: open_channel(5, "02:00:00:00:c0:01", "ac0"))
    finally:
        channel.close()
        receiver.close()

# SPDX-License-Identifier: GPL-3.0-or-later
"""PPPoE discovery frames (PADT, PADI, PADO) and the rp-pppoe server's discovery filter."""

from __future__ import annotations

import socket
import struct

import pytest

from ansible_collections.isplab.bng.plugins.module_utils._accel_ppp_cli import run_in_netns
from ansible_collections.isplab.bng.plugins.module_utils._pppoe_discovery import (
    PPPOE_CODE_PADO,
    TAG_AC_NAME,
    TAG_HOST_UNIQ,
    FrameError,
    build_padi,
    build_padt,
    discovery_filter,
    parse_discovery,
    send_frames,
)
from ansible_collections.isplab.bng.plugins.module_utils._pppoe_kernel import (
    MacAddressError,
    PppoeKernelError,
)


def test_padt_frame():
    frame = build_padt(1, "02:00:00:00:c0:01", "02:00:00:00:0b:01")
    assert frame == bytes.fromhex("020000 00c001 020000 000b01 8863 11 a7 0001 0000".replace(" ", ""))
    assert len(frame) == 20


def test_padt_frame_fields():
    frame = build_padt(0x1234, "02-00-00-00-C0-1E", "0200.0000.0b02")
    dst, src, ethertype, ver_type, code, sid, length = struct.unpack("!6s6sHBBHH", frame)
    assert (dst.hex(":"), src.hex(":")) == ("02:00:00:00:c0:1e", "02:00:00:00:0b:02")
    assert (ethertype, ver_type, code, sid, length) == (0x8863, 0x11, 0xA7, 0x1234, 0)


@pytest.mark.parametrize("session_id", [0, 0xFFFF, -1, 70000, True, "1"])
def test_padt_refuses_bad_session_id(session_id):
    with pytest.raises(PppoeKernelError, match="session id"):
        build_padt(session_id, "02:00:00:00:c0:01", "02:00:00:00:0b:01")


@pytest.mark.parametrize(
    ("client", "ac", "field"),
    [
        ("ff:ff:ff:ff:ff:ff", "02:00:00:00:0b:01", "client_mac"),
        ("02:00:00:00:c0:01", "01:00:5e:00:00:01", "ac_mac"),
        ("02:00:00:00:c0", "02:00:00:00:0b:01", "client_mac"),
    ],
)
def test_padt_refuses_group_or_bad_macs(client, ac, field):
    with pytest.raises(MacAddressError, match=field):
        build_padt(1, client, ac)


def test_send_frames_reports_errors_typed():
    """Without CAP_NET_RAW the socket fails, with it the interface does not exist: both typed."""
    with pytest.raises(PppoeKernelError):
        send_frames("nosuchif0", [build_padt(1, "02:00:00:00:c0:01", "02:00:00:00:0b:01")])


def test_padi_and_pado_parsing():
    padi = build_padi("02:00:00:00:0b:02", b"12345678")
    parsed = parse_discovery(padi)
    assert parsed["destination"] == "ff:ff:ff:ff:ff:ff"
    assert parsed["source"] == "02:00:00:00:0b:02"
    assert parsed["code"] == 0x09
    assert parsed["tags"][TAG_HOST_UNIQ] == b"12345678"
    tags = struct.pack("!HH", TAG_AC_NAME, 3) + b"bng" + struct.pack("!HH", TAG_HOST_UNIQ, 8) + b"12345678"
    pado = (
        bytes.fromhex("020000000b02")
        + bytes.fromhex("020000000b01")
        + struct.pack("!HBBHH", 0x8863, 0x11, PPPOE_CODE_PADO, 0, len(tags))
        + tags
        + b"\0" * 10
    )
    parsed = parse_discovery(pado)
    assert (parsed["source"], parsed["code"], parsed["tags"][TAG_AC_NAME]) == ("02:00:00:00:0b:01", 7, b"bng")
    with pytest.raises(FrameError, match="shorter than its headers"):
        parse_discovery(pado[:10])
    with pytest.raises(FrameError, match="not a PPPoE discovery frame"):
        parse_discovery(pado[:12] + b"\x08\x00" + pado[14:])
    with pytest.raises(FrameError, match="exceeds"):
        parse_discovery(pado[:20])
    with pytest.raises(FrameError, match="runs past the payload"):
        parse_discovery(pado[:18] + struct.pack("!H", 6) + pado[20:26])
    with pytest.raises(FrameError, match="Host-Uniq must be 1 to 64 bytes"):
        build_padi("02:00:00:00:0b:02", b"")


def test_padt_goes_out_on_the_wire(scratch_netns, netns_ip):
    """A real veth pair in a scratch namespace: the frame sent is the frame received."""
    netns_ip("-n", scratch_netns, "link", "add", "ac0", "type", "veth", "peer", "name", "cpe0")
    netns_ip("-n", scratch_netns, "link", "set", "ac0", "up")
    netns_ip("-n", scratch_netns, "link", "set", "cpe0", "up")

    def listen():
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x8863))
        sock.bind(("cpe0", 0))
        sock.settimeout(2)
        return sock

    receiver = run_in_netns(scratch_netns, listen)
    frames = [build_padt(sid, "02:00:00:00:c0:01", "02:00:00:00:0b:01") for sid in (1, 2)]
    try:
        assert run_in_netns(scratch_netns, lambda: send_frames("ac0", frames)) == 2
        assert [receiver.recv(2048)[:20] for _frame in frames] == frames
    finally:
        receiver.close()


# The lines the role pppoe_server's discovery.tc held for one interface before the filter moved to
# Python, rendered by Ansible: the lab's bng1 (0), bng2 (500) and a standby that never answers (-1).
RENDERED = {
    0: "",
    500: (
        "qdisc add dev access root handle 1: prio bands 4 priomap 1 2 2 2 1 2 0 0 1 1 1 1 1 1 1 1\n"
        "qdisc add dev access parent 1:4 handle 40: netem delay 500ms\n"
        "filter add dev access parent 1: protocol 0x8863 prio 1 u32 match u8 0x07 0xff at 1 flowid 1:4\n"
    ),
    -1: (
        "qdisc add dev access root handle 1: prio bands 4 priomap 1 2 2 2 1 2 0 0 1 1 1 1 1 1 1 1\n"
        "filter add dev access parent 1: protocol 0x8863 prio 1 u32 match u8 0x07 0xff at 1 action drop\n"
    ),
}


@pytest.mark.parametrize("delay", sorted(RENDERED))
def test_the_discovery_filter_is_the_one_the_server_role_wrote(delay):
    # The agent removes and puts back the filter that the server's unit applies at start: the two
    # must be the same filter, or a reload would leave a posture the agent does not recognise.
    assert discovery_filter("access", delay) == RENDERED[delay]
    assert ("action drop" in discovery_filter("access", delay)) is (delay < 0)

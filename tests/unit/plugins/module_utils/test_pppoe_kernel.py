# SPDX-License-Identifier: GPL-3.0-or-later
"""/proc/net/pppoe parsing and MAC handling, against the recorded files."""

from __future__ import annotations

import json

import pytest

from ansible_collections.isplab.bng.plugins.module_utils._accel_ppp_parsers import parse_sessions
from ansible_collections.isplab.bng.plugins.module_utils._pppoe_kernel import (
    KernelPppoeSession,
    MacAddressError,
    PppoeKernelError,
    decode_proc_session_id,
    normalise_mac,
    parse_proc_net_pppoe,
    read_proc_net_pppoe,
)

# The recordings come from a little-endian (x86_64) host.
LE = "little"


@pytest.mark.parametrize(
    ("raw", "session_id"),
    [("00000100", 1), ("00000006", 0x0600), ("00008000", 0x80), ("0000C003", 0x03C0), ("00004007", 0x0740)],
)
def test_decode_little_endian(raw, session_id):
    assert decode_proc_session_id(raw, LE) == session_id


def test_decode_big_endian_host_prints_the_id_itself():
    assert decode_proc_session_id("00000001", "big") == 1
    with pytest.raises(ValueError):
        decode_proc_session_id("00000001", "middle")


def test_client_file(fixture_path):
    sessions = parse_proc_net_pppoe(fixture_path("proc-net-pppoe-client.txt").read_text(), LE)
    assert sessions == [KernelPppoeSession(1, "02:00:00:00:0b:01", "eth0", "00000100")]
    assert sessions[0].as_dict() == {
        "session_id": 1,
        "peer_mac": "02:00:00:00:0b:01",
        "device": "eth0",
        "raw_id": "00000100",
    }


def test_server_four_sessions(fixture_path):
    sessions = parse_proc_net_pppoe(fixture_path("proc-net-pppoe-server-4-sessions.txt").read_text(), LE)
    assert {s.peer_mac: s.session_id for s in sessions} == {
        "02:00:00:00:c0:01": 1,
        "02:00:00:00:c0:02": 0x40,
        "02:00:00:00:c0:03": 0x80,
        "02:00:00:00:c0:04": 0xC0,
    }
    assert {s.device for s in sessions} == {"eth0"}


def test_server_thirty_sessions(fixture_path):
    text = fixture_path("proc-net-pppoe-server-30-sessions.txt").read_text()
    sessions = parse_proc_net_pppoe(text, LE)
    assert len(sessions) == 30
    assert len({s.session_id for s in sessions}) == 30
    assert all(1 <= s.session_id <= 0xFFFE for s in sessions)
    assert sorted(s.peer_mac for s in sessions) == [f"02:00:00:00:c0:{i:02x}" for i in range(1, 31)]
    # Pairing: each row's id goes with the MAC on the same line, checked against the raw text.
    for line in text.splitlines()[1:]:
        raw, mac, _dev = line.split()
        (match,) = [s for s in sessions if s.peer_mac == mac]
        assert match.raw_id == raw
        assert match.session_id == int.from_bytes(int(raw, 16).to_bytes(4, "little")[:2], "big")
    by_mac = {s.peer_mac: s.session_id for s in sessions}
    assert by_mac["02:00:00:00:c0:01"] == 1
    assert by_mac["02:00:00:00:c0:19"] == 0x0600
    assert by_mac["02:00:00:00:c0:13"] == 0x0480


def test_thirty_sessions_join_the_cli_table(fixture_path, transcript):
    """Every CLI session of the 30-session recording finds exactly one kernel session."""
    table = transcript("cli-30-sessions.json")
    command = next(c for c in table if c.startswith("show sessions ifname,username,ip,ip6"))
    cli_rows = parse_sessions(table[command][0])
    kernel = parse_proc_net_pppoe(fixture_path("proc-net-pppoe-server-30-sessions.txt").read_text(), LE)
    by_peer = {(k.peer_mac, k.device): k.session_id for k in kernel}
    ids = [by_peer[(row["calling_sid"], row["inbound_if"])] for row in cli_rows]
    assert len(set(ids)) == 30


@pytest.mark.parametrize(
    "text",
    ["", "Id Address\n", "Id       Address              Device\nzz000100 02:00:00:00:0b:01 eth0\n"],
)
def test_proc_refuses_other_text(text):
    with pytest.raises(PppoeKernelError):
        parse_proc_net_pppoe(text, LE)


def test_proc_refuses_bad_mac():
    with pytest.raises(MacAddressError, match="02:00:00:00:0b"):
        parse_proc_net_pppoe("Id       Address              Device\n00000100 02:00:00:00:0b eth0\n", LE)


def test_read_missing_file(tmp_path):
    with pytest.raises(PppoeKernelError, match="pppoe kernel module is not loaded"):
        read_proc_net_pppoe(str(tmp_path / "pppoe"))


def test_read_file(tmp_path, fixture_path):
    path = tmp_path / "pppoe"
    path.write_text(fixture_path("proc-net-pppoe-client.txt").read_text())
    assert [s.peer_mac for s in read_proc_net_pppoe(str(path))] == ["02:00:00:00:0b:01"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("02:00:00:00:C0:01", "02:00:00:00:c0:01"),
        ("02-00-00-00-c0-01", "02:00:00:00:c0:01"),
        ("0200.0000.c001", "02:00:00:00:c0:01"),
        ("02000000C001", "02:00:00:00:c0:01"),
        (" 02:00:00:00:c0:01 ", "02:00:00:00:c0:01"),
    ],
)
def test_normalise_mac(value, expected):
    assert normalise_mac(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "02:00:00:00:c0",
        "02:00:00:00:c0:01:02",
        "02:00:00-00:c0:01",
        "2:0:0:0:c0:1",
        "02:00:00:00:c0:0g",
        "",
        None,
        2,
    ],
)
def test_bad_mac_is_refused_naming_field_and_value(value):
    with pytest.raises(MacAddressError) as error:
        normalise_mac(value, "calling_sid")
    assert "calling_sid" in str(error.value)
    assert repr(value) in str(error.value)


def test_recordings_are_what_these_tests_expect(fixture_path):
    """Guard: the fixtures are the real recordings (30 data lines, 4 data lines, 1 data line)."""
    counts = {
        name: len(fixture_path(name).read_text().splitlines()) - 1
        for name in (
            "proc-net-pppoe-server-30-sessions.txt",
            "proc-net-pppoe-server-4-sessions.txt",
            "proc-net-pppoe-client.txt",
        )
    }
    assert counts == {
        "proc-net-pppoe-server-30-sessions.txt": 30,
        "proc-net-pppoe-server-4-sessions.txt": 4,
        "proc-net-pppoe-client.txt": 1,
    }
    assert json.loads(fixture_path("cli-30-sessions.json").read_text())["sessions"] == 30

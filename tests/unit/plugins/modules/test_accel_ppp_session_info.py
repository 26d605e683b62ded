# SPDX-License-Identifier: GPL-3.0-or-later
"""isplab.bng.accel_ppp_session_info against the fake accel-ppp."""

from __future__ import annotations

import pytest

from ansible_collections.isplab.bng.plugins.module_utils._pppoe_kernel import parse_proc_net_pppoe
from ansible_collections.isplab.bng.plugins.modules import accel_ppp_session_info
from ansible_collections.isplab.bng.tests.unit.plugins.module_utils.fake_accel_ppp import (
    BngEmulator,
    recorded_sessions,
)


def test_lists_all_sessions_typed(bng, run_module):
    lab = bng()
    failed, result = run_module(accel_ppp_session_info, lab.conn)
    assert not failed, result
    assert result["changed"] is False
    sessions = result["sessions"]
    assert len(sessions) == 30
    first = sessions[0]
    assert first["username"] == "user1"
    assert first["calling_sid"] == "02:00:00:00:c0:01"
    assert first["sid"] == "e9218d4a806d6489"
    assert (first["uptime_raw"], first["rx_bytes_raw"], first["tx_bytes_raw"]) == (96, 44, 30)
    assert (first["rx_pkts"], first["tx_pkts"]) == (4, 3)
    assert first["ip6"] is None
    assert "pppoe_session_id" not in first
    assert "uptime" not in first  # human-readable duplicates are not fetched


@pytest.mark.parametrize(
    ("filters", "usernames"),
    [
        ({"username": "user7"}, ["user7"]),
        ({"ip": "100.64.0.12"}, ["user2"]),
        ({"calling_sid": "02-00-00-00-C0-1E"}, ["user30"]),
        ({"calling_sid": "0200.0000.c003"}, ["user3"]),
        ({"ifname": "ppp0"}, ["user2"]),
        ({"sid": "E9218D4A806D648A"}, ["user2"]),
        ({"username": "user1", "ip": "100.64.0.11"}, ["user1"]),
        ({"username": "user1", "ip": "100.64.0.12"}, []),
        ({"username": "nobody"}, []),
    ],
)
def test_filters_are_exact(bng, run_module, filters, usernames):
    lab = bng()
    failed, result = run_module(accel_ppp_session_info, {**lab.conn, **filters})
    assert not failed, result
    assert [s["username"] for s in result["sessions"]] == usernames
    assert len(lab.server.commands) == 1
    assert " match " in lab.server.commands[0]


def test_username_prefix_does_not_match_longer_names(bng, run_module):
    """user1 must not return user10..user19 (an unanchored match would)."""
    lab = bng()
    failed, result = run_module(accel_ppp_session_info, {**lab.conn, "username": "user1"})
    assert not failed
    assert [s["username"] for s in result["sessions"]] == ["user1"]


def test_regex_metacharacter_in_username(bng, run_module):
    base = recorded_sessions()[:2]
    sessions = [dict(base[0], username="axb"), dict(base[1], username="a.b")]
    lab = bng(BngEmulator(sessions))
    failed, result = run_module(accel_ppp_session_info, {**lab.conn, "username": "a.b"})
    assert not failed
    assert [s["username"] for s in result["sessions"]] == ["a.b"]
    failed, result = run_module(accel_ppp_session_info, {**lab.conn, "username": "a*"})
    assert not failed
    assert result["sessions"] == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"username": "user1\nterminate all"}, "username must not contain a line break"),
        ({"username": ""}, "username must not be empty"),
        ({"username": "  "}, "username must not be empty or blank"),
        ({"username": "user 1"}, "username must not contain blanks"),
        ({"calling_sid": "02:00:00:00:c0"}, "calling_sid is not a MAC address"),
        ({"ip": "100.64.0"}, "ip must be an IPv4 address"),
        ({"sid": "1234"}, "sid must be accel-ppp's session id"),
        ({"ifname": "a/b"}, "ifname is not a Linux interface name"),
        ({"host": "localhost"}, "host must be a numeric"),
    ],
)
def test_bad_input_fails_before_connecting(bng, run_module, args, message):
    lab = bng()
    failed, result = run_module(accel_ppp_session_info, {**lab.conn, **args})
    assert failed
    assert message in result["msg"]
    value = next(iter(args.values()))
    if value.strip():
        assert repr(value) in result["msg"]
    assert lab.server.connections == 0


def test_unreachable_cli(run_module, closed_port):
    failed, result = run_module(accel_ppp_session_info, {"port": closed_port, "timeout": 1})
    assert failed
    assert "cannot connect" in result["msg"]
    assert result["error"] == "AccelPppConnectionError"
    assert result["sessions"] == []


def test_wrong_password(bng, run_module):
    lab = bng(password="s3cret")
    failed, result = run_module(accel_ppp_session_info, {**lab.conn, "password": "hunter2"})
    assert failed
    assert "password was refused" in result["msg"]
    assert result["error"] == "AccelPppAuthError"
    assert "hunter2" not in str(result)


def test_no_password_given_and_the_cli_wants_one(bng, run_module):
    lab = bng(password="s3cret")
    failed, result = run_module(accel_ppp_session_info, lab.conn)
    assert failed
    assert result["error"] == "AccelPppAuthError"
    assert "the CLI asks for a password" in result["msg"]
    assert "not a session table" not in result["msg"]


def test_right_password(bng, run_module):
    lab = bng(password="s3cret")
    failed, result = run_module(
        accel_ppp_session_info, {**lab.conn, "password": "s3cret", "username": "user4"}
    )
    assert not failed
    assert [s["ip"] for s in result["sessions"]] == ["100.64.0.14"]


def test_slow_cli_times_out(bng, run_module):
    lab = bng(reply_delay=5)
    failed, result = run_module(accel_ppp_session_info, {**lab.conn, "timeout": 0.3})
    assert failed
    assert result["error"] == "AccelPppTimeoutError"


def test_check_mode_reads_the_same(bng, run_module):
    lab = bng()
    failed, result = run_module(accel_ppp_session_info, {**lab.conn, "username": "user2"}, check_mode=True)
    assert not failed
    assert [s["username"] for s in result["sessions"]] == ["user2"]


@pytest.fixture
def kernel_30(monkeypatch, fixture_path):
    """/proc/net/pppoe of the BNG with 30 sessions (recorded on a little-endian host)."""
    text = fixture_path("proc-net-pppoe-server-30-sessions.txt").read_text()
    monkeypatch.setattr(
        accel_ppp_session_info, "read_proc_net_pppoe", lambda: parse_proc_net_pppoe(text, "little")
    )


def test_pppoe_session_id_join(bng, run_module, kernel_30):
    lab = bng()
    failed, result = run_module(accel_ppp_session_info, {**lab.conn, "pppoe_session_id": True})
    assert not failed, result
    by_user = {s["username"]: s["pppoe_session_id"] for s in result["sessions"]}
    assert len(by_user) == 30
    assert len(set(by_user.values())) == 30
    assert by_user["user1"] == 1  # 00000100 02:00:00:00:c0:01
    assert by_user["user25"] == 0x0600  # 00000006 02:00:00:00:c0:19
    assert by_user["user2"] == 0x40  # 00004000 02:00:00:00:c0:02


def test_pppoe_session_id_needs_mac_and_interface_to_agree(bng, run_module, kernel_30):
    sessions = recorded_sessions()[:3]
    sessions[1]["inbound-if"] = "eth1"  # kernel shows eth0 for that MAC
    sessions[2]["calling-sid"] = "02:00:00:00:c0:99"  # not in the kernel
    lab = bng(BngEmulator(sessions))
    failed, result = run_module(accel_ppp_session_info, {**lab.conn, "pppoe_session_id": True})
    assert not failed
    assert [s["pppoe_session_id"] for s in result["sessions"]] == [1, None, None]


def test_pppoe_session_id_ambiguous_mac_gives_none(bng, run_module, monkeypatch):
    text = (
        "Id       Address              Device\n"
        "00000100 02:00:00:00:c0:01     eth0\n"
        "00000200 02:00:00:00:c0:01     eth0\n"
    )
    monkeypatch.setattr(
        accel_ppp_session_info, "read_proc_net_pppoe", lambda: parse_proc_net_pppoe(text, "little")
    )
    lab = bng()
    failed, result = run_module(
        accel_ppp_session_info, {**lab.conn, "username": "user1", "pppoe_session_id": True}
    )
    assert not failed
    assert result["sessions"][0]["pppoe_session_id"] is None


def test_pppoe_kernel_module_missing(bng, run_module, monkeypatch, tmp_path):
    from ansible_collections.isplab.bng.plugins.module_utils import _pppoe_kernel

    missing = str(tmp_path / "pppoe")
    monkeypatch.setattr(
        accel_ppp_session_info, "read_proc_net_pppoe", lambda: _pppoe_kernel.read_proc_net_pppoe(missing)
    )
    lab = bng()
    failed, result = run_module(accel_ppp_session_info, {**lab.conn, "pppoe_session_id": True})
    assert failed
    assert "pppoe kernel module is not loaded" in result["msg"]


def test_pppoe_session_id_of_two_rows_with_one_mac_and_interface_is_null(bng, run_module, kernel_30):
    # A router that runs two PPPoE clients with one MAC: the kernel's one session of that MAC on
    # eth0 is one of the two rows, nothing tells which.
    sessions = recorded_sessions()[:2]
    sessions[1]["calling-sid"] = sessions[0]["calling-sid"]
    lab = bng(BngEmulator(sessions))
    failed, result = run_module(accel_ppp_session_info, {**lab.conn, "pppoe_session_id": True})
    assert not failed
    assert [s["pppoe_session_id"] for s in result["sessions"]] == [None, None]


def test_pppoe_session_id_counts_the_rows_a_filter_leaves_out(bng, run_module, kernel_30):
    sessions = recorded_sessions()[:2]
    sessions[1]["calling-sid"] = sessions[0]["calling-sid"]
    lab = bng(BngEmulator(sessions))
    username = sessions[0]["username"]
    failed, result = run_module(
        accel_ppp_session_info, {**lab.conn, "username": username, "pppoe_session_id": True}
    )
    assert not failed
    assert [(s["username"], s["pppoe_session_id"]) for s in result["sessions"]] == [(username, None)]

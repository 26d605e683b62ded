# SPDX-License-Identifier: GPL-3.0-or-later
"""isplab.bng.accel_ppp_session: check, apply, idempotence, verification, bad input."""

from __future__ import annotations

import pytest

from ansible_collections.isplab.bng.plugins.modules import accel_ppp_session
from ansible_collections.isplab.bng.tests.unit.plugins.module_utils.fake_accel_ppp import (
    BngEmulator,
    recorded_sessions,
)

USER4_SID = "e9218d4a806d648c"


def listed(emulator) -> set[str]:
    return {s["username"] for s in emulator.sessions}


def test_check_apply_idempotent(bng, run_module):
    lab = bng()
    args = {**lab.conn, "username": "user4", "wait_timeout": 3}

    failed, check = run_module(accel_ppp_session, args, check_mode=True)
    assert not failed, check
    assert check["changed"] is True
    assert [s["sid"] for s in check["sessions"]] == [USER4_SID]
    assert lab.emulator.terminated == []

    failed, applied = run_module(accel_ppp_session, args)
    assert not failed, applied
    assert applied["changed"] is True
    assert [s["username"] for s in applied["sessions"]] == ["user4"]
    assert lab.emulator.terminated == [(USER4_SID, "soft")]
    assert "user4" not in listed(lab.emulator)
    assert len(lab.emulator.sessions) == 29
    assert f"terminate sid {USER4_SID} soft" in lab.server.commands

    failed, again = run_module(accel_ppp_session, args, check_mode=True)
    assert (failed, again["changed"], again["sessions"]) == (False, False, [])
    failed, again = run_module(accel_ppp_session, args)
    assert (failed, again["changed"], again["sessions"]) == (False, False, [])
    assert lab.emulator.terminated == [(USER4_SID, "soft")]


def test_never_terminates_by_ip(bng, run_module):
    """`terminate ip` has an upstream bug: the module looks the ip up and terminates by sid."""
    lab = bng()
    failed, result = run_module(accel_ppp_session, {**lab.conn, "ip": "100.64.0.14", "mode": "hard"})
    assert not failed, result
    assert lab.emulator.terminated == [(USER4_SID, "hard")]
    assert not any(c.startswith("terminate ip") for c in lab.server.commands)


def test_several_sessions_of_one_mac(bng, run_module):
    sessions = recorded_sessions()[:4]
    for session in sessions[1:3]:
        session["calling-sid"] = sessions[0]["calling-sid"]
    lab = bng(BngEmulator(sessions))
    failed, result = run_module(accel_ppp_session, {**lab.conn, "calling_sid": "02:00:00:00:C0:01"})
    assert not failed, result
    assert [s["username"] for s in result["sessions"]] == ["user1", "user2", "user3"]
    assert listed(lab.emulator) == {"user4"}


def test_waits_for_slow_sessions(bng, run_module):
    lab = bng(BngEmulator(linger=3))
    failed, result = run_module(accel_ppp_session, {**lab.conn, "username": "user4", "wait_timeout": 5})
    assert not failed, result
    assert "user4" not in listed(lab.emulator)
    assert sum(c == "show sessions sid,state" for c in lab.server.commands) >= 3


def test_fails_when_a_session_does_not_go(bng, run_module):
    emulator = BngEmulator()
    emulator.stuck.add(USER4_SID)
    lab = bng(emulator)
    failed, result = run_module(accel_ppp_session, {**lab.conn, "username": "user4", "wait_timeout": 0.5})
    assert failed
    assert result["remaining"] == [USER4_SID]
    assert "still listed" in result["msg"]
    assert result["changed"] is True


def test_wait_timeout_zero_does_not_verify(bng, run_module):
    emulator = BngEmulator()
    emulator.stuck.add(USER4_SID)
    lab = bng(emulator)
    failed, result = run_module(accel_ppp_session, {**lab.conn, "username": "user4", "wait_timeout": 0})
    assert (failed, result["changed"]) == (False, True)
    assert not any(c.startswith("show sessions sid") for c in lab.server.commands)


def test_all_sessions(bng, run_module):
    lab = bng(BngEmulator(recorded_sessions()[:5]))
    failed, result = run_module(accel_ppp_session, {**lab.conn, "all": True}, diff=True)
    assert not failed, result
    assert len(result["sessions"]) == 5
    assert lab.emulator.sessions == []
    assert [s["username"] for s in result["diff"]["before"]["sessions"]] == [f"user{i}" for i in range(1, 6)]
    assert result["diff"]["after"] == {"sessions": []}


def test_all_sessions_is_confirmed_by_the_active_count(bng, run_module):
    """Every listed session gone is not enough: show stat must count no more than are listed."""
    emulator = BngEmulator(recorded_sessions()[:5])
    emulator.unlisted = 3
    lab = bng(emulator)
    failed, result = run_module(accel_ppp_session, {**lab.conn, "all": True, "wait_timeout": 0.5})
    assert failed
    assert "show stat counts 3 active sessions, 0 are listed" in result["msg"]
    assert result["changed"] is True
    assert lab.emulator.sessions == []


def test_all_false_with_a_filter_is_fine(bng, run_module):
    lab = bng()
    failed, result = run_module(accel_ppp_session, {**lab.conn, "all": False, "username": "user4"})
    assert (failed, result["changed"]) == (False, True)


def test_regex_metacharacter_terminates_only_the_exact_user(bng, run_module):
    base = recorded_sessions()[:2]
    lab = bng(BngEmulator([dict(base[0], username="axb"), dict(base[1], username="a.b")]))
    failed, result = run_module(accel_ppp_session, {**lab.conn, "username": "a.b"})
    assert not failed, result
    assert listed(lab.emulator) == {"axb"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({}, "give at least one of"),
        ({"all": True, "username": "user1"}, "cannot be combined with username"),
        ({"username": "user1\nterminate all"}, "username must not contain a line break"),
        ({"username": ""}, "username must not be empty"),
        (
            {"calling_sid": "02:00:00:00:c0"},
            "calling_sid is not a MAC address (six octets, e.g. 02:00:00:00:c0:01): '02:00:00:00:c0'",
        ),
        ({"username": "user1", "wait_timeout": -1}, "wait_timeout must not be negative"),
    ],
)
def test_bad_input(bng, run_module, args, message):
    lab = bng()
    failed, result = run_module(accel_ppp_session, {**lab.conn, **args})
    assert failed
    assert message in result["msg"]
    assert lab.emulator.terminated == []
    assert lab.server.connections == 0


def test_unreachable_cli(run_module, closed_port):
    failed, result = run_module(accel_ppp_session, {"port": closed_port, "username": "user1", "timeout": 1})
    assert failed
    assert result["error"] == "AccelPppConnectionError"


def test_wrong_password_terminates_nothing(bng, run_module):
    lab = bng(password="s3cret")
    failed, result = run_module(accel_ppp_session, {**lab.conn, "password": "nope", "username": "user1"})
    assert failed
    assert "password was refused" in result["msg"]
    assert lab.emulator.terminated == []

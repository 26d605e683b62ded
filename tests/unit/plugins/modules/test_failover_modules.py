# SPDX-License-Identifier: GPL-3.0-or-later
"""The modules that talk to a BNG failover agent: pppoe_adopted_session_info, pppoe_adopted_session
and bng_switchover, against the agent's real control logic behind its control socket."""

from __future__ import annotations

import pytest

from ansible_collections.isplab.bng.plugins.modules import (
    bng_switchover,
    pppoe_adopted_session,
    pppoe_adopted_session_info,
)


def args(server, **more) -> dict:
    return {"instance": "bng2", "config_dir": server.config_dir, "timeout": 5, **more}


def test_info_lists_adopted_sessions_with_addresses_and_age(run_module, fake_agent):
    server = fake_agent(sessions=3)
    failed, result = run_module(pppoe_adopted_session_info, args(server))
    assert not failed and not result["changed"]
    by_user = {s["username"]: s for s in result["sessions"]}
    assert sorted(by_user) == ["user1", "user2", "user3"]
    assert by_user["user2"]["ipv4"] == "100.64.0.12"
    assert by_user["user2"]["ifname"] == "ppp1"
    assert 29 <= by_user["user2"]["age"] <= 60 and by_user["user2"]["session_age"] >= 600
    assert result["agent"]["role"] == "active" and result["agent"]["adopted"] == 3


def test_info_filters_exactly(run_module, fake_agent):
    server = fake_agent(sessions=3)
    _failed, result = run_module(pppoe_adopted_session_info, args(server, client_mac="02-00-00-00-C0-03"))
    assert [s["username"] for s in result["sessions"]] == ["user3"]
    _failed, result = run_module(pppoe_adopted_session_info, args(server, username="user"))
    assert result["sessions"] == []


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"client_mac": "02:00"}, "client_mac is not a MAC address"),
        ({"ipv4": "100.64.0.300"}, "ipv4 must be an IPv4 address, got '100.64.0.300'"),
        ({"session_id": 0}, "session_id must be a PPPoE session id from 1 to 65534, got 0"),
        ({"timeout": 0}, "timeout must be a positive number of seconds"),
        ({"instance": "bng 2"}, "instance must be an instance name"),
    ],
)
def test_bad_input_is_refused_before_asking(run_module, fake_agent, bad, message):
    server = fake_agent()
    failed, result = run_module(pppoe_adopted_session_info, {**args(server), **bad})
    assert failed and message in result["msg"]
    assert server.requests == []


def test_no_agent(run_module, tmp_path):
    failed, result = run_module(pppoe_adopted_session_info, {"instance": "bng9", "config_dir": str(tmp_path)})
    assert failed and "cannot read the agent configuration" in result["msg"]


def test_terminate_one_in_check_mode_then_for_real(run_module, fake_agent):
    server = fake_agent(sessions=3)
    failed, result = run_module(
        pppoe_adopted_session, args(server, username="user2"), check_mode=True, diff=True
    )
    assert not failed and result["changed"]
    assert [s["username"] for s in result["sessions"]] == ["user2"]
    assert result["diff"]["before"]["sessions"][0]["username"] == "user2"
    assert len(server.agent.adopted.by_key) == 3
    failed, result = run_module(pppoe_adopted_session, args(server, username="user2"))
    assert not failed and result["changed"]
    assert sorted(s.username for s in (a.session for a in server.agent.adopted.by_key.values())) == [
        "user1",
        "user3",
    ]
    failed, result = run_module(pppoe_adopted_session, args(server, username="user2"))
    assert not failed and not result["changed"]


def test_terminate_needs_a_filter_or_all(run_module, fake_agent):
    server = fake_agent()
    failed, result = run_module(pppoe_adopted_session, args(server))
    assert failed and "or all=true" in result["msg"]
    failed, result = run_module(pppoe_adopted_session, args(server, all=True, username="user1"))
    assert failed and "cannot be combined" in result["msg"]
    failed, result = run_module(pppoe_adopted_session, args(server, state="rehomed", rate=0))
    assert failed and "rate must be 0.01 to 10000" in result["msg"]


def test_rehome_every_session_at_a_pace(run_module, fake_agent):
    server = fake_agent(sessions=3)
    failed, result = run_module(pppoe_adopted_session, args(server, state="rehomed", rate=20))
    assert not failed and result["changed"]
    assert len(result["sessions"]) == 3 and result["remaining"] == []
    assert server.agent.adopted.by_key == {}
    rehome = [r for r in server.requests if r["command"] == "rehome"]
    assert rehome == [{"command": "rehome", "rate": 20.0}]


PEER_STANDBY = {
    "instance": "bng1",
    "role": "standby",
    "healthy": True,
    "health": "ok",
    "replicated_state": {"sessions": 3, "fresh": True},
}


def test_switchover_check_passes_with_a_fresh_standby(run_module, fake_agent):
    server = fake_agent(sessions=3, peer=PEER_STANDBY)
    server.agent.replicator.sent_sessions = 3
    failed, result = run_module(bng_switchover, args(server, step="check"))
    assert not failed and not result["changed"], result
    assert result["peer"]["role"] == "standby"


@pytest.mark.parametrize(
    ("peer", "role", "message"),
    [
        (dict(PEER_STANDBY, role="active"), "active", "not a healthy standby"),
        (dict(PEER_STANDBY, replicated_state={"sessions": 3, "fresh": False}), "active", "no fresh copy"),
        (
            dict(PEER_STANDBY, replicated_state={"sessions": 2, "fresh": True}),
            "active",
            "has 2 sessions replicated",
        ),
        (PEER_STANDBY, "standby", "is standby, not the active BNG"),
    ],
)
def test_switchover_check_refuses(run_module, fake_agent, peer, role, message):
    server = fake_agent(sessions=3, role=role, peer=peer)
    server.agent.replicator.sent_sessions = 3
    failed, result = run_module(bng_switchover, args(server, step="release"))
    assert failed and message in result["msg"]
    assert not [r for r in server.requests if r["command"] == "release"]


def test_switchover_release_and_rejoin(run_module, fake_agent):
    server = fake_agent(sessions=3, peer=PEER_STANDBY)
    server.agent.replicator.sent_sessions = 3

    def release():
        server.agent.role = "fenced"
        return server.agent.status()

    def rejoin():
        server.agent.role = "standby"
        return server.agent.status()

    server.agent.release, server.agent.rejoin = release, rejoin
    failed, result = run_module(bng_switchover, args(server, step="release"), check_mode=True)
    assert not failed and result["changed"] and server.agent.role == "active"
    failed, result = run_module(bng_switchover, args(server, step="release"))
    assert not failed and result["local"]["role"] == "fenced"
    failed, result = run_module(bng_switchover, args(server, step="rejoin"))
    assert not failed and result["changed"] and result["local"]["role"] == "standby"
    failed, result = run_module(bng_switchover, args(server, step="rejoin"))
    assert not failed and not result["changed"]


def test_switchover_status_without_a_peer(run_module, fake_agent):
    from ansible_collections.isplab.bng.plugins.module_utils._failover.config import AgentError

    server = fake_agent(peer=AgentError("the peer agent does not answer"))
    failed, result = run_module(bng_switchover, args(server, step="status"))
    assert not failed and result["peer"] is None and result["local"]["role"] == "active"
    failed, result = run_module(bng_switchover, args(server, step="check"))
    assert failed and "does not answer" in result["msg"]


def test_switchover_module_takes_its_documented_options_and_leaves_the_whole_switchover_to_the_action(
    run_module,
    fake_agent,
):
    server = fake_agent()
    failed, result = run_module(bng_switchover, args(server, rejoin=False, wait_timeout=5, poll=0.5))
    assert failed and "step=switchover runs from the controller" in result["msg"]
    assert server.requests == []

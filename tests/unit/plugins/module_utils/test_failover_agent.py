# SPDX-License-Identifier: GPL-3.0-or-later
"""The failover agent: settings, wire framing, reading sessions from real recordings, the
takeover plan, the standby's handling of replicated state (fresh, corrupt, stale, replayed),
the health check against a fake accel-ppp CLI, and the entry point."""

from __future__ import annotations

import itertools
import json
import os
import socket
import struct
import subprocess
import threading
import time

import pytest

from ansible_collections.isplab.bng.plugins.module_utils._accel_ppp_cli import run_in_netns
from ansible_collections.isplab.bng.plugins.module_utils._failover import adopted as adopted_module
from ansible_collections.isplab.bng.plugins.module_utils._failover import agent as agent_module
from ansible_collections.isplab.bng.plugins.module_utils._failover import health as health_module
from ansible_collections.isplab.bng.plugins.module_utils._failover import inventory
from ansible_collections.isplab.bng.plugins.module_utils._failover import server as server_module
from ansible_collections.isplab.bng.plugins.module_utils._failover import takeover as takeover_module
from ansible_collections.isplab.bng.plugins.module_utils._failover.adopted import (
    fd_name,
    macvlan_name,
    stored_channels,
)
from ansible_collections.isplab.bng.plugins.module_utils._failover.agent import Agent, parse_fifo_line
from ansible_collections.isplab.bng.plugins.module_utils._failover.cli import main, probe_peer
from ansible_collections.isplab.bng.plugins.module_utils._failover.config import (
    AgentConfig,
    AgentError,
    config_from_dict,
    config_path,
)
from ansible_collections.isplab.bng.plugins.module_utils._failover.control import control_request
from ansible_collections.isplab.bng.plugins.module_utils._failover.health import (
    check_health as agent_check_health,
)
from ansible_collections.isplab.bng.plugins.module_utils._failover.inventory import (
    link_facts,
    parse_pppd_record,
    parse_rp_pppoe_argv,
    rp_pppoe_session,
)
from ansible_collections.isplab.bng.plugins.module_utils._failover.plan import Decision, plan_takeover
from ansible_collections.isplab.bng.plugins.module_utils._failover.server import (
    discovery_blocked,
    set_discovery_filter,
)
from ansible_collections.isplab.bng.plugins.module_utils._failover.state import (
    CorruptStateError,
    Snapshot,
    StoredState,
    decode,
    decode_stored,
    encode,
    encode_stored,
    session_from_fields,
)
from ansible_collections.isplab.bng.plugins.module_utils._failover.wire import FrameReader, exchange, frame
from ansible_collections.isplab.bng.plugins.module_utils._pppoe_adopt import AdoptError
from ansible_collections.isplab.bng.plugins.module_utils._pppoe_discovery import (
    discovery_filter,
    parse_discovery,
)
from ansible_collections.isplab.bng.tests.unit.plugins.module_utils.fake_accel_ppp import BngEmulator

KEY = "lab-replication-key"
BASE = {
    "instance": "bng2",
    "server": "accel-ppp",
    "access_interface": "access",
    "core_interface": "core",
    "listen_address": "2001:db8:100:1::12",
    "listen_port": 7300,
    "peer_address": "2001:db8:100:1::11",
    "peer_port": 7300,
    "replication_key": KEY,
}


def config(tmp_path=None, **changes) -> AgentConfig:
    values = dict(BASE, replication_key=KEY, **changes)
    if tmp_path is not None:
        values.setdefault("run_dir", str(tmp_path / "run"))
        values.setdefault("state_dir", str(tmp_path / "state"))
    return config_from_dict(values)


def session(n: int, **changes):
    fields = {
        "session_id": n,
        "client_mac": f"02:00:00:00:c0:{n:02x}",
        "ac_mac": "02:00:00:00:0b:01",
        "interface": "access",
        "origin": "accel-ppp",
        "since": 1000.0,
        "username": f"user{n}",
        "ipv4": f"100.64.0.{10 + n}",
        "gateway": "100.64.0.1",
    }
    fields.update(changes)
    return session_from_fields(**fields)


# --- settings ---------------------------------------------------------------------------------------


def test_config_defaults_and_normalised_values():
    cfg = config_from_dict(dict(BASE, vip="2001:db8:100:1::10/64", peer_ac_mac="02-00-00-00-0B-01"))
    assert cfg.vip == "2001:db8:100:1::10"
    assert cfg.peer_ac_mac == "02:00:00:00:0b:01"
    assert cfg.takeover == "hitless"
    assert cfg.control_socket == "/run/isplab-bng-failover/bng2/control.sock"
    assert cfg.state_file == "/var/lib/isplab-bng-failover/bng2/replicated-state.json"
    assert cfg.key == KEY.encode()
    assert KEY not in repr(cfg)
    assert "secret" not in repr(config_from_dict(dict(BASE, accel_ppp_password="secret")))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"instance": "bng 2"}, "instance must be a name"),
        ({"server": "pppd"}, "server must be one of accel-ppp, rp-pppoe, got 'pppd'"),
        ({"takeover": "magic"}, "takeover must be one of hitless, padt, got 'magic'"),
        ({"access_interface": "eth0:1"}, "access_interface must be a Linux interface name"),
        (
            {"listen_address": "bng2.lab"},
            "listen_address must be a numeric IPv4 or IPv6 address, got 'bng2.lab'",
        ),
        ({"listen_port": 70000}, "listen_port must be an integer from 1 to 65535, got 70000"),
        ({"vip": "::10::"}, "vip must be an IP address"),
        ({"peer_ac_mac": "02:00"}, "peer_ac_mac is not a MAC address"),
        ({"replication_interval": 0}, "replication_interval must be a number of seconds from 0.05"),
        ({"rehome_rate": 0}, "rehome_rate must be a rate from 0.01"),
        ({"echo_failures": 0}, "echo_failures must be an integer from 1 to 100"),
        ({"ra_preferred_lifetime": 7200, "ra_valid_lifetime": 3600}, "ra_preferred_lifetime must be at most"),
        (
            {"accel_ppp_password": "a\nb"},
            "accel_ppp_password must be a non-empty string without line breaks, got \\(hidden\\)",
        ),
        ({"server": "rp-pppoe"}, "server_unit must be set for the rp-pppoe server"),
        ({"server_unit": "pppoe server"}, "server_unit must be a systemd service name"),
        ({"run_dir": "run"}, "run_dir must be an absolute path"),
        ({"colour": "red"}, r"unknown settings \['colour'\]"),
    ],
)
def test_bad_settings_name_field_and_value(changes, message):
    with pytest.raises(AgentError, match=message):
        config_from_dict(dict(BASE, **changes), "bng2.json")


def test_missing_settings():
    data = dict(BASE)
    del data["peer_address"]
    with pytest.raises(AgentError, match=r"missing settings \['peer_address'\]"):
        config_from_dict(data)
    with pytest.raises(AgentError, match="must be a JSON object"):
        config_from_dict([])


def test_config_path():
    assert config_path("bng1") == "/etc/isplab/bng_failover/bng1.json"
    assert config_path("/tmp/x.json") == "/tmp/x.json"
    with pytest.raises(AgentError, match="instance must be an instance name"):
        config_path("bng 1")


# --- framing, keepalived, systemd --------------------------------------------------------------------


def test_frame_reader_splits_joins_and_refuses_oversized():
    reader = FrameReader(limit=100)
    data = frame(b"one") + frame(b"") + frame(b"three")
    assert reader.feed(data[:5]) == []
    assert reader.feed(data[5:]) == [b"one", b"", b"three"]
    assert reader.feed(frame(b"x")[:2]) == []
    with pytest.raises(CorruptStateError, match="announces 1000 bytes, over 100"):
        FrameReader(limit=100).feed((1000).to_bytes(4, "big"))


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('INSTANCE "bng" MASTER 150', ("bng", "MASTER")),
        ("INSTANCE bng BACKUP 100\n", ("bng", "BACKUP")),
        ('GROUP "g" FAULT', ("g", "FAULT")),
        ('INSTANCE "bng" STOP 0', ("bng", "STOP")),
        ('INSTANCE "bng" MASTER_RX_LOWER_PRI 150', None),
        ("VS 10.0.0.1 UP", None),
        ("", None),
    ],
)
def test_keepalived_fifo_lines(line, expected):
    assert parse_fifo_line(line) == expected


def test_stored_descriptors_from_systemd():
    names = [fd_name(3, "02:00:00:00:c0:03", kind) for kind in ("sock", "chan", "unit")]
    assert names[0] == "s3.020000 00c003".replace(" ", "") + ".sock"
    env = {
        "LISTEN_PID": str(os.getpid()),
        "LISTEN_FDS": "5",
        "LISTEN_FDNAMES": ":".join([*names, "stray", "s4.02000000c004.sock"]),
    }
    complete, stray = stored_channels(env)
    assert complete == {(3, "02:00:00:00:c0:03"): {"sock": 3, "chan": 4, "unit": 5}}
    assert sorted(stray) == [6, 7]
    assert stored_channels({"LISTEN_PID": "1", "LISTEN_FDS": "3"}) == ({}, [])
    assert stored_channels({}) == ({}, [])


# --- reading sessions on the active BNG ----------------------------------------------------------------


def test_rp_pppoe_session_command_lines():
    # The command line of a session's pppd, as pppoe-server 3.15 starts it (read from /proc).
    argv = [
        "pppd",
        "pty",
        "/usr/sbin/pppoe -n -I access -e 17:02:00:00:00:c0:0a -S ''",
        "file",
        "/etc/isplab/pppoe_server/bng1/options",
        "100.64.0.1:100.64.1.10",
        "nodetach",
    ]
    assert parse_rp_pppoe_argv(argv) == ("access", 17, "02:00:00:00:c0:0a")
    assert parse_rp_pppoe_argv(["/usr/sbin/pppd", *argv[1:]]) == ("access", 17, "02:00:00:00:c0:0a")
    assert parse_rp_pppoe_argv(["pppd", "file", "/etc/ppp/peers/isplab/cpe1", "nodetach"]) is None
    assert parse_rp_pppoe_argv(["pppd", "pty", "/usr/sbin/pppoe -n -I access -S ''"]) is None
    assert parse_rp_pppoe_argv(["pppd", "pty", "/usr/sbin/pppoe -I access -e 0:02:00:00:00:c0:0a"]) is None
    assert parse_rp_pppoe_argv(["pppd", "pty", "/usr/sbin/pppoe -I access -e 5:nope"]) is None
    assert parse_rp_pppoe_argv(["pppd", "pty", "ssh 'unbalanced"]) is None


def test_pppd_record():
    text = "ifname=ppp3\npeername=user4\nlocal=100.64.0.1\nremote=100.64.0.14\nbroken\nempty=\n"
    assert parse_pppd_record(text) == {
        "ifname": "ppp3",
        "peername": "user4",
        "local": "100.64.0.1",
        "remote": "100.64.0.14",
    }


LINKS = [
    {"index": 1, "name": "lo", "type": 772, "mtu": 65536},
    {"index": 2, "name": "access", "type": 1, "mtu": 1500},
    {"index": 7, "name": "ppp0", "type": 512, "mtu": 1492},
    {"index": 8, "name": "ppp1", "type": 512, "mtu": 1492},
]
ADDRESSES = [
    {"index": 7, "family": socket.AF_INET, "local": "100.64.0.1", "peer": "100.64.0.11"},
    {"index": 7, "family": socket.AF_INET6, "local": "fe80::1", "peer": "fe80::2"},
    {"index": 8, "family": socket.AF_INET, "local": "100.64.0.1", "peer": "100.64.0.12"},
    {"index": 2, "family": socket.AF_INET6, "local": "fe80::ff:fe00:b01", "peer": None},
]


def test_link_facts():
    facts = link_facts(LINKS, ADDRESSES)
    assert set(facts) == {"ppp0", "ppp1"}
    assert facts["ppp0"] == {
        "name": "ppp0",
        "mtu": 1492,
        "gateway": "100.64.0.1",
        "ipv4": "100.64.0.11",
        "ipv6_local_ll": "fe80::1",
        "ipv6_peer_ll": "fe80::2",
        "ipv6_routed": [],
    }
    assert facts["ppp1"]["ipv6_local_ll"] is None


def test_link_facts_keep_the_ipv6_prefixes_routed_to_a_session():
    routes = [
        {"oif": 7, "family": socket.AF_INET6, "dst": "2001:db8:110:1::/64"},
        {"oif": 7, "family": socket.AF_INET6, "dst": "fe80::/64"},  # the link's own
        {"oif": 7, "family": socket.AF_INET6, "dst": "fe80::2/128"},  # the peer
        {"oif": 7, "family": socket.AF_INET6, "dst": "ff00::/8"},  # multicast
        {"oif": 7, "family": socket.AF_INET, "dst": "100.64.0.11/32"},
        {"oif": 2, "family": socket.AF_INET6, "dst": "2001:db8:100:2::/64"},  # not a ppp link
        {"oif": 8, "family": socket.AF_INET6, "dst": "2001:db8:110:2::/64"},
        {"oif": 8, "family": socket.AF_INET6, "dst": "2001:db8:110:2::1/128"},
    ]
    facts = link_facts(LINKS, ADDRESSES, routes)
    assert facts["ppp0"]["ipv6_routed"] == ["2001:db8:110:1::/64"]
    assert facts["ppp1"]["ipv6_routed"] == ["2001:db8:110:2::/64"]


def test_ipv6_routes_read_through_netlink(scratch_netns, netns_ip):
    """The route dump the rp-pppoe sessions' prefixes come from, against a real kernel."""
    from pyroute2 import IPRoute

    # A veth stands in for the ppp interface (this kernel may have neither ppp nor dummy links).
    netns_ip("-n", scratch_netns, "link", "add", "ppp9", "type", "veth", "peer", "name", "peer9")
    netns_ip("-n", scratch_netns, "link", "set", "ppp9", "up")
    netns_ip("-n", scratch_netns, "link", "set", "peer9", "up")
    netns_ip(
        "-n", scratch_netns, "-6", "route", "add", "2001:db8:110:9::/64", "dev", "ppp9", "proto", "static"
    )

    def dump():
        with IPRoute() as ipr:
            index = ipr.link_lookup(ifname="ppp9")[0]
            return index, inventory.ipv6_routes(ipr)

    index, routes = run_in_netns(scratch_netns, dump)
    assert {"oif": index, "family": socket.AF_INET6, "dst": "2001:db8:110:9::/64"} in routes
    links = [{"index": index, "name": "ppp9", "type": 512, "mtu": 1500}]
    assert link_facts(links, [], routes)["ppp9"]["ipv6_routed"] == ["2001:db8:110:9::/64"]


def test_rp_pppoe_session_from_command_line_and_record():
    facts = link_facts(LINKS, ADDRESSES)
    record = {"ifname": "ppp0", "peername": "user1", "local": "100.64.0.1", "remote": "100.64.0.11"}
    s = rp_pppoe_session(
        ("access", 4, "02:00:00:00:c0:01"), record, facts, {"access": "02:00:00:00:0b:01"}, 50.0
    )
    assert (s.session_id, s.origin, s.username, s.ipv4, s.gateway) == (
        4,
        "rp-pppoe",
        "user1",
        "100.64.0.11",
        "100.64.0.1",
    )
    assert (s.ipv6_local_ll, s.ifname, s.since) == ("fe80::1", "ppp0", 50.0)
    # No prefix routed to the session (no ipv6-up hook, or no static prefix): none replicated.
    assert s.ipv6_delegated is None
    # The static prefix its ipv6-up hook routed to the session: routed, not advertised, on adoption.
    routed = link_facts(
        LINKS, ADDRESSES, [{"oif": 7, "family": socket.AF_INET6, "dst": "2001:db8:110:1::/64"}]
    )
    s = rp_pppoe_session(
        ("access", 4, "02:00:00:00:c0:01"), record, routed, {"access": "02:00:00:00:0b:01"}, 50.0
    )
    assert (s.ipv6_delegated, s.ipv6_prefix) == ("2001:db8:110:1::/64", None)
    # No record yet (IPCP not up): replicated without addresses, so only a PADT can be sent.
    bare = rp_pppoe_session(
        ("access", 5, "02:00:00:00:c0:02"), {}, facts, {"access": "02:00:00:00:0b:01"}, 1.0
    )
    assert (bare.ipv4, bare.username, bare.ifname) == (None, None, None)
    assert rp_pppoe_session(("eth9", 5, "02:00:00:00:c0:02"), {}, facts, {}, 1.0) is None


# --- the takeover plan -----------------------------------------------------------------------------------


def test_plan_adopts_fresh_complete_sessions():
    decisions = plan_takeover([session(1), session(2)], "hitless", True, set(), {}, set())
    assert [(d.action, d.session.session_id) for d in decisions] == [("adopt", 1), ("adopt", 2)]


def test_plan_padt_when_stale_or_stage_one_or_incomplete():
    assert {d.action for d in plan_takeover([session(1)], "hitless", False, set(), {}, set())} == {"padt"}
    assert (
        plan_takeover([session(1)], "hitless", False, set(), {}, set())[0].reason
        == "the replicated state is not fresh"
    )
    assert plan_takeover([session(1)], "padt", True, set(), {}, set())[0].action == "padt"
    (decision,) = plan_takeover([session(1, ipv4=None)], "hitless", True, set(), {}, set())
    assert (decision.action, decision.reason) == ("padt", "not enough state to adopt (no ipv4)")


def test_plan_refuses_an_address_given_to_someone_else():
    owners = {"100.64.0.11": "mallory", "100.64.0.12": None, "100.64.0.13": "user3"}
    decisions = plan_takeover(
        [session(1), session(2), session(3), session(4)], "hitless", True, set(), owners, set()
    )
    assert [(d.action, d.reason) for d in decisions] == [
        ("padt", "100.64.0.11 is already given to user mallory here"),
        ("padt", "100.64.0.12 is already given to another session here"),
        ("padt", "user3 is connected here already"),
        ("adopt", "hitless"),
    ]


def test_plan_never_duplicates_a_session_or_an_address():
    one = session(1)
    twin = session(2, ipv4="100.64.0.11")
    decisions = plan_takeover(
        [one, twin, session(3), session(4)], "hitless", True, {session(3).key}, {}, {session(4).key}
    )
    assert [(d.action, d.reason) for d in decisions] == [
        ("adopt", "hitless"),
        ("padt", "100.64.0.11 is also claimed by sid 1 02:00:00:00:c0:01 (user1)"),
        ("skip", "this kernel has the session already"),
        ("skip", "adopted already"),
    ]


def test_macvlan_name():
    assert macvlan_name("02-00-00-00-0B-01") == "ac020000000b01"
    assert len(macvlan_name("02:00:00:00:0b:01")) <= 15


# --- the standby's side of the replication ----------------------------------------------------------------


@pytest.fixture
def standby(tmp_path):
    agent = Agent(config(tmp_path))
    os.makedirs(agent.config.instance_state_dir)
    yield agent
    os.close(agent.wake_read)
    os.close(agent.wake_write)


# The message counter of the sender (the standby refuses a count it has seen).
COUNTER = itertools.count(1)


def state_message(
    sequence: int, created: float, sessions=(), boot_id: str = "boot-a", key: bytes | None = KEY.encode()
) -> bytes:
    snapshot = Snapshot("bng1", boot_id, sequence, created, tuple(sessions), created)
    return encode({**snapshot.message(), "counter": next(COUNTER)}, key)


def test_heartbeats_keep_the_state_fresh_or_ask_for_it(standby, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr("time.time", lambda: clock[0])
    standby.replica.handle(state_message(4, 1000.0, [session(1)]))
    beat = {"type": "heartbeat", "boot_id": "boot-a", "sequence": 4, "created": 1030.0, "counter": 100}
    clock[0] = 1030.0
    ack = decode(standby.replica.handle(encode(beat, KEY.encode())), KEY.encode())
    assert (ack["sequence"], ack["need_state"]) == (4, False)
    assert standby.replica.peer_state.received == 1030.0
    # A heartbeat of a sequence it does not hold: the standby asks for the state.
    ack = decode(
        standby.replica.handle(encode(dict(beat, sequence=5, counter=101), KEY.encode())), KEY.encode()
    )
    assert ack["need_state"] is True
    assert standby.replica.peer_state.received == 1030.0


def test_standby_keeps_the_newest_state_and_acknowledges(standby, monkeypatch):
    now = 1_700_000_000.0
    monkeypatch.setattr("time.time", lambda: now)
    ack = decode(standby.replica.handle(state_message(5, now, [session(1)])), KEY.encode())
    assert (ack["type"], ack["sequence"], ack["boot_id"]) == ("ack", 5, "boot-a")
    assert standby.replica.peer_state.snapshot.sequence == 5
    with open(standby.config.state_file, "rb") as handle:
        stored = decode_stored(handle.read(), KEY.encode())
    assert stored.snapshot.sessions == (session(1),)
    # An older snapshot from the same sender start is acknowledged but not kept.
    standby.replica.handle(state_message(4, now, []))
    assert standby.replica.peer_state.snapshot.sequence == 5
    # A restarted sender starts again at 1.
    standby.replica.handle(state_message(1, now, [session(2)], boot_id="boot-b"))
    assert standby.replica.peer_state.snapshot.sessions == (session(2),)


def test_standby_refuses_corrupt_unsigned_and_replayed_state(standby, monkeypatch):
    now = 1_700_000_000.0
    monkeypatch.setattr("time.time", lambda: now)
    good = state_message(1, now, [session(1)])
    assert standby.replica.handle(good.replace(b"user1", b"userX")) is None
    assert "HMAC" in standby.replica.problem
    assert standby.replica.handle(state_message(2, now, [session(1)], key=None)) is None
    assert "the sender has no key" in standby.replica.problem
    assert standby.replica.handle(state_message(3, now - 3600, [session(1)])) is None
    assert "a replay, or clocks out of step" in standby.replica.problem
    assert standby.replica.peer_state is None
    standby.replica.handle(good)
    assert standby.replica.problem is None and standby.replica.peer_state.snapshot.sequence == 1


def test_an_active_agent_does_not_take_the_peers_state(standby, monkeypatch):
    monkeypatch.setattr("time.time", lambda: 1000.0)
    standby.role = "active"
    standby.replica.handle(state_message(1, 1000.0, [session(1)]))
    assert standby.replica.peer_state is None
    assert "replicates while this BNG is active" in standby.replica.problem


def test_status_request_is_answered(standby):
    reply = decode(standby.replica.handle(encode({"type": "status-request"}, KEY.encode())), KEY.encode())
    assert (reply["type"], reply["role"], reply["instance"]) == ("status", "standby", "bng2")


def test_a_corrupt_state_file_is_refused_and_moved_aside(standby):
    with open(standby.config.state_file, "wb") as handle:
        handle.write(b'{"schema": "isplab.bng.failover", "version": 1, "type": "stored-state"')
    standby.replica.load()
    assert standby.replica.peer_state is None
    assert (
        "refused the stored replicated state" in standby.replica.problem
        and "not JSON" in standby.replica.problem
    )
    assert os.path.exists(standby.config.state_file + ".corrupt")
    assert not os.path.exists(standby.config.state_file)


def test_a_good_state_file_is_loaded_with_its_age(standby):
    stored = StoredState(Snapshot("bng1", "b", 9, 100.0, (session(1),), 100.0), received=100.5)
    with open(standby.config.state_file, "wb") as handle:
        handle.write(encode_stored(stored, KEY.encode()))
    standby.replica.load()
    assert standby.replica.peer_state == stored
    status = standby.status()
    assert status["replicated_state"]["sessions"] == 1
    assert status["replicated_state"]["fresh"] is False


def test_control_requests_are_checked(standby):
    assert standby.control.handle({"command": "sessions"}) == {"sessions": []}
    with pytest.raises(AgentError, match="name the sessions"):
        standby.control.handle({"command": "terminate"})
    with pytest.raises(AgentError, match="sessions must be a list"):
        standby.control.handle({"command": "terminate", "sessions": "all"})
    with pytest.raises(AgentError, match=r"sessions\[0\]: unknown keys \['colour'\]"):
        standby.adopted.by_key[(1, "x", "y")] = type("A", (), {"session": session(1)})()
        standby.control.handle({"command": "terminate", "sessions": [{"colour": "red"}]})
    standby.adopted.by_key.clear()
    with pytest.raises(AgentError, match="rate must be a number of sessions per second"):
        standby.control.handle({"command": "rehome", "rate": 0})
    with pytest.raises(AgentError, match="state must be MASTER"):
        standby.control.handle({"command": "keepalived", "state": "LEADER"})
    with pytest.raises(AgentError, match="unknown command 'dance'"):
        standby.control.handle({"command": "dance"})
    with pytest.raises(AgentError, match="is standby, not active: nothing to release"):
        standby.control.handle({"command": "release"})


# --- talking to agents --------------------------------------------------------------------------------------


def test_exchange_and_its_timeout():
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(2)
    port = server.getsockname()[1]

    def serve():
        conn, _peer_address = server.accept()
        reader = FrameReader()
        while not (messages := reader.feed(conn.recv(100))):
            pass
        conn.sendall(frame(messages[0].upper()))
        conn.close()
        silent, _peer_address = server.accept()
        silent.recv(100)
        threading.Event().wait(2)
        silent.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        assert exchange("127.0.0.1", port, b"ping", 2.0) == b"PING"
        with pytest.raises((TimeoutError, OSError)):
            exchange("127.0.0.1", port, b"ping", 0.3)
    finally:
        server.close()


def test_control_request_through_a_socket(tmp_path):
    cfg = config(tmp_path)
    os.makedirs(cfg.instance_run_dir)
    with pytest.raises(AgentError, match="the agent of bng2 is not running"):
        control_request(cfg, {"command": "status"})
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(cfg.control_socket)
    server.listen(1)

    def serve():
        for reply in (b'{"ok": true, "role": "standby"}\n', b'{"ok": false, "error": "nope"}\n'):
            conn, _peer_address = server.accept()
            conn.recv(1000)
            conn.sendall(reply)
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    try:
        assert control_request(cfg, {"command": "status"}) == {"role": "standby"}
        with pytest.raises(AgentError, match="nope"):
            control_request(cfg, {"command": "status"})
    finally:
        server.close()


# --- health and the entry point --------------------------------------------------------------------------


def test_health_against_a_fake_accel_ppp(fake_cli, closed_port):
    server = fake_cli(BngEmulator())
    healthy = config(access_interface="lo", accel_ppp_host=server.host, accel_ppp_port=server.port)
    assert agent_check_health(healthy) == (True, "accel-ppp answers its CLI", "0")
    assert server.commands == ["pppoe show PADO-delay"]
    dead = config(access_interface="lo", accel_ppp_port=closed_port, accel_ppp_timeout=0.5)
    ok, reason, delay = agent_check_health(dead)
    assert not ok and delay is None
    assert "accel-ppp does not answer its CLI" in reason and "cannot connect" in reason
    hung = fake_cli(BngEmulator(), silent=True)
    ok, reason, _pado_delay = agent_check_health(
        config(access_interface="lo", accel_ppp_port=hung.port, accel_ppp_timeout=0.3)
    )
    assert not ok and "within 0.3 s" in reason
    assert agent_check_health(config(access_interface="nonexistent0")) == (
        False,
        "access interface nonexistent0 is down or has no carrier",
        None,
    )


def test_rp_pppoe_health_depends_on_the_role(tmp_path):
    cfg = config(
        tmp_path, access_interface="lo", server="rp-pppoe", server_unit="isplab-pppoe-server@bng2.service"
    )
    assert agent_check_health(cfg, "standby") == (True, "rp-pppoe standby (discovery filtered)", None)
    assert agent_check_health(cfg, "active") == (
        False,
        "the rp-pppoe server is not running on the active BNG",
        None,
    )
    assert agent_check_health(cfg, "active", server_running=True) == (True, "rp-pppoe server running", None)
    # Without a role, the agent's status file says it.
    os.makedirs(cfg.instance_run_dir)
    with open(cfg.status_file, "w") as handle:
        json.dump({"role": "active"}, handle)
    assert agent_check_health(cfg, server_running=False)[0] is False


def test_entry_point_validate_and_errors(tmp_path, capsys):
    path = tmp_path / "bng2.json"
    path.write_text(json.dumps(BASE))
    assert main(["validate", str(path)]) == 0
    assert "valid (bng2, accel-ppp, takeover hitless)" in capsys.readouterr().out
    path.write_text(json.dumps(dict(BASE, listen_port="7300")))
    assert main(["validate", str(path)]) == 1
    assert "listen_port must be an integer from 1 to 65535, got '7300'" in capsys.readouterr().err
    path.write_text("{")
    assert main(["validate", str(path)]) == 1
    assert "not JSON" in capsys.readouterr().err
    assert main(["validate", str(tmp_path / "missing.json")]) == 1
    assert "cannot read the agent configuration" in capsys.readouterr().err
    assert main(["status"]) == 2
    assert "usage" in capsys.readouterr().err.lower()
    # --help is what the role runs to see that the code loads on the BNG: success, on stdout.
    assert main(["--help"]) == 0
    assert "usage" in capsys.readouterr().out.lower()
    path.write_text(json.dumps(dict(BASE, run_dir=str(tmp_path))))
    assert main(["status", str(path)]) == 1
    assert "is not running" in capsys.readouterr().err


def test_a_resumed_takeover_reports_the_whole_takeover(standby, monkeypatch):
    # Killed after adopting sessions 1 and 2 (2 given back by systemd, 1 not: adopted again) and
    # sending a PADT for 3; session 4 is still to adopt.
    sessions = [session(n) for n in (1, 2, 3, 4)]
    snapshot = Snapshot("bng1", "boot-a", 7, 1000.0, tuple(sessions), 1000.0)
    os.makedirs(standby.config.instance_run_dir)
    standby.takeover.journal(
        {"started": 1000.0, "reason": "VIP added", "fresh": True, "state": snapshot.message()}
    )
    standby.takeover.journal_done(sessions[0].key, "adopted")
    standby.takeover.journal_done(sessions[1].key, "adopted")
    standby.takeover.journal_done(sessions[2].key, "padt")
    standby.adopted.by_key[sessions[1].key] = object()
    executed = []

    def execute(decisions):
        executed.extend(d.session.key for d in decisions)
        return {f"{d.session.key[0]}/{d.session.key[1]}/{d.session.key[2]}": "adopted" for d in decisions}

    monkeypatch.setattr("time.time", lambda: 1003.5)
    monkeypatch.setattr(standby.server, "discovery", lambda on: None)
    monkeypatch.setattr(standby.takeover, "kernel_keys", set)
    monkeypatch.setattr(standby.takeover, "address_owners", dict)
    monkeypatch.setattr(standby.takeover, "execute", execute)
    monkeypatch.setattr(standby, "write_status", lambda: None)
    standby.takeover.resume()
    assert executed == [sessions[0].key, sessions[3].key]
    last = standby.takeover.last
    assert (last["replicated"], last["adopted"], last["padt"], last["skip"]) == (4, 3, 1, 0)
    assert (last["at"], last["seconds"]) == (1000.0, 3.5)
    assert last["reason"] == "VIP added, resumed after an agent restart"


def test_sessions_that_go_away_with_the_server_are_not_replicated(standby, monkeypatch):
    # A killed PPPoE server takes its sessions down one by one: the active must not tell the
    # standby that they are gone, or the standby would have nothing left to take over.
    monkeypatch.setattr(
        "ansible_collections.isplab.bng.plugins.module_utils._failover.replicator.REMOVAL_HOLD", 0
    )
    standby.role, standby.health.healthy = "active", True
    before = [session(1), session(2), session(3)]
    reads = iter([[session(1)], [session(1)]])
    standby.server.pid = None
    assert standby.replicator.settled(lambda: next(reads), before) is None
    # The server still runs after the hold: a client that hung up, replicated as it is then.
    reads = iter([[session(1)], [session(1), session(4)]])
    standby.server.pid = 4242
    assert standby.replicator.settled(lambda: next(reads), before) == [session(1), session(4)]
    # New sessions only: replicated at once, read once.
    reads = iter([[*before, session(4)]])
    standby.server.pid = None
    assert standby.replicator.settled(lambda: next(reads), before) == [*before, session(4)]


def test_a_slow_server_start_is_not_a_failure(tmp_path, monkeypatch):
    # Taking over, the rp-pppoe agent starts its server; on a busy host that takes a while, and
    # the active BNG must not fence itself meanwhile.
    agent = Agent(config(tmp_path, server="rp-pppoe", server_unit="isplab-pppoe-server@bng2.service"))
    try:
        clock = [500.0]
        monkeypatch.setattr("time.monotonic", lambda: clock[0])
        assert agent.server.starting() is False  # never started by this agent
        agent.server.started_at = 500.0
        clock[0] = 530.0
        assert agent.server.starting() is True
        clock[0] = 600.0
        states = iter(["activating", "failed"])

        def is_active(argv, **kwargs):
            assert argv == ["systemctl", "is-active", "isplab-pppoe-server@bng2.service"]
            return subprocess.CompletedProcess(argv, 0, stdout=next(states) + "\n")

        monkeypatch.setattr("subprocess.run", is_active)
        assert agent.server.starting() is True
        assert agent.server.starting() is False
    finally:
        os.close(agent.wake_read)
        os.close(agent.wake_write)


def test_systemctl_is_asked_again_when_systemd_answers_late(monkeypatch):
    calls = []

    def run(argv, **kwargs):
        calls.append((argv, kwargs["env"]["SYSTEMD_BUS_TIMEOUT"]))
        if len(calls) == 1:
            raise subprocess.TimeoutExpired(argv, kwargs["timeout"])
        return subprocess.CompletedProcess(argv, 0, stdout="", stderr="")

    monkeypatch.setattr("subprocess.run", run)
    server_module.systemctl("start", "isplab-pppoe-server@bng2.service")
    assert [argv for argv, _kwargs in calls] == [
        ["systemctl", "--no-block", "start", "isplab-pppoe-server@bng2.service"]
    ] * 2
    assert calls[0][1] == "90"


def test_a_start_request_still_in_flight_counts_as_starting(tmp_path, monkeypatch):
    agent = Agent(config(tmp_path, server="rp-pppoe", server_unit="isplab-pppoe-server@bng2.service"))
    try:
        monkeypatch.setattr("time.monotonic", lambda: 1000.0)
        agent.server.started_at = 100.0  # long past the grace
        agent.server.start_requests = 1
        assert agent.server.starting() is True
    finally:
        os.close(agent.wake_read)
        os.close(agent.wake_write)


# --- the rp-pppoe server's discovery posture ------------------------------------------------------


def test_setting_the_discovery_filter_runs_tc(monkeypatch):
    calls = []
    batch_rc = [0]  # what `tc -batch` returns

    def run(argv, **kwargs):
        calls.append((argv, kwargs.get("input")))
        rc = batch_rc[0] if argv[-2:] == ["-batch", "-"] else 0
        return subprocess.CompletedProcess(argv, rc, stdout="", stderr="RTNETLINK: no prio")

    monkeypatch.setattr("subprocess.run", run)
    # Answering at once: the filter goes, nothing replaces it.
    set_discovery_filter("access", 0)
    assert calls == [(["tc", "qdisc", "del", "dev", "access", "root"], None)]
    calls.clear()
    # In another namespace (the benchmark's stock pair): the same commands through `ip netns exec`.
    set_discovery_filter("access", 500, netns="bng2")
    assert calls[0][0] == ["ip", "netns", "exec", "bng2", "tc", "qdisc", "del", "dev", "access", "root"]
    assert calls[1] == (["ip", "netns", "exec", "bng2", "tc", "-batch", "-"], discovery_filter("access", 500))
    # tc refusing the filter is an error that says why.
    batch_rc[0] = 2
    with pytest.raises(AgentError, match="tc cannot set the discovery filter of access: RTNETLINK: no prio"):
        set_discovery_filter("access", -1)


class _Qdiscs:
    """A netlink socket that knows one interface and its qdiscs."""

    def __init__(self, qdiscs):
        self.qdiscs = qdiscs

    def link_lookup(self, ifname):
        return [7] if ifname == "access" else []

    def get_qdiscs(self, index):
        assert index == 7
        return [_Qdisc(*q) for q in self.qdiscs]


class _Qdisc(dict):
    def __init__(self, kind, handle, parent):
        super().__init__(handle=handle, parent=parent)
        self.kind = kind

    def get_attr(self, name):
        return self.kind if name == "TCA_KIND" else None


def test_the_discovery_filter_is_read_from_netlink():
    assert discovery_blocked(_Qdiscs([("prio", 0x10000, 0xFFFFFFFF), ("netem", 0x400000, 0x10004)]), "access")
    assert not discovery_blocked(_Qdiscs([("noqueue", 0, 0xFFFFFFFF)]), "access")
    # A prio qdisc that is not the filter's (another handle, or not at the root) is not the filter.
    assert not discovery_blocked(
        _Qdiscs([("prio", 0x20000, 0xFFFFFFFF), ("prio", 0x10000, 0x20001)]), "access"
    )
    assert discovery_blocked(_Qdiscs([]), "missing0") is None


@pytest.fixture
def rp_pppoe_agent(tmp_path, monkeypatch):
    agent = Agent(config(tmp_path, server="rp-pppoe", server_unit="isplab-pppoe-server@bng2.service"))
    done = []
    monkeypatch.setattr(agent.server, "set_filter", lambda answer: done.append(("filter", answer)))
    monkeypatch.setattr(agent.server, "start", lambda: done.append(("start",)))
    agent.done = done
    yield agent
    os.close(agent.wake_read)
    os.close(agent.wake_write)


def test_taking_over_removes_the_filter_and_starts_only_a_missing_server(rp_pppoe_agent):
    agent = rp_pppoe_agent
    agent.server.pid = 4242
    agent.server.discovery(True)
    assert agent.done == [("filter", True)]
    agent.done.clear()
    agent.server.pid = None
    agent.server.discovery(True)
    assert agent.done == [("filter", True), ("start",)]
    agent.done.clear()
    agent.server.start_requests = 1  # a start already on its way
    agent.server.discovery(True)
    assert agent.done == [("filter", True)]
    agent.done.clear()
    agent.server.discovery(False)
    assert agent.done == [("filter", False)]


def test_the_health_check_keeps_the_posture(rp_pppoe_agent, monkeypatch):
    agent = rp_pppoe_agent
    clock = [100.0]
    monkeypatch.setattr("time.monotonic", lambda: clock[0])
    filtered = _Qdiscs([("prio", 0x10000, 0xFFFFFFFF)])
    open_ = _Qdiscs([("noqueue", 0, 0xFFFFFFFF)])
    # The active's filter came back (its unit reloaded): removed; the standby's went: put back.
    agent.role = "active"
    agent.server.keep_rp_pppoe_posture(filtered)
    agent.server.keep_rp_pppoe_posture(open_)
    agent.role, agent.server.pid = "standby", 4242
    agent.server.keep_rp_pppoe_posture(open_)
    agent.server.keep_rp_pppoe_posture(filtered)
    assert agent.done == [("filter", True), ("filter", False)]
    agent.done.clear()
    # The standby's server missing: started again once it has been missing for STANDBY_GRACE.
    agent.server.pid = None
    agent.server.keep_rp_pppoe_posture(filtered)
    clock[0] += 5
    agent.server.keep_rp_pppoe_posture(filtered)
    assert agent.done == []
    clock[0] += 6
    agent.server.keep_rp_pppoe_posture(filtered)
    assert agent.done == [("start",)]
    # Not while keepalived already made it MASTER (the takeover starts what it needs).
    agent.done.clear()
    agent.keepalived_state = "MASTER"
    clock[0] += 60
    agent.server.keep_rp_pppoe_posture(filtered)
    assert agent.done == []


# --- the fence and the rejoin with accel-ppp ----------------------------------------------------------


@pytest.fixture
def accel_ppp_agent(tmp_path, fake_cli, monkeypatch):
    """bng1's agent on an accel-ppp (the fake CLI, 30 sessions) run by its systemd unit; links
    and systemctl are recorded instead of done."""
    emulator = BngEmulator()
    server = fake_cli(emulator)
    agent = Agent(
        config(
            tmp_path,
            instance="bng1",
            accel_ppp_host=server.host,
            accel_ppp_port=server.port,
            server_unit="isplab-accel-ppp@bng1.service",
        )
    )
    os.makedirs(agent.config.instance_run_dir)
    done = []
    link = {"up": True}

    def set_link(name, up):
        done.append(("link", name, up))
        link["up"] = up

    monkeypatch.setattr(agent, "_set_link", set_link)
    monkeypatch.setattr(agent, "_macvlans", lambda: [])
    monkeypatch.setattr(agent.server, "systemctl", lambda action, unit: done.append((action, unit)))
    monkeypatch.setattr(agent_module, "interface_up", lambda name: link["up"])
    agent.done, agent.emulator, agent.link = done, emulator, link
    yield agent
    os.close(agent.wake_read)
    os.close(agent.wake_write)


def _wait_for(predicate, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.01)


def test_a_fence_stops_accel_ppp_and_keeps_the_access_link_down(accel_ppp_agent):
    agent = accel_ppp_agent
    agent.role = "active"
    agent.fence("the PPPoE server died")
    _wait_for(lambda: ("stop", "isplab-accel-ppp@bng1.service") in agent.done)  # a thread stops it
    assert agent.role == "fenced"
    assert agent.done[0] == ("link", "access", False)
    assert ("stop", "isplab-accel-ppp@bng1.service") in agent.done
    assert agent.emulator.settings["PADO-delay"] == "-1"
    assert len(agent.emulator.terminated) == 30 and {m for _session, m in agent.emulator.terminated} == {
        "hard"
    }
    with open(agent.config.fenced_file) as handle:  # read by an agent that restarts
        assert handle.read() == "the PPPoE server died\n"
    # accel-pppd, restarted (by systemd, before the stop), brings the link up: down it goes.
    agent.done.clear()
    agent.link["up"] = True
    agent.keep_fenced()
    assert agent.done == [("link", "access", False)]
    # Down already, or a BNG that is not fenced: nothing to do.
    agent.done.clear()
    agent.keep_fenced()
    agent.role, agent.link["up"] = "standby", True
    agent.keep_fenced()
    assert agent.done == []


def test_rejoin_starts_accel_ppp_answering_no_discovery_then_brings_the_link_up(accel_ppp_agent):
    agent = accel_ppp_agent
    agent.fence("lost the active role")
    _wait_for(lambda: ("stop", "isplab-accel-ppp@bng1.service") in agent.done)
    # The restarted accel-ppp has its configuration's delay and, say, a session already.
    agent.emulator.settings["PADO-delay"] = "0"
    agent.emulator.terminated.clear()
    agent.done.clear()
    status = agent.rejoin()
    assert status["role"] == "standby"
    assert agent.done == [("start", "isplab-accel-ppp@bng1.service"), ("link", "access", True)]
    assert agent.emulator.settings["PADO-delay"] == "-1"
    assert agent.emulator.terminated  # what it held went before the link came up
    assert not os.path.exists(agent.config.fenced_file)


def test_rejoin_fails_and_stays_fenced_while_accel_ppp_does_not_answer(tmp_path, closed_port, monkeypatch):
    agent = Agent(
        config(
            tmp_path,
            accel_ppp_port=closed_port,
            accel_ppp_timeout=0.2,
            server_unit="isplab-accel-ppp@bng2.service",
        )
    )
    done = []
    monkeypatch.setattr(agent, "_set_link", lambda name, up: done.append(("link", name, up)))
    monkeypatch.setattr(agent.server, "systemctl", lambda action, unit: done.append((action, unit)))
    monkeypatch.setattr(server_module, "ACCEL_PPP_START_TIMEOUT", 0.3)
    agent.role = "fenced"
    try:
        with pytest.raises(AgentError, match=r"accel-ppp must answer before rejoining: .*cannot connect"):
            agent.rejoin()
        assert agent.role == "fenced"
        assert done == [("start", "isplab-accel-ppp@bng2.service")]  # the link stayed down
    finally:
        os.close(agent.wake_read)
        os.close(agent.wake_write)


def test_probe_the_peer_with_a_real_padi(scratch_netns, netns_ip):
    """A veth pair in a scratch namespace: the probe's PADI goes out of `access`; at the other
    end a peer answers with a PADO from its AC MAC, or nobody does."""
    netns_ip("-n", scratch_netns, "link", "add", "access", "type", "veth", "peer", "name", "peer0")
    netns_ip("-n", scratch_netns, "link", "set", "access", "address", "02:00:00:00:0b:02", "up")
    netns_ip("-n", scratch_netns, "link", "set", "peer0", "up")
    cfg = config(peer_ac_mac="02:00:00:00:0b:01")
    peer = run_in_netns(scratch_netns, lambda: _discovery_socket("peer0"))

    def answer(ac_mac: str) -> None:
        padi = parse_discovery(peer.recv(2048))
        tags = struct.pack("!HH", 0x0103, len(padi["tags"][0x0103])) + padi["tags"][0x0103]
        pado = (
            bytes.fromhex(padi["source"].replace(":", ""))
            + bytes.fromhex(ac_mac.replace(":", ""))
            + struct.pack("!HBBHH", 0x8863, 0x11, 0x07, 0, len(tags))
            + tags
        )
        peer.send(pado)

    try:
        for ac_mac, answers in (("02:00:00:00:0b:01", True), ("02:00:00:00:0b:09", False)):
            responder = threading.Thread(target=answer, args=(ac_mac,))
            responder.start()
            result = run_in_netns(scratch_netns, lambda: probe_peer(cfg, 1.0))
            responder.join(5)
            assert result == {
                "interface": "access",
                "peer_ac_mac": "02:00:00:00:0b:01",
                "timeout": 1.0,
                "peer_answers_discovery": answers,
            }
    finally:
        peer.close()
    with pytest.raises(AgentError, match="peer_ac_mac is not set"):
        probe_peer(config(), 1.0)
    with pytest.raises(AgentError, match="from 0 to 60 seconds, got 0"):
        probe_peer(cfg, 0)
    with pytest.raises(AgentError, match="there is no interface nonexistent0 in this namespace"):
        probe_peer(config(peer_ac_mac="02:00:00:00:0b:01", access_interface="nonexistent0"), 1.0)


def _discovery_socket(interface: str) -> socket.socket:
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x8863))
    sock.bind((interface, 0))
    sock.settimeout(5)
    return sock


def test_a_router_advertisement_that_fails_is_logged_once_per_error(standby, monkeypatch, caplog):
    sent = []

    def send(ifname, source, packet):
        sent.append((ifname, source))
        if len(sent) < 3:
            raise AdoptError(f"router advertisement on {ifname}: Cannot assign requested address")

    monkeypatch.setattr(adopted_module, "send_router_advertisement", send)
    adopted = adopted_module.Adopted.start(
        session(3, ipv6_prefix="2001:db8:110:3::/64", ipv6_local_ll="fe80::3"),
        channel=type("Channel", (), {"ifname": "ppp3"})(),
        device="ac020000000b01",
    )
    with caplog.at_level("WARNING", logger="isplab-bng-failover"):
        for _round in range(4):
            standby.adopted.send_ra(adopted)
    assert sent == [("ppp3", "fe80::3")] * 4
    warnings = [r.getMessage() for r in caplog.records]
    assert warnings == [
        "router advertisement for sid 3 02:00:00:00:c0:03 (user3): "
        "router advertisement on ppp3: Cannot assign requested address"
    ]
    assert adopted.ra_error is None  # the later ones went out


def test_accel_ppp_late_on_its_cli_fails_only_after_health_failures_checks(tmp_path, monkeypatch, caplog):
    agent = Agent(config(tmp_path, health_failures=3))
    link = {"running": True}
    monkeypatch.setattr(health_module, "interface_running", lambda name: link["running"])
    late = "accel-ppp does not answer its CLI: no complete reply within 2 s"
    try:
        # Never healthy yet (starting): a failure counts at once.
        assert agent.health.hold_verdict(False, late) == (False, late)
        assert agent.health.hold_verdict(True, "accel-ppp answers its CLI") == (
            True,
            "accel-ppp answers its CLI",
        )
        agent.health.healthy, agent.health.reason = (
            True,
            "accel-ppp answers its CLI",
        )  # as the health loop does
        with caplog.at_level("WARNING", logger="isplab-bng-failover"):
            verdicts = [agent.health.hold_verdict(False, late) for _round in range(3)]
        assert verdicts == [(True, "accel-ppp answers its CLI")] * 2 + [(False, late)]
        assert [r.getMessage() for r in caplog.records] == [
            f"{late} (check 1 of 3 before it counts)",
            f"{late} (check 2 of 3 before it counts)",
        ]
        # An answer resets the count.
        assert agent.health.hold_verdict(True, "accel-ppp answers its CLI") == (
            True,
            "accel-ppp answers its CLI",
        )
        assert agent.health.hold_verdict(False, late) == (True, "accel-ppp answers its CLI")
        # The access link down counts at once.
        link["running"] = False
        down = "access interface access is down or has no carrier"
        assert agent.health.hold_verdict(False, down) == (False, down)
    finally:
        os.close(agent.wake_read)
        os.close(agent.wake_write)


def test_every_dump_the_agent_reads_is_read_again_when_interrupted():
    # During a takeover addresses and routes change by the hundred too, not only links.
    from pyroute2.netlink.exceptions import NetlinkDumpInterrupted

    class Ipr:
        def __init__(self):
            self.calls = {"get_links": 0, "get_addr": 0, "get_routes": 0}

        def _interrupted_once(self, name):
            self.calls[name] += 1
            if self.calls[name] == 1:
                raise NetlinkDumpInterrupted()
            return []

        def get_links(self):
            return self._interrupted_once("get_links")

        def get_addr(self):
            return self._interrupted_once("get_addr")

        def get_routes(self, family=None):
            return self._interrupted_once("get_routes")

    ipr = Ipr()
    assert inventory.read_links(ipr) == ([], [], {})
    assert inventory.ipv6_routes(ipr) == []
    assert ipr.calls == {"get_links": 2, "get_addr": 2, "get_routes": 2}


def test_a_standby_says_before_a_takeover_when_the_open_file_limit_is_too_low(standby, monkeypatch, caplog):
    import resource

    stored = StoredState(
        Snapshot("bng1", "b", 9, 100.0, tuple(session(n) for n in range(1, 51)), 100.0), 100.5
    )
    standby.replica.peer_state = stored
    assert standby.status()["descriptors"]["short"] == 0
    limit = standby.status()["descriptors"]["open"] + 64 + 3 * 20  # room for 20 of the 50
    monkeypatch.setattr(resource, "getrlimit", lambda _: (limit, limit))
    with caplog.at_level("WARNING"):
        descriptors = standby.status()["descriptors"]
        standby.status()  # said once, not at every status
    assert (descriptors["adoptable"], descriptors["short"]) in {(20, 30), (19, 31)}
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "of the 50 replicated sessions" in warnings[0], warnings


def test_stage_one_padts_are_paced_at_padt_rate(tmp_path, monkeypatch):
    # All at once, 50 subscribers redialed together and 7 were not back within 240 s: the PADTs
    # go out at padt_rate per second from the event loop's timers, as re-homing does.
    agent = Agent(config(tmp_path, padt_rate=10.0))
    try:
        sent: list[tuple[str, int, float]] = []
        clock = [1000.0]
        monkeypatch.setattr("time.monotonic", lambda: clock[0])
        monkeypatch.setattr(
            takeover_module,
            "send_frames",
            lambda device, frames: sent.extend((device, f[16] << 8 | f[17], clock[0]) for f in frames),
        )
        monkeypatch.setattr(agent.adopted, "prepare_devices", lambda macs: {})
        monkeypatch.setattr(agent.takeover, "journal_done", lambda key, outcome: None)
        monkeypatch.setattr(agent, "write_status", lambda: None)
        decisions = [Decision(session(n), "padt", "takeover mode padt (stage one)") for n in range(1, 6)]
        outcome = agent.takeover.execute(decisions)
        assert set(outcome.values()) == {"padt"} and len(outcome) == 5
        assert [s[1] for s in sent] == [1], "the first at once, the others paced"
        assert agent.status()["padt_pending"] == 4
        clock[0] = 1000.05
        agent._timers(clock[0])
        assert len(sent) == 1
        clock[0] = 1000.1
        agent._timers(clock[0])
        assert [s[1] for s in sent] == [1, 2]
        clock[0] = 1000.45  # late: what is due goes at once, no more
        agent._timers(clock[0])
        assert [s[1] for s in sent] == [1, 2, 3, 4, 5]
        assert {s[0] for s in sent} == {agent.config.access_interface}
        assert agent.status()["padt_pending"] == 0
    finally:
        os.close(agent.wake_read)
        os.close(agent.wake_write)

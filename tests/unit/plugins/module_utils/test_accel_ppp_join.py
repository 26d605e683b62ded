# SPDX-License-Identifier: GPL-3.0-or-later
"""The join of accel-ppp's `show sessions` rows with /proc/net/pppoe, and the failover agent's
inventory of accel-ppp's sessions, which is made with it."""

from __future__ import annotations

import socket

import pytest

from ansible_collections.isplab.bng.plugins.module_utils._accel_ppp_join import (
    AMBIGUOUS,
    CLI_ONLY,
    JOINED,
    KERNEL_ONLY,
    join_sessions,
    row_key,
)
from ansible_collections.isplab.bng.plugins.module_utils._accel_ppp_parsers import parse_sessions
from ansible_collections.isplab.bng.plugins.module_utils._failover.inventory import join_accel_ppp, link_facts
from ansible_collections.isplab.bng.plugins.module_utils._pppoe_kernel import parse_proc_net_pppoe
from ansible_collections.isplab.bng.tests.unit.plugins.module_utils.fake_accel_ppp import ALL_COLUMNS_COMMAND

CLIENT = "02:00:00:00:c0:01"
AC = {"eth0": "02:00:00:00:0b:01", "eth1": "02:00:00:00:0b:02"}


def kernel_of(*rows: str):
    """/proc/net/pppoe of a little-endian host with these `ID MAC DEVICE` lines."""
    return parse_proc_net_pppoe("Id Address Device\n" + "".join(f"{row}\n" for row in rows), "little")


def row(username: str, inbound_if: str = "eth0", calling_sid: str = CLIENT, **more) -> dict:
    return {"username": username, "calling_sid": calling_sid, "inbound_if": inbound_if, **more}


def test_inventory_of_one_client_on_two_access_interfaces():
    # One client device dials on two access interfaces: each session is the row of its interface.
    kernel = kernel_of(f"00000100 {CLIENT} eth0", f"00000200 {CLIENT} eth1")
    rows = [row("user1", "eth0", ifname="ppp0"), row("user2", "eth1", ifname="ppp1")]
    sessions = join_accel_ppp(kernel, rows, {}, AC, 0.0)
    assert [(s.session_id, s.interface, s.username, s.ifname) for s in sessions] == [
        (1, "eth0", "user1", "ppp0"),
        (2, "eth1", "user2", "ppp1"),
    ]


def test_inventory_leaves_the_sessions_the_agent_adopted_out_of_the_join():
    # The agent holds session 1 itself (accel-ppp does not know it); accel-ppp's own session of
    # the same client is session 2, and its row is that session's.
    kernel = kernel_of(f"00000100 {CLIENT} eth0", f"00000200 {CLIENT} eth0")
    adopted = {(1, CLIENT, AC["eth0"])}
    sessions = join_accel_ppp(kernel, [row("user1", ifname="ppp0")], {}, AC, 0.0, adopted)
    assert [(s.session_id, s.username) for s in sessions] == [(2, "user1")]


@pytest.fixture
def recorded(fixture_path, transcript):
    """The 30 sessions of a real accel-ppp: its /proc/net/pppoe and its every-column table."""
    text = fixture_path("proc-net-pppoe-server-30-sessions.txt").read_text()
    rows = parse_sessions(transcript("cli-30-sessions.json")[ALL_COLUMNS_COMMAND][0])
    return parse_proc_net_pppoe(text, "little"), rows


def test_the_recorded_daemon_joins_one_to_one(recorded):
    kernel, rows = recorded
    joins = join_sessions(kernel, rows)
    assert [join.outcome for join in joins] == [JOINED] * 30
    by_user = {join.row["username"]: join.session for join in joins}
    assert (by_user["user1"].session_id, by_user["user1"].peer_mac) == (1, "02:00:00:00:c0:01")
    assert by_user["user25"].session_id == 0x0600  # 00000006 02:00:00:00:c0:19


@pytest.mark.parametrize(
    ("kernel", "rows", "outcomes"),
    [
        # The second row of one MAC and interface (a router running two clients with one MAC).
        ([f"00000100 {CLIENT} eth0"], [row("user1"), row("user2")], [AMBIGUOUS]),
        ([f"00000100 {CLIENT} eth0", f"00000200 {CLIENT} eth0"], [row("user1")], [AMBIGUOUS]),
        # The same MAC on another interface is another key.
        ([f"00000100 {CLIENT} eth0", f"00000200 {CLIENT} eth1"], [row("user1")], [JOINED, KERNEL_ONLY]),
        ([f"00000100 {CLIENT} eth0"], [row("user1", "eth1")], [KERNEL_ONLY, CLI_ONLY]),
        # MACs compare in one notation; a row without a MAC or interface joins nothing.
        ([f"00000100 {CLIENT} eth0"], [row("user1", calling_sid="02-00-00-00-C0-01")], [JOINED]),
        # With ifname-in-sid, calling-sid is INTERFACE:MAC: not keyed.
        ([f"00000100 {CLIENT} eth0"], [row("user1", calling_sid=f"eth0:{CLIENT}")], [KERNEL_ONLY, CLI_ONLY]),
        ([f"00000100 {CLIENT} eth0"], [row("user1", inbound_if=None)], [KERNEL_ONLY, CLI_ONLY]),
        ([], [], []),
    ],
)
def test_join_outcomes(kernel, rows, outcomes):
    joins = join_sessions(kernel_of(*kernel), rows)
    assert [join.outcome for join in joins] == outcomes
    # Every kernel session and every row is in exactly one join; only JOINED names a pair.
    assert sorted(s.session_id for join in joins for s in join.kernel) == sorted(
        s.session_id for s in kernel_of(*kernel)
    )
    assert [id(r) for join in joins for r in join.rows] == [id(r) for r in rows]
    for join in joins:
        assert (join.row is not None, join.session is not None) == (join.outcome == JOINED,) * 2


def test_row_key():
    assert row_key(row("user1", calling_sid="0200.0000.C001")) == (CLIENT, "eth0")
    assert row_key({"calling_sid": CLIENT}) is None
    assert row_key({"inbound_if": "eth0", "calling_sid": None}) is None


def test_inventory_of_the_recorded_daemon(recorded):
    """The 30 sessions of a real accel-ppp as the agent replicates them."""
    kernel, rows = recorded
    links = [{"index": 10 + i, "name": f"ppp{i}", "type": 512, "mtu": 1492} for i in range(30)]
    addresses = [
        {"index": 10 + i, "family": socket.AF_INET, "local": "100.64.0.1", "peer": row["ip"]}
        for i, row in enumerate(sorted(rows, key=lambda r: int(r["ifname"][3:])))
    ]
    sessions = join_accel_ppp(kernel, rows, link_facts(links, addresses), {"eth0": AC["eth0"]}, 10_000.0)
    by_user = {s.username: s for s in sessions}
    assert len(by_user) == 30
    user3 = by_user["user3"]
    assert (user3.session_id, user3.client_mac, user3.ac_mac) == (0x80, "02:00:00:00:c0:03", AC["eth0"])
    assert (user3.ipv4, user3.gateway) == ("100.64.0.13", "100.64.0.1")
    assert (user3.ifname, user3.interface) == ("ppp2", "eth0")
    assert user3.since == 10_000.0 - 93
    assert by_user["user1"].session_id == 1
    # A session the agent adopted itself is not accel-ppp's.
    adopted = {(1, "02:00:00:00:c0:01", AC["eth0"])}
    assert len(join_accel_ppp(kernel, rows, {}, {"eth0": AC["eth0"]}, 10_000.0, adopted)) == 29
    # No MAC known for the device: nothing can be said about its sessions.
    assert join_accel_ppp(kernel, rows, {}, {}, 10_000.0) == []


def test_inventory_of_an_ambiguous_client_keeps_only_kernel_facts():
    kernel = kernel_of(f"00000100 {CLIENT} eth0", f"00000200 {CLIENT} eth0")
    rows = [row("user1", ifname="ppp0", ip="100.64.0.11")]
    sessions = join_accel_ppp(kernel, rows, {}, AC, 0.0)
    assert [(s.session_id, s.username, s.ipv4) for s in sessions] == [(1, None, None), (2, None, None)]


def test_inventory_ipv6_columns():
    kernel = kernel_of(f"00000100 {CLIENT} access")
    rows = [
        row(
            "user1",
            "access",
            ifname="ppp0",
            ip="100.64.0.11",
            ip6="2001:db8:110:1::2/64",
            ip6_dp="2001:db8:120:100::/56",
            uptime_raw=5,
        )
    ]
    links = [
        {"index": 2, "name": "access", "type": 1, "mtu": 1500},
        {"index": 7, "name": "ppp0", "type": 512, "mtu": 1492},
    ]
    addresses = [{"index": 7, "family": socket.AF_INET6, "local": "fe80::1", "peer": "fe80::2"}]
    (s,) = join_accel_ppp(kernel, rows, link_facts(links, addresses), {"access": AC["eth0"]}, 100.0)
    assert (s.ipv6_prefix, s.ipv6_delegated) == ("2001:db8:110:1::/64", "2001:db8:120:100::/56")
    assert (s.ipv6_local_ll, s.ipv6_peer_ll, s.mtu) == ("fe80::1", "fe80::2", 1492)
    assert s.since == 95.0

# SPDX-License-Identifier: GPL-3.0-or-later
"""isplab.bng.netns_link against the real kernel: veth pairs, bridges, macvlans, properties."""

from __future__ import annotations

import pytest

from ansible_collections.isplab.bng.plugins.modules import netns_link
from ansible_collections.isplab.bng.tests.unit.plugins.modules.netns_fixtures import ip, ip_json, netns_lab


@pytest.fixture
def lab():
    yield from netns_lab()


def link(netns: str | None, name: str) -> dict:
    args = ["-n", netns] if netns else []
    return ip_json(*args, "-d", "link", "show", "dev", name)[0]


def names(netns: str) -> set[str]:
    return {entry["ifname"] for entry in ip_json("-n", netns, "link", "show")}


def run_sequence(run_module, args):
    """check -> apply -> idempotent check -> idempotent apply."""
    results = [
        run_module(netns_link, args, check_mode=True, diff=True),
        run_module(netns_link, args, diff=True),
        run_module(netns_link, args, check_mode=True, diff=True),
        run_module(netns_link, args, diff=True),
    ]
    assert [failed for failed, _result in results] == [False] * 4, results
    return [result for _failed, result in results]


def test_veth_into_a_bridge_with_a_mac(lab, run_module):
    bng, access = lab.ns("bng"), lab.ns("acc")
    for name in (bng, access):
        ip("netns", "add", name)
    failed, bridge = run_module(netns_link, {"name": "br-access", "namespace": access, "type": "bridge"})
    assert not failed and bridge["changed"], bridge
    args = {
        "name": "access",
        "namespace": bng,
        "mac": "02:00:00:00:0B:01",
        "mtu": 1492,
        "peer": {"name": "bng", "namespace": access, "master": "br-access"},
    }
    check, apply, check2, apply2 = run_sequence(run_module, args)
    assert [r["changed"] for r in (check, apply, check2, apply2)] == [True, True, False, False]
    assert check["actions"][0] == f"create veth {bng}:access <-> {access}:bng"
    assert names(bng) == {"lo", "access"}, "check mode created something"
    assert apply["link"] == {
        "kind": "veth",
        "mac": "02:00:00:00:0b:01",
        "mtu": 1492,
        "master": None,
        "up": True,
    }
    assert apply["peer"]["master"] == "br-access"
    assert link(bng, "access")["address"] == "02:00:00:00:0b:01"
    assert link(access, "bng")["master"] == "br-access"
    assert apply2["diff"]["before"] == apply2["diff"]["after"]

    # A new MAC on the existing pair: set in place, same interface.
    index = link(bng, "access")["ifindex"]
    failed, moved = run_module(netns_link, dict(args, mac="02:00:00:00:0b:02"), diff=True)
    assert not failed and moved["actions"] == [
        f"set {bng}:access: mac 02:00:00:00:0b:01 -> 02:00:00:00:0b:02"
    ]
    assert moved["diff"]["before"]["link"]["mac"] == "02:00:00:00:0b:01"
    assert link(bng, "access")["ifindex"] == index

    # Out of the bridge, and down.
    failed, out = run_module(
        netns_link, dict(args, mac=None, peer={"name": "bng", "namespace": access, "master": "", "up": False})
    )
    assert not failed and out["changed"], out
    assert "master" not in link(access, "bng")
    assert "UP" not in link(access, "bng")["flags"]

    failed, gone = run_module(netns_link, {"name": "access", "namespace": bng, "state": "absent"})
    assert not failed and gone["actions"] == [f"remove veth {bng}:access"]
    assert names(bng) == {"lo"} and names(access) == {"lo", "br-access"}, "the peer goes with its end"


def test_veth_with_one_end_in_the_root_namespace(lab, run_module):
    name = lab.ns("n")
    ip("netns", "add", name)
    root_end = lab.ifname("h")
    check, apply, check2, apply2 = run_sequence(
        run_module, {"name": "up", "namespace": name, "peer": {"name": root_end}}
    )
    assert [r["changed"] for r in (check, apply, check2, apply2)] == [True, True, False, False]
    assert link(None, root_end)["link_netnsid"] is not None
    assert "UP" in link(None, root_end)["flags"]


def test_bridge_members_and_a_macvlan(lab, run_module):
    name = lab.ns("n")
    ip("netns", "add", name)
    ip("-n", name, "link", "add", "p0", "type", "veth", "peer", "name", "p1")
    check, apply, check2, apply2 = run_sequence(
        run_module, {"name": "br0", "namespace": name, "type": "bridge", "members": ["p0"], "mtu": 1400}
    )
    assert [r["changed"] for r in (check, apply, check2, apply2)] == [True, True, False, False]
    assert link(name, "p0")["master"] == "br0"
    assert link(name, "br0")["mtu"] == 1400

    macvlan = {
        "name": "ac0",
        "namespace": name,
        "type": "macvlan",
        "parent": "p1",
        "mac": "02:00:00:00:0b:01",
    }
    check, apply, check2, apply2 = run_sequence(run_module, macvlan)
    assert [r["changed"] for r in (check, apply, check2, apply2)] == [True, True, False, False]
    info = link(name, "ac0")
    assert info["linkinfo"]["info_kind"] == "macvlan"
    assert info["linkinfo"]["info_data"]["mode"] == "bridge"
    assert info["address"] == "02:00:00:00:0b:01"
    # Another mode is another macvlan: recreated.
    failed, private = run_module(netns_link, dict(macvlan, mode="private"))
    assert not failed and private["actions"][0] == f"remove {name}:ac0 (other parent or mode)"
    assert link(name, "ac0")["linkinfo"]["info_data"]["mode"] == "private"


def test_a_name_taken_by_another_kind_fails_and_stays(lab, run_module):
    name = lab.ns("n")
    ip("netns", "add", name)
    ip("-n", name, "link", "add", "br0", "type", "bridge")
    failed, result = run_module(netns_link, {"name": "br0", "namespace": name, "peer": {"name": "x"}})
    assert failed
    assert result["msg"] == f"{name}:br0 exists as bridge, not veth; remove or rename it, or change the name"
    failed, result = run_module(
        netns_link, {"name": "br0", "namespace": name, "type": "veth", "state": "absent"}
    )
    assert failed
    assert link(name, "br0")["linkinfo"]["info_kind"] == "bridge"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            {"name": "a-name-too-long-x", "peer": {"name": "p"}},
            "name: interface name 'a-name-too-long-x' is 17 bytes",
        ),
        (
            {"name": "v0", "peer": {"name": "p"}, "mac": "01:00:5e:00:00:01"},
            "mac: '01:00:5e:00:00:01' is a group",
        ),
        ({"name": "v0", "peer": {"name": "p", "mac": "zz"}}, "peer.mac: 'zz' is not a MAC address"),
        ({"name": "v0", "peer": {"name": "p"}, "mtu": 10}, "mtu: mtu 10 is outside 68..65535"),
        ({"name": "v0"}, "type=veth needs peer"),
        ({"name": "m0", "type": "macvlan"}, "type=macvlan needs parent"),
        (
            {"name": "v0", "peer": {"name": "p"}, "namespace": "../x"},
            "namespace: '../x' is not a namespace name",
        ),
    ],
)
def test_bad_input_is_refused_before_any_change(run_module, args, message):
    failed, result = run_module(netns_link, args)
    assert failed
    assert message in result["msg"]

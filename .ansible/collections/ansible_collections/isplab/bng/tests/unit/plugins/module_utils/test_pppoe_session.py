# SPDX-License-Identifier: GPL-3.0-or-later
"""The client side of a PPPoE session, from the recorded /proc/net/pppoe of a real pppd client."""

from __future__ import annotations

import socket

from ansible_collections.isplab.bng.plugins.module_utils._pppoe_kernel import parse_proc_net_pppoe
from ansible_collections.isplab.bng.plugins.module_utils._pppoe_session import ARPHRD_PPP, summarise

ETHER = 1
LINKS = [
    {"index": 1, "name": "lo", "type": 772, "up": True},
    {"index": 2, "name": "access", "type": ETHER, "up": True},
    {"index": 3, "name": "ppp0", "type": ARPHRD_PPP, "up": True},
]
ADDRESSES = [
    {"index": 1, "family": socket.AF_INET, "local": "127.0.0.1", "peer": None},
    {"index": 3, "family": socket.AF_INET, "local": "100.64.0.11", "peer": "100.64.0.1"},
    {"index": 3, "family": socket.AF_INET6, "local": "2001:db8:110:1::2", "peer": None},
    {
        "index": 3,
        "family": socket.AF_INET6,
        "local": "fe80::884d:c0fc:1ac4:6c7",
        "peer": "fe80::2431:d7a2:ed46:119c",
    },
    {"index": 2, "family": socket.AF_INET6, "local": "fe80::ff:fe00:c001", "peer": None},
]


def client_sessions(fixture_path):
    return parse_proc_net_pppoe(fixture_path("proc-net-pppoe-client.txt").read_text(), "little")


def test_an_established_session(fixture_path):
    info = summarise("cpe1", True, client_sessions(fixture_path), LINKS, ADDRESSES)
    assert info == {
        "namespace": "cpe1",
        "exists": True,
        "up": True,
        "interface": "ppp0",
        "ipv4": ["100.64.0.11"],
        "gateway": "100.64.0.1",
        "ipv6": ["fe80::884d:c0fc:1ac4:6c7", "2001:db8:110:1::2"],
        "ac_mac": "02:00:00:00:0b:01",
        "session_id": 1,
        "pppoe_interface": "eth0",
    }


def test_ppp_interface_not_up_yet(fixture_path):
    links = [dict(link, up=False) if link["name"] == "ppp0" else link for link in LINKS]
    info = summarise("cpe1", True, client_sessions(fixture_path), links, ADDRESSES)
    assert info["up"] is False
    assert info["ac_mac"] == "02:00:00:00:0b:01"


def test_no_kernel_session():
    info = summarise("cpe1", True, [], LINKS, ADDRESSES)
    assert info["up"] is False and info["ac_mac"] is None and info["session_id"] is None
    assert info["interface"] == "ppp0"


def test_no_ppp_interface(fixture_path):
    info = summarise("cpe1", True, client_sessions(fixture_path), LINKS[:2], ADDRESSES)
    assert info["up"] is False
    assert info["interface"] is None and info["ipv4"] == [] and info["gateway"] is None and info["ipv6"] == []


def test_missing_namespace():
    info = summarise("cpe9", False, [], [], [])
    assert info["exists"] is False and info["up"] is False

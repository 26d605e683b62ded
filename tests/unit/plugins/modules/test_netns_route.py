# SPDX-License-Identifier: GPL-3.0-or-later
"""isplab.bng.netns_route against the real kernel: default, via, dev-only, replace, remove."""

from __future__ import annotations

import pytest

from ansible_collections.isplab.bng.plugins.modules import netns_route
from ansible_collections.isplab.bng.tests.unit.plugins.modules.netns_fixtures import ip, ip_json, netns_lab


@pytest.fixture
def lab():
    yield from netns_lab()


@pytest.fixture
def ns(lab):
    """A namespace with x0 up on 192.0.2.1/24 and 2001:db8::1/64 (no DAD)."""
    name = lab.ns("r")
    ip("netns", "add", name)
    ip("-n", name, "link", "add", "x0", "type", "veth", "peer", "name", "x1")
    ip("-n", name, "link", "set", "x0", "up")
    ip("-n", name, "link", "set", "x1", "up")
    ip("-n", name, "addr", "add", "192.0.2.1/24", "dev", "x0")
    ip("-n", name, "addr", "add", "2001:db8::1/64", "dev", "x0", "nodad")
    return name


def route_get(netns: str, address: str) -> dict:
    return ip_json("-n", netns, "route", "get", address)[0]


def test_default_routes_both_families(ns, run_module):
    for args, probe, gateway in [
        ({"namespace": ns, "to": "default", "via": "192.0.2.254"}, "198.51.100.1", "192.0.2.254"),
        ({"namespace": ns, "to": "default", "via": "2001:db8::fe"}, "2001:db8:ffff::1", "2001:db8::fe"),
    ]:
        results = [
            run_module(netns_route, args, check_mode=True, diff=True),
            run_module(netns_route, args, diff=True),
            run_module(netns_route, args, check_mode=True),
            run_module(netns_route, args),
        ]
        assert [failed for failed, _result in results] == [False] * 4, results
        assert [r["changed"] for _failed, r in results] == [True, True, False, False]
        assert route_get(ns, probe)["gateway"] == gateway
    assert results[1][1]["route"] == {"to": "::/0", "via": "2001:db8::fe", "dev": None, "metric": 1024}
    assert results[1][1]["diff"]["after"]["dev"] == "x0"


def test_replace_the_gateway_then_remove(ns, run_module):
    args = {"namespace": ns, "to": "64:ff9b::/96", "via": "2001:db8::fe"}
    assert not run_module(netns_route, args)[0]
    failed, replaced = run_module(netns_route, dict(args, via="2001:db8::fd"), diff=True)
    assert not failed
    assert replaced["actions"] == [f"replace route 64:ff9b::/96 via 2001:db8::fd metric 1024 in {ns}"]
    assert replaced["diff"]["before"]["via"] == "2001:db8::fe"
    assert route_get(ns, "64:ff9b::c633:640a")["gateway"] == "2001:db8::fd"
    # Another metric is another route.
    failed, second = run_module(netns_route, dict(args, metric=10))
    assert not failed and second["changed"]
    assert route_get(ns, "64:ff9b::1")["gateway"] == "2001:db8::fe"
    failed, gone = run_module(
        netns_route, {"namespace": ns, "to": "64:ff9b::/96", "metric": 10, "state": "absent"}
    )
    assert not failed and gone["changed"]
    assert route_get(ns, "64:ff9b::1")["gateway"] == "2001:db8::fd"


def test_route_out_of_an_interface(ns, run_module):
    args = {"namespace": ns, "to": "10.0.0.0/8", "dev": "x0"}
    failed, result = run_module(netns_route, args)
    assert not failed and result["changed"]
    answer = route_get(ns, "10.1.2.3")
    assert answer["dev"] == "x0" and "gateway" not in answer
    assert not run_module(netns_route, args)[1]["changed"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"to": "default", "dev": "x0"}, "'default' needs a gateway (via)"),
        ({"to": "10.0.0.1/8", "via": "192.0.2.254"}, "has host bits set"),
        ({"to": "::/0", "via": "192.0.2.254"}, "gateway 192.0.2.254 is IPv4 but to ::/0 is IPv6"),
        ({"to": "::/0", "via": "fe80::1"}, "the link-local gateway fe80::1 needs dev"),
        ({"to": "10.0.0.0/8"}, "a route needs via (a gateway), dev (an interface) or both"),
        ({"to": "10.0.0.0/8", "via": "10.1"}, "'10.1' is not an IP address"),
    ],
)
def test_bad_input_is_refused(ns, run_module, args, message):
    failed, result = run_module(netns_route, dict(args, namespace=ns))
    assert failed
    assert message in result["msg"]


def test_unreachable_gateway_is_the_kernel_s_error_naming_the_route(ns, run_module):
    failed, result = run_module(netns_route, {"namespace": ns, "to": "10.0.0.0/8", "via": "198.51.100.1"})
    assert failed
    assert result["msg"] == f"add route 10.0.0.0/8 via 198.51.100.1 metric 0 in {ns}: Network is unreachable"

# SPDX-License-Identifier: GPL-3.0-or-later
"""The topology model: validation (every error, naming its entry), plan order, removals, probes."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.isplab.bng.plugins.module_utils._topology import (
    describe,
    load,
    plan,
    removals,
    teardown_plan,
    validate,
)
from ansible_collections.isplab.bng.plugins.module_utils._topology_checks import (
    TopologyError,
    check_mac,
    sysctl_path,
)
from ansible_collections.isplab.bng.plugins.module_utils._topology_probes import probes


def small() -> dict:
    """Three namespaces: a and c on bridge br0 in b, plus a route and sysctls."""
    return {
        "hosts": {
            "a": {
                "sysctls": {"net.ipv6.conf.default.accept_dad": 0, "net.ipv6.conf.x.accept_ra": 0},
                "routes": [{"to": "default", "via": "192.0.2.3"}],
            },
            "b": {"sysctls": {"net.ipv4.ip_forward": 1}},
            "c": None,
        },
        "bridges": [{"name": "br0", "namespace": "b", "addresses": ["192.0.2.2/24"]}],
        "links": [
            {
                "ends": [
                    {"name": "x", "namespace": "a", "addresses": ["192.0.2.1/24", "2001:db8::1/64"]},
                    {"name": "a", "namespace": "b", "bridge": "br0"},
                ]
            },
            {
                "ends": [
                    {
                        "name": "x",
                        "namespace": "c",
                        "addresses": ["192.0.2.3/24"],
                        "mac": "02:00:00:00:00:03",
                    },
                    {"name": "c", "namespace": "b", "bridge": "br0"},
                ]
            },
        ],
    }


def errors_of(model) -> list[str]:
    errors, _model = validate(model)
    return errors


def test_the_model_is_refused_with_every_error_at_once():
    model = small()
    model["links"][0]["ends"][0]["name"] = "x-very-long-name"
    model["links"][1]["ends"][0]["mac"] = "02:00:00:00:00"
    model["bridges"][0]["addresses"] = ["10.1/8"]
    with pytest.raises(TopologyError) as caught:
        load(model)
    assert len(caught.value.errors) == 4, caught.value.errors
    text = "\n".join(caught.value.errors)
    # The renamed interface no longer exists for the sysctl that names it.
    assert "hosts.a.sysctls.net.ipv6.conf.x.accept_ra: interface 'x' is not declared in a" in text
    assert "links[0].ends[0].name: interface name 'x-very-long-name' is 16 bytes" in text
    assert "links[1].ends[0] (c:x).mac: '02:00:00:00:00' is not a MAC address" in text
    assert "bridges[0] (b:br0).addresses[0]: '10.1/8' is not an address" in text


def _set(path: str, value):
    """A mutation of small(): dotted path, list indexes as numbers."""

    def mutate(model: dict) -> None:
        *parents, last = path.split(".")
        node = model
        for key in parents:
            node = node[int(key)] if key.isdigit() else node[key]
        node[int(last) if last.isdigit() else last] = value

    return mutate


@pytest.mark.parametrize(
    ("mutation", "expected"),
    [
        pytest.param(
            _set("links.0.ends.0.name", "abcdefghijklmnop"),
            "links[0].ends[0].name: interface name 'abcdefghijklmnop' is 16 bytes, the kernel allows 15",
            id="ifname-too-long",
        ),
        pytest.param(
            _set("links.0.ends.0.name", "a/b"),
            "links[0].ends[0].name: 'a/b' is not an interface name",
            id="ifname-slash",
        ),
        pytest.param(
            _set("bridges.0.name", "all"),
            "bridges[0].name: interface name 'all' clashes with /proc/sys/net/ipv*/conf/all",
            id="ifname-all",
        ),
        pytest.param(
            _set("links.1.ends.0.mac", "02:00:00:00:00:0g"),
            "links[1].ends[0] (c:x).mac: '02:00:00:00:00:0g' is not a MAC address",
            id="mac-not-hex",
        ),
        pytest.param(
            _set("links.1.ends.0.mac", "1"),
            "links[1].ends[0] (c:x).mac: '1' is not a MAC address",
            id="mac-one",
        ),
        pytest.param(
            _set("links.1.ends.0.mac", "01:00:5e:00:00:01"),
            "links[1].ends[0] (c:x).mac: '01:00:5e:00:00:01' is a group (multicast) address",
            id="mac-multicast",
        ),
        pytest.param(
            _set("links.0.ends.0.addresses", ["192.0.2.1"]),
            "links[0].ends[0] (a:x).addresses[0]: '192.0.2.1' is not an address with a prefix length",
            id="address-no-prefix",
        ),
        pytest.param(
            _set("links.0.ends.0.addresses", ["192.0.2.300/24"]),
            "links[0].ends[0] (a:x).addresses[0]: '192.0.2.300/24' is not an address",
            id="address-octet",
        ),
        pytest.param(
            _set("links.0.ends.0.addresses", ["10.1/8"]),
            "links[0].ends[0] (a:x).addresses[0]: '10.1/8' is not an address",
            id="address-inet-aton-form",
        ),
        pytest.param(
            _set("links.0.ends.0.addresses", ["ff02::1/64"]),
            "links[0].ends[0] (a:x).addresses[0]: 'ff02::1/64' is not a unicast address",
            id="address-multicast",
        ),
        pytest.param(
            _set("links.0.ends.0.namespace", "z"),
            "links[0].ends[0] (z:x): namespace 'z' is not declared under hosts",
            id="namespace-undeclared",
        ),
        pytest.param(
            _set("links.1.ends.0.namespace", "a"),
            "links[1].ends[0] (a:x): a:x is already declared by links[0].ends[0] (a:x)",
            id="duplicate-ifname",
        ),
        pytest.param(
            _set("links.1.ends.1.name", "a"),
            "links[1].ends[1] (b:a): b:a is already declared by links[0].ends[1] (b:a)",
            id="duplicate-end-name",
        ),
        pytest.param(
            _set("links.0.ends.1.bridge", "br9"),
            "links[0].ends[1] (b:a).bridge: no bridge 'br9' is declared in the same namespace (b:br9)",
            id="bridge-undeclared",
        ),
        pytest.param(
            _set("links.1.ends", [{"name": "x", "namespace": "c"}]),
            "links[1].ends: a veth pair has exactly two ends, got 1",
            id="veth-one-end",
        ),
        pytest.param(
            _set("links.0.type", "vxlan"), "links[0].type: 'vxlan' is not a link type", id="link-type-unknown"
        ),
        pytest.param(
            _set("links.0.ends.0.colour", "red"), "links[0].ends[0]: unknown key(s) colour", id="unknown-key"
        ),
        pytest.param(
            _set("links.0.ends.0.mtu", 1000),
            "links[0].ends[0] (a:x): IPv6 address 2001:db8::1/64 needs mtu >= 1280, got 1000",
            id="mtu-too-small-for-ipv6",
        ),
        pytest.param(
            _set("links.0.ends.0.mtu", 70000), "links[0].ends[0] (a:x).mtu: mtu 70000 is outside", id="mtu"
        ),
        pytest.param(
            _set("hosts.a.loopback", ["192.0.2.1/32"]),
            "links[0].ends[0] (a:x): address 192.0.2.1 is already declared by hosts.a (lo)",
            id="duplicate-address",
        ),
        pytest.param(
            _set("links.0.ends.0.mac", "02:00:00:00:00:03"),
            "links[1].ends[0] (c:x): MAC 02:00:00:00:00:03 is already used on the same segment by links[0]",
            id="duplicate-mac-on-segment",
        ),
        pytest.param(
            _set("hosts.a.routes", [{"to": "default", "dev": "x"}]),
            "hosts.a.routes[0].to: 'default' needs a gateway (via) to tell IPv4 from IPv6",
            id="route-default-without-via",
        ),
        pytest.param(
            _set("hosts.a.routes", [{"to": "192.0.2.1/24", "via": "192.0.2.3"}]),
            "hosts.a.routes[0].to: '192.0.2.1/24' is not a prefix: 192.0.2.1/24 has host bits set",
            id="route-host-bits",
        ),
        pytest.param(
            _set("hosts.a.routes", [{"to": "::/0", "via": "192.0.2.3"}]),
            "hosts.a.routes[0]: gateway 192.0.2.3 is IPv4 but the destination ::/0 is IPv6",
            id="route-family",
        ),
        pytest.param(
            _set("hosts.a.routes", [{"to": "::/0", "via": "fe80::1"}]),
            "hosts.a.routes[0]: the link-local gateway fe80::1 needs dev",
            id="route-link-local-without-dev",
        ),
        pytest.param(
            _set("hosts.a.routes", [{"to": "::/0", "dev": "ppp0"}]),
            "hosts.a.routes[0].dev: interface 'ppp0' is not declared in a",
            id="route-dev-undeclared",
        ),
        pytest.param(
            _set("hosts.a.routes", [{"to": "10.0.0.0/8"}]),
            "hosts.a.routes[0]: a route needs via (a gateway), dev (an interface) or both",
            id="route-nowhere",
        ),
        pytest.param(
            _set("hosts.a.routes", [{"to": "default", "via": "192.0.2.3"}, {"to": "0.0.0.0/0", "dev": "x"}]),
            "hosts.a.routes[1]: route to 0.0.0.0/0 metric 0 is already declared by hosts.a.routes[0]",
            id="route-duplicate",
        ),
        pytest.param(
            _set("hosts.a.sysctls", {"kernel.hostname": "x"}),
            "hosts.a.sysctls.kernel.hostname: 'kernel.hostname' is not per network namespace",
            id="sysctl-not-net",
        ),
        pytest.param(
            _set("hosts.a.sysctls", {"net.ipv4.conf.ppp0.rp_filter": 0}),
            "hosts.a.sysctls.net.ipv4.conf.ppp0.rp_filter: interface 'ppp0' is not declared in a",
            id="sysctl-undeclared-interface",
        ),
        pytest.param(
            _set("hosts.a.sysctls", {"net/../kernel/x": 1}),
            "hosts.a.sysctls.net/../kernel/x: 'net/../kernel/x' is not a sysctl name",
            id="sysctl-path-traversal",
        ),
        pytest.param(
            _set("hosts.a.sysctls", {"net.ipv4.ip_forward": True}),
            "hosts.a.sysctls.net.ipv4.ip_forward: a sysctl value must be an integer or a string, got True",
            id="sysctl-bool",
        ),
        pytest.param(
            _set("hosts.a/b", {}), "hosts.a/b: 'a/b' is not a namespace name", id="namespace-name-with-slash"
        ),
    ],
)
def test_each_bad_input_is_refused_naming_its_entry(mutation, expected):
    model = small()
    assert errors_of(model) == []
    mutation(model)
    errors = errors_of(model)
    assert any(expected in error for error in errors), errors


def test_a_macvlan_parent_must_be_declared_and_not_a_bridge_port():
    model = small()
    model["links"].append({"type": "macvlan", "name": "mv0", "namespace": "b", "parent": "a"})
    model["links"].append({"type": "macvlan", "name": "mv1", "namespace": "a", "parent": "eth9"})
    errors = errors_of(model)
    assert any("links[2] (b:mv0).parent: b:a is a port of bridge br0" in e for e in errors), errors
    assert any("links[3] (a:mv1).parent: a:eth9 is not declared" in e for e in errors), errors


def test_a_macvlan_in_the_root_namespace_may_sit_on_a_host_nic():
    model = {"links": [{"type": "macvlan", "name": "mv0", "parent": "eth0", "mode": "bridge"}]}
    assert errors_of(model) == []
    assert plan(model)[0] == {
        "kind": "macvlan",
        "netns": None,
        "name": "mv0",
        "parent": "eth0",
        "mode": "bridge",
    }


def test_an_unreachable_gateway_is_a_warning_not_an_error():
    model = small()
    model["hosts"]["a"]["routes"] = [{"to": "default", "via": "198.51.100.1"}]
    errors, warnings = validate(model)
    assert errors == []
    assert warnings == [
        "hosts.a.routes[0]: gateway 198.51.100.1 is not inside any address declared in the namespace; the "
        "kernel refuses the route unless something else gives the namespace an address on that network"
    ]


def test_plan_order():
    resources = plan(small())
    kinds = [r["kind"] for r in resources]
    first = {kind: kinds.index(kind) for kind in set(kinds)}
    last = {kind: len(kinds) - 1 - kinds[::-1].index(kind) for kind in set(kinds)}
    # namespaces, then the namespace-wide sysctls, then links, interface sysctls, properties,
    # addresses and routes.
    assert last["netns"] < first["sysctl"] < first["bridge"] < first["veth"]
    assert last["veth"] < first["link"] < first["address"] < first["route"]
    sysctls = [(i, r["name"]) for i, r in enumerate(resources) if r["kind"] == "sysctl"]
    accept_dad = next(i for i, name in sysctls if name == "net.ipv6.conf.default.accept_dad")
    accept_ra = next(i for i, name in sysctls if name == "net.ipv6.conf.x.accept_ra")
    assert accept_dad < first["bridge"], "default.* must be set before the interfaces that inherit it"
    assert last["veth"] < accept_ra < first["link"], "a per-interface sysctl needs its interface"
    links = [r["name"] for r in resources if r["kind"] == "link"]
    assert links.index("br0") < links.index("a"), "a bridge comes up before its ports join"
    sysctl = {"kind": "sysctl", "netns": "a", "name": "net.ipv6.conf.x.accept_ra", "value": "0"}
    assert dict(sysctl, path="net/ipv6/conf/x/accept_ra") in resources


def test_plan_links_and_properties():
    resources = plan(small())
    assert {"kind": "veth", "netns": "a", "name": "x", "peer_netns": "b", "peer": "a"} in resources
    assert {
        "kind": "link",
        "netns": "b",
        "name": "a",
        "mac": None,
        "mtu": None,
        "master": "br0",
        "up": True,
    } in resources
    # An end without a bridge is taken out of any bridge; lo is brought up in every namespace.
    assert {
        "kind": "link",
        "netns": "a",
        "name": "x",
        "mac": None,
        "mtu": None,
        "master": "",
        "up": True,
    } in resources
    assert {
        "kind": "link",
        "netns": "c",
        "name": "lo",
        "mac": None,
        "mtu": None,
        "master": None,
        "up": True,
    } in resources
    assert {
        "kind": "route",
        "netns": "a",
        "to": "0.0.0.0/0",
        "via": "192.0.2.3",
        "dev": None,
        "metric": 0,
        "family": 4,
    } in resources


def test_removals_list_what_the_new_model_no_longer_declares():
    before = small()
    after = copy.deepcopy(before)
    after["links"][0]["ends"][0]["addresses"] = ["192.0.2.11/24"]
    after["links"][0]["ends"][0]["mac"] = "02:00:00:00:00:01"
    del after["links"][1]
    del after["hosts"]["c"]
    gone = removals(plan(before), plan(after))
    assert [describe(r) for r in gone] == [
        "address 192.0.2.1/24 on a:x",
        "address 2001:db8::1/64 on a:x",
        "veth c:x <-> b:c",
        "namespace c",
    ]
    # A MAC change is applied in place: no link is removed for it.
    assert not any(r["kind"] == "veth" and r["name"] == "x" and r["netns"] == "a" for r in gone)


def test_removals_skip_what_goes_with_its_namespace():
    before = small()
    after = copy.deepcopy(before)
    del after["hosts"]["a"]
    del after["links"][0]
    del after["hosts"]["b"]
    del after["bridges"][0]
    del after["links"][0]
    del after["hosts"]["c"]
    gone = removals(plan(before), plan(after))
    assert [describe(r) for r in gone] == ["namespace a", "namespace b", "namespace c"]


def test_teardown_removes_root_namespace_links_before_namespaces():
    model = {
        "hosts": {"n": {}},
        "bridges": [{"name": "brh"}],
        "links": [{"ends": [{"name": "h0", "bridge": "brh"}, {"name": "n0", "namespace": "n"}]}],
    }
    assert [describe(r) for r in teardown_plan(plan(model))] == [
        "veth h0 (root namespace) <-> n:n0",
        "bridge brh (root namespace)",
        "namespace n",
    ]


@pytest.mark.parametrize(
    ("key", "path", "ifname"),
    [
        ("net.ipv6.conf.all.forwarding", "net/ipv6/conf/all/forwarding", None),
        ("net.ipv4.ip_forward", "net/ipv4/ip_forward", None),
        ("net.ipv6.conf.core.accept_ra", "net/ipv6/conf/core/accept_ra", "core"),
        ("net.ipv4.conf.eth0.100.rp_filter", "net/ipv4/conf/eth0.100/rp_filter", "eth0.100"),
        ("net/ipv4/conf/eth0.100/rp_filter", "net/ipv4/conf/eth0.100/rp_filter", "eth0.100"),
        ("net.ipv4.neigh.core.base_reachable_time_ms", "net/ipv4/neigh/core/base_reachable_time_ms", "core"),
    ],
)
def test_sysctl_names(key, path, ifname):
    assert sysctl_path(key) == (path, ifname)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("02:00:00:00:0B:01", "02:00:00:00:0b:01"), ("02-00-00-00-0b-01", "02:00:00:00:0b:01")],
)
def test_macs_are_normalised(value, expected):
    assert check_mac(value) == expected


@pytest.mark.parametrize("value", ["02:00:00:00:0b:01\n", "02:00-00:00:0b:01", "00:00:00:00:00:00", 2, None])
def test_macs_refused(value):
    with pytest.raises(TopologyError):
        check_mac(value)


def test_probes_leave_out_a_macvlan_and_its_parent():
    model = small()
    model["links"].append(
        {"type": "macvlan", "name": "mv0", "namespace": "a", "parent": "x", "addresses": ["192.0.2.9/24"]}
    )
    pairs = {
        (p["dev"], p["target_dev"]) for p in probes(model)["links"] if p["netns"] == p["target_netns"] == "a"
    }
    assert ("mv0", "x") not in pairs
    assert ("x", "mv0") not in pairs
    assert any(p["dev"] == "mv0" and p["address"] == "192.0.2.3" for p in probes(model)["links"])

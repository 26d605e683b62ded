# SPDX-License-Identifier: GPL-3.0-or-later
"""The jool role's filters: what they refuse, the JSON they build, restarts, the ephemeral-port plan."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.isplab.bng.plugins.filter.jool import GLOBAL_DEFAULTS, FilterModule

FILTERS = FilterModule().filters()
jool_errors = FILTERS["jool_errors"]
jool_file = FILTERS["jool_file"]
jool_restart = FILTERS["jool_restart"]
jool_sysctls = FILTERS["jool_sysctls"]

LAB_VARS = Path(__file__).resolve().parents[4] / "inventories" / "lab" / "group_vars" / "all" / "jool.yml"
DEFAULT_READING = "1\n1\n32768\t60999"

NAT64 = {
    "name": "nat64",
    "type": "nat64",
    "namespace": "nat64",
    "pool6": "64:ff9b::/96",
    "pool4": [
        {"protocol": "TCP", "prefix": "203.0.113.1/32", "ports": "61001-65535"},
        {
            "protocol": "udp",
            "prefix": "203.0.113.1",
            "ports": "61001-65535",
            "mark": 7,
            "max_iterations": "auto",
        },
        {"protocol": "ICMP", "prefix": "203.0.113.1/32"},
    ],
}
CLAT = {
    "name": "clat",
    "type": "siit",
    "namespace": "clat",
    "pool6": "64:ff9b::/96",
    "eamt": [{"ipv6": "2001:db8:100:464::2", "ipv4": "192.0.0.2/32"}],
    "denylist4": ["192.0.0.0/29"],
}


def with_changes(instance: dict, **changes) -> dict:
    result = copy.deepcopy(instance)
    result.update(changes)
    return result


def test_the_lab_inventory_is_valid():
    instances = yaml.safe_load(LAB_VARS.read_text())["jool_instances"]
    assert jool_errors(instances) == []
    assert {i["name"] for i in instances} == {"nat64", "clat"}


def test_good_instances_have_no_errors():
    assert jool_errors([NAT64, CLAT]) == []


@pytest.mark.parametrize(
    ("instance", "expected"),
    [
        # EAMT: suffixes of different lengths (Jool 4.1.9 would take it), overlaps, host bits.
        (
            with_changes(CLAT, eamt=[{"ipv6": "2001:db8:100:464::/120", "ipv4": "192.0.0.2/32"}]),
            "eamt[0]: 2001:db8:100:464::/120 and 192.0.0.2/32 have suffixes of different lengths (8 and 0",
        ),
        (
            with_changes(CLAT, eamt=[{"ipv6": "2001:db8::/64", "ipv4": "192.0.0.0/24"}]),
            "an IPv6 prefix shorter than /96 has no IPv4 counterpart",
        ),
        (
            with_changes(
                CLAT,
                eamt=[
                    {"ipv6": "2001:db8::/120", "ipv4": "192.0.2.0/24"},
                    {"ipv6": "2001:db8::5", "ipv4": "198.51.100.1"},
                ],
            ),
            "eamt[1]: the IPv6 prefix 2001:db8::5/128 overlaps 2001:db8::/120 of eamt[0]",
        ),
        (
            with_changes(
                CLAT,
                eamt=[
                    {"ipv6": "2001:db8::/120", "ipv4": "192.0.2.0/24"},
                    {"ipv6": "2001:db9::5", "ipv4": "192.0.2.1"},
                ],
            ),
            "eamt[1]: the IPv4 prefix 192.0.2.1/32 overlaps 192.0.2.0/24 of eamt[0]",
        ),
        (
            with_changes(CLAT, eamt=[{"ipv6": "2001:db8::1/120", "ipv4": "192.0.2.0/24"}]),
            "eamt[0]: ipv6: '2001:db8::1/120' has bits set after its length /120: did you mean 2001:db8::/1",
        ),
        (
            with_changes(CLAT, eamt=[{"ipv6": "192.0.2.1", "ipv4": "192.0.2.1"}]),
            "eamt[0]: ipv6: '192.0.2.1' is not an IPv6",
        ),
        (with_changes(CLAT, eamt=[{"ipv6": "2001:db8::1"}]), "eamt[0]: ipv4: None is not an IPv4 prefix"),
        (
            with_changes(CLAT, eamt=[{"v6": "2001:db8::1", "ipv6": "2001:db8::1", "ipv4": "192.0.2.1"}]),
            "unknown key 'v6'",
        ),
        (with_changes(CLAT, denylist4=["10.1"]), "denylist4[0]: '10.1' is not an IPv4 prefix"),
        # pool6: RFC 6052 (the nat64 filter's check), required for NAT64 only.
        (
            with_changes(NAT64, pool6="64:ff9b::/95"),
            "pool6: prefix '64:ff9b::/95': length 95 is not an RFC 6052",
        ),
        (with_changes(NAT64, pool6=None), "pool6 is required for a NAT64 instance"),
        (with_changes(NAT64, pool6="2001:db8:0:0:ff00::/96"), "bits 64 to 71"),
        # pool4.
        (
            with_changes(NAT64, pool4=[{"protocol": "SCTP", "prefix": "203.0.113.1"}]),
            "protocol 'SCTP' is not one of",
        ),
        (
            with_changes(NAT64, pool4=[{"protocol": "TCP", "prefix": "203.0.113.1/30"}]),
            "did you mean 203.0.113.0/30?",
        ),
        (with_changes(NAT64, pool4=[{"protocol": "TCP"}]), "pool4[0]: prefix is required"),
        (
            with_changes(NAT64, pool4=[{"protocol": "TCP", "prefix": "203.0.113.1", "ports": "65535-61001"}]),
            "ports: '65535-61001' is not a port range",
        ),
        (
            with_changes(NAT64, pool4=[{"protocol": "TCP", "prefix": "203.0.113.1", "ports": "1-70000"}]),
            "ports: '1-70000' is not a port range",
        ),
        (
            with_changes(NAT64, pool4=[{"protocol": "TCP", "prefix": "203.0.113.1", "mark": 2**32}]),
            "mark: 4294967296 is not between 0 and 4294967295",
        ),
        (
            with_changes(
                NAT64, pool4=[{"protocol": "TCP", "prefix": "203.0.113.1", "max_iterations": "many"}]
            ),
            "max_iterations: 'many' is not auto, infinity or a whole number",
        ),
        # Keys of the other type, globals, names, frameworks, iptables arguments.
        (with_changes(NAT64, eamt=[]), "unknown key 'eamt' for a nat64 instance (SIIT only)"),
        (with_changes(CLAT, pool4=[]), "unknown key 'pool4' for a siit instance (NAT64 only)"),
        (
            with_changes(CLAT, **{"global": {"udp-timeout": "0:05:00"}}),
            "'udp-timeout' is not a global of Jool 4.1.9's siit",
        ),
        (
            with_changes(NAT64, **{"global": {"pool6": "64:ff9b::/96"}}),
            "global.pool6: set pool6 on the instance",
        ),
        (with_changes(NAT64, **{"global": {"trace": True}}), "'trace' is not a global"),
        (with_changes(NAT64, name="a-name-too-long-"), "name 'a-name-too-long-' is not 1 to 15"),
        (with_changes(NAT64, name="nat 64"), "name 'nat 64' is not 1 to 15"),
        (with_changes(NAT64, namespace="a/b"), "namespace 'a/b' is not a network namespace name"),
        (with_changes(NAT64, type="nat46"), "type 'nat46' is not one of nat64, siit"),
        (with_changes(NAT64, framework="ebpf"), "framework 'ebpf' is not one of netfilter, iptables"),
        (
            with_changes(NAT64, iptables={"ipv6": ["-d", "64:ff9b::/96"]}),
            "iptables is only for framework: iptables",
        ),
        (
            with_changes(NAT64, framework="iptables", iptables={"ipv4": ["-i", "eth0\nExecStart=/bin/sh"]}),
            "iptables.ipv4[1]: 'eth0\\nExecStart=/bin/sh' is not a plain iptables argument",
        ),
        (
            with_changes(
                NAT64, framework="iptables", iptables={"ipv4": ["-m", "comment", "--comment", "%i"]}
            ),
            "iptables.ipv4[3]: '%i' is not a plain iptables argument",
        ),
    ],
)
def test_errors_name_the_instance_the_field_and_the_value(instance, expected):
    errors = jool_errors([instance])
    assert any(expected in error for error in errors), errors
    assert all(error.startswith(f"jool_instances[0] ({instance['name']}): ") for error in errors)


def test_every_error_at_once_and_duplicate_names():
    bad = [
        with_changes(NAT64, pool6="64:ff9b::/95", pool4=[{"protocol": "SCTP", "prefix": "x"}]),
        with_changes(CLAT, name="nat64"),
    ]
    errors = jool_errors(bad)
    assert len(errors) == 4, errors
    assert errors[-1].startswith("jool_instances[1] (nat64): name 'nat64' is also jool_instances[0]")


@pytest.mark.parametrize("value", [None, "nat64", {"name": "x"}])
def test_errors_on_the_wrong_shape(value):
    errors = jool_errors(value if value is None or isinstance(value, str) else [value])
    assert errors


def test_nat64_file():
    content = jool_file(NAT64)
    assert content["instance"] == "nat64"
    assert content["framework"] == "netfilter"
    assert content["comment"] == {"isplab": {"type": "nat64", "namespace": "nat64", "iptables": None}}
    # Every global, so that `file handle` cannot keep a value the variables no longer set.
    assert set(content["global"]) == set(GLOBAL_DEFAULTS["nat64"]) | {"pool6"}
    assert content["global"]["pool6"] == "64:ff9b::/96"
    assert content["pool4"] == [
        {"protocol": "TCP", "prefix": "203.0.113.1/32", "port range": "61001-65535", "mark": 0},
        {
            "protocol": "UDP",
            "prefix": "203.0.113.1/32",
            "port range": "61001-65535",
            "mark": 7,
            "max-iterations": "auto",
        },
        {"protocol": "ICMP", "prefix": "203.0.113.1/32", "port range": "61001-65535", "mark": 0},
    ]
    assert "eamt" not in content


def test_siit_file_with_globals_and_iptables():
    instance = with_changes(
        CLAT,
        framework="iptables",
        iptables={"ipv4": ["-s", "192.0.0.0/29"]},
        **{"global": {"lowest-ipv6-mtu": 1500}},
    )
    content = jool_file(instance)
    assert content["global"]["lowest-ipv6-mtu"] == 1500
    assert content["global"]["rfc6791v4-prefix"] is None
    assert set(content["global"]) == set(GLOBAL_DEFAULTS["siit"]) | {"pool6"}
    assert content["eamt"] == [{"ipv6 prefix": "2001:db8:100:464::2/128", "ipv4 prefix": "192.0.0.2/32"}]
    assert content["denylist4"] == ["192.0.0.0/29"]
    assert content["comment"]["isplab"]["iptables"] == {"ipv6": [], "ipv4": ["-s", "192.0.0.0/29"]}
    assert "pool4" not in content


def test_siit_without_pool6_writes_null_and_empty_tables():
    content = jool_file({"name": "s", "type": "siit"})
    assert content["global"]["pool6"] is None
    assert content["eamt"] == []
    assert content["denylist4"] == []


def test_restart_reasons():
    new = jool_file(NAT64)
    assert jool_restart(new, None) == ""
    assert jool_restart(new, copy.deepcopy(new)) == ""
    changed_pool4 = jool_file(with_changes(NAT64, pool4=[]))
    assert jool_restart(changed_pool4, new) == ""
    assert jool_restart(jool_file(with_changes(NAT64, framework="iptables")), new) == (
        "iptables None -> {'ipv6': [], 'ipv4': []}, framework 'netfilter' -> 'iptables'"
    )
    assert jool_restart(jool_file(with_changes(NAT64, pool6="2001:db8:64::/96")), new) == (
        "pool6 '64:ff9b::/96' -> '2001:db8:64::/96'"
    )
    assert jool_restart(jool_file(with_changes(NAT64, namespace=None)), new) == "namespace 'nat64' -> None"
    # SIIT changes pool6 in place.
    siit = jool_file(CLAT)
    assert jool_restart(jool_file(with_changes(CLAT, pool6="2001:db8:64::/96")), siit) == ""
    # A file the role did not write (no comment) is restarted.
    assert "type None -> 'nat64'" in jool_restart(new, {"instance": "nat64", "framework": "netfilter"})


def plan(instances, policy="refuse", readings=None, wanted="32768-60999", min_ports=1024, forwarding=True):
    if readings is None:
        readings = {(i.get("namespace") or ""): DEFAULT_READING for i in instances}
    return jool_sysctls(instances, readings, policy, wanted, min_ports, forwarding)


def test_lab_needs_no_change_with_either_policy():
    for policy in ("refuse", "adjust"):
        result = plan([NAT64, CLAT], policy)
        assert [p["namespace"] for p in result] == ["nat64", "clat"]
        assert all(p["errors"] == [] for p in result)
        assert all(p["changes"] == [] for p in result)
    adjusted = plan([NAT64], "adjust")[0]["sysctls"]
    assert {"name": "net.ipv4.ip_local_port_range", "value": "32768 60999"} in adjusted


def test_forwarding_is_turned_on_where_it_is_off():
    result = plan([CLAT], readings={"clat": "0\n1\n32768\t60999"})[0]
    assert result["changes"] == [{"name": "net.ipv4.conf.all.forwarding", "value": "1"}]
    assert plan([CLAT], forwarding=False, readings={"clat": "0\n0\n32768\t60999"})[0]["sysctls"] == []


BUSY = with_changes(
    NAT64,
    pool4=[
        {"protocol": "TCP", "prefix": "203.0.113.1/32", "ports": "40000-50000"},
        {"protocol": "UDP", "prefix": "203.0.113.1/32", "ports": "40000-50000"},
        {"protocol": "ICMP", "prefix": "203.0.113.1/32", "ports": "40000-50000"},
    ],
)


def test_refuse_names_the_tcp_and_udp_entries_but_not_icmp():
    errors = plan([BUSY], "refuse")[0]["errors"]
    assert len(errors) == 2
    assert errors[0].startswith(
        "namespace nat64: nat64: pool4[0] TCP 203.0.113.1/32 40000-50000 overlaps "
        "net.ipv4.ip_local_port_range 32768-60999"
    )
    assert "pool4[1] UDP" in errors[1]


def test_refuse_compares_with_the_current_range():
    assert plan([BUSY], "refuse", readings={"nat64": "1\n1\n50001 60999"})[0]["errors"] == []


def test_an_empty_pool4_counts_as_jools_default_ports():
    errors = plan([with_changes(NAT64, pool4=[])], "refuse", readings={"nat64": "1\n1\n1024\t65535"})[0][
        "errors"
    ]
    assert "empty pool4 (Jool then uses ports 61001-65535)" in errors[0]


def test_adjust_takes_the_largest_free_piece():
    result = plan([BUSY], "adjust")[0]
    assert result["errors"] == []
    assert result["changes"] == [{"name": "net.ipv4.ip_local_port_range", "value": "50001 60999"}]


def test_adjust_is_the_same_whatever_the_current_range():
    assert plan([BUSY], "adjust", readings={"nat64": "1\n1\n50001\t60999"})[0]["changes"] == []


def test_adjust_refuses_to_leave_too_few_ports():
    greedy = with_changes(NAT64, pool4=[{"protocol": "UDP", "prefix": "203.0.113.1", "ports": "33000-60999"}])
    errors = plan([greedy], "adjust")[0]["errors"]
    assert "leave 232 ports of jool_ephemeral_range 32768-60999 in one piece" in errors[0]
    assert plan([greedy], "adjust", min_ports=200)[0]["changes"][0]["value"] == "32768 32999"


def test_instances_of_one_namespace_share_its_range():
    other = with_changes(
        BUSY, name="other", pool4=[{"protocol": "TCP", "prefix": "203.0.113.2", "ports": "50001-55000"}]
    )
    result = plan([BUSY, other], "adjust")
    assert len(result) == 1
    assert result[0]["changes"] == [{"name": "net.ipv4.ip_local_port_range", "value": "32768 39999"}]


def test_the_root_namespace_is_the_empty_name():
    result = plan([with_changes(BUSY, namespace=None)], "refuse")
    assert result[0]["namespace"] == ""
    assert result[0]["errors"][0].startswith("the root namespace: ")


@pytest.mark.parametrize(
    ("policy", "wanted", "message"),
    [
        ("ignore", "32768-60999", "'ignore' is not refuse or adjust"),
        ("adjust", "80-60999", "starts below 1024"),
        ("adjust", "60999-32768", "is not a port range"),
    ],
)
def test_bad_policy_settings(policy, wanted, message):
    with pytest.raises(AnsibleFilterError, match=message):
        plan([NAT64], policy, wanted=wanted)


def test_unexpected_sysctl_output():
    with pytest.raises(AnsibleFilterError, match="unexpected sysctl output in nat64"):
        plan([NAT64], readings={"nat64": "1\n32768 60999"})

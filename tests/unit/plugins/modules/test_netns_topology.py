# SPDX-License-Identifier: GPL-3.0-or-later
"""isplab.bng.netns_topology and the apply code behind it, against real network namespaces.

Skipped (with the reason) where namespaces cannot be made: not root, no iproute2, no veth.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ansible_collections.isplab.bng.plugins.module_utils import _netns
from ansible_collections.isplab.bng.plugins.module_utils._netns import NetnsError
from ansible_collections.isplab.bng.plugins.module_utils._topology_apply import (
    apply_topology,
    teardown_topology,
)
from ansible_collections.isplab.bng.plugins.modules import netns_topology
from ansible_collections.isplab.bng.tests.unit.plugins.modules.netns_fixtures import (
    ip,
    ip_json,
    needs_ping,
    netns_lab,
    ping,
)

REPO = Path(__file__).resolve().parents[4]


@pytest.fixture
def lab():
    yield from netns_lab()


def three(lab) -> dict:
    """a and c plugged into bridge br0 in b, a's second end in the root namespace."""
    a, b, c = lab.ns("a"), lab.ns("b"), lab.ns("c")
    return {
        "hosts": {
            a: {
                "sysctls": {"net.ipv6.conf.default.accept_dad": 0, "net.ipv4.ip_forward": 1},
                "routes": [{"to": "default", "via": "192.0.2.3"}, {"to": "::/0", "via": "2001:db8::3"}],
            },
            b: {"sysctls": {"net.ipv6.conf.default.accept_dad": 0}},
            c: {"sysctls": {"net.ipv6.conf.default.accept_dad": 0}, "loopback": ["198.51.100.3/32"]},
        },
        "bridges": [{"name": "br0", "namespace": b}],
        "links": [
            {
                "ends": [
                    {"name": "x", "namespace": a, "addresses": ["192.0.2.1/24", "2001:db8::1/64"]},
                    {"name": "a", "namespace": b, "bridge": "br0"},
                ]
            },
            {
                "ends": [
                    {
                        "name": "x",
                        "namespace": c,
                        "mac": "02:00:00:00:00:03",
                        "mtu": 1400,
                        "addresses": ["192.0.2.3/24", "2001:db8::3/64"],
                    },
                    {"name": "c", "namespace": b, "bridge": "br0"},
                ]
            },
            {
                "ends": [
                    {"name": "h", "namespace": a, "addresses": ["203.0.113.1/30"]},
                    {"name": lab.ifname("h"), "addresses": ["203.0.113.2/30"]},
                ]
            },
        ],
    }


def link(netns: str | None, name: str) -> dict:
    args = ["-n", netns] if netns else []
    found = ip_json(*args, "-d", "link", "show", "dev", name)
    return found[0]


def addresses(netns: str, name: str) -> set[str]:
    found = ip_json("-n", netns, "addr", "show", "dev", name)
    return {f"{a['local']}/{a['prefixlen']}" for a in found[0]["addr_info"] if a.get("scope") != "link"}


def namespaces(lab) -> set[str]:
    return {
        line.split(" ")[0] for line in ip("netns", "list").stdout.splitlines() if line.startswith(lab.tag)
    }


def test_apply_check_idempotence_change_in_place_and_teardown(lab):
    needs_ping()
    model = three(lab)
    a, b, c = lab.ns("a"), lab.ns("b"), lab.ns("c")

    host_forwarding = Path("/proc/sys/net/ipv4/ip_forward").read_text()
    predicted = apply_topology(model, check_mode=True)
    assert predicted["changed"]
    assert namespaces(lab) == set(), "check mode created something"

    applied = apply_topology(model)
    # Bridge ports forward once the kernel's link watcher saw them up: apply waited for it.
    assert [link(b, port)["operstate"] for port in ("a", "c")] == ["UP", "UP"]
    assert applied["changed"]
    assert f"create namespace {a}" in applied["actions"]
    assert namespaces(lab) == {a, b, c}
    assert link(c, "x")["address"] == "02:00:00:00:00:03"
    assert link(c, "x")["mtu"] == 1400
    assert link(b, "a")["master"] == "br0"
    assert addresses(a, "x") == {"192.0.2.1/24", "2001:db8::1/64"}
    # Real traffic across the bridge, IPv4 and IPv6 (no DAD wait: accept_dad was set first),
    # across the veth into the root namespace, and through a's routes.
    assert ping(a, "192.0.2.3")
    assert ping(a, "2001:db8::3")
    assert ping(a, "203.0.113.2")
    assert ping(a, "198.51.100.3"), "the default route to c and c's loopback address"
    route = ip_json("-n", a, "route", "get", "192.0.2.200")[0]
    assert route["dev"] == "x" and "gateway" not in route
    assert ip_json("-n", a, "route", "get", "198.51.100.99")[0]["gateway"] == "192.0.2.3"
    forwarding = ip("netns", "exec", a, "cat", "/proc/sys/net/ipv4/ip_forward").stdout.strip()
    assert forwarding == "1"
    assert Path("/proc/sys/net/ipv4/ip_forward").read_text() == host_forwarding, "a sysctl leaked to the host"

    assert apply_topology(model, check_mode=True) == {"changed": False, "actions": [], "warnings": []}
    assert apply_topology(model)["changed"] is False

    # A new MAC and a new address are applied in place: the interface keeps its index.
    index, old_mac = link(a, "x")["ifindex"], link(a, "x")["address"]
    changed = copy.deepcopy(model)
    changed["links"][0]["ends"][0]["mac"] = "02:00:00:00:00:01"
    changed["links"][0]["ends"][0]["addresses"] = ["192.0.2.11/24", "2001:db8::1/64"]
    result = apply_topology(changed, previous=model)
    # Old addresses go first: the kernel drops an IPv4 primary's secondaries with it. The
    # route through 192.0.2.3 goes with the last address on its network, and comes back.
    assert result["actions"] == [
        f"remove address 192.0.2.1/24 on {a}:x",
        f"set {a}:x: mac {old_mac} -> 02:00:00:00:00:01",
        f"add address 192.0.2.11/24 on {a}:x",
        f"add route 0.0.0.0/0 via 192.0.2.3 metric 0 in {a}",
    ]
    assert link(a, "x")["ifindex"] == index
    assert link(a, "x")["address"] == "02:00:00:00:00:01"
    assert addresses(a, "x") == {"192.0.2.11/24", "2001:db8::1/64"}
    assert ping(c, "192.0.2.11")
    assert apply_topology(changed, previous=changed)["changed"] is False

    torn = teardown_topology([changed])
    assert torn["changed"]
    assert namespaces(lab) == set()
    assert not any(entry["ifname"].startswith(lab.tag) for entry in ip_json("link", "show"))
    assert teardown_topology([changed])["changed"] is False


def test_previous_removes_what_the_new_model_drops(lab):
    model = three(lab)
    apply_topology(model)
    smaller = copy.deepcopy(model)
    del smaller["links"][2]  # the veth into the root namespace
    del smaller["hosts"][lab.ns("c")]
    del smaller["links"][1]
    result = apply_topology(smaller, previous=model)
    # The veth into surviving b and the one into the root namespace are removed explicitly (a
    # process still in c would keep c's end, and with it b's, alive); c's contents go with c.
    assert result["actions"] == [
        f"remove veth {lab.ns('c')}:x <-> {lab.ns('b')}:c",
        f"remove veth {lab.ns('a')}:h <-> {lab.ifname('h')} (root namespace)",
        f"remove namespace {lab.ns('c')}",
    ]
    assert namespaces(lab) == {lab.ns("a"), lab.ns("b")}
    assert ip("link", "show", lab.ifname("h"), check=False).returncode != 0
    assert "c" not in {entry["ifname"] for entry in ip_json("-n", lab.ns("b"), "link", "show")}


def test_an_interface_of_another_kind_is_an_error_not_replaced(lab):
    model = three(lab)
    ip("netns", "add", lab.ns("b"))
    ip("-n", lab.ns("b"), "link", "add", "br0", "type", "veth", "peer", "name", "zz")
    with pytest.raises(NetnsError) as caught:
        apply_topology(model)
    assert (
        str(caught.value)
        == f"{lab.ns('b')}:br0 exists as veth, not bridge; remove or rename it, or change the name"
    )
    assert f"create namespace {lab.ns('a')}" in caught.value.actions
    assert link(lab.ns("b"), "br0")["linkinfo"]["info_kind"] == "veth"


def test_a_veth_end_with_another_peer_is_recreated(lab):
    model = three(lab)
    a, b = lab.ns("a"), lab.ns("b")
    ip("netns", "add", a)
    ip("netns", "add", b)
    ip("-n", a, "link", "add", "x", "type", "veth", "peer", "name", "stray")
    result = apply_topology(model)
    assert f"remove {a}:x (its peer is not a)" in result["actions"]
    assert link(a, "x")["link_netnsid"] is not None
    assert "stray" not in {entry["ifname"] for entry in ip_json("-n", a, "link", "show")}


def test_the_kernel_refusing_a_route_names_it(lab):
    model = {"hosts": {lab.ns("a"): {"routes": [{"to": "10.0.0.0/8", "via": "192.0.2.1"}]}}}
    with pytest.raises(NetnsError) as caught:
        apply_topology(model)
    assert (
        str(caught.value)
        == f"add route 10.0.0.0/8 via 192.0.2.1 metric 0 in {lab.ns('a')}: Network is unreachable"
    )


def run_sequence(run_module, args):
    results = [
        run_module(netns_topology, args, check_mode=True, diff=True),
        run_module(netns_topology, args, diff=True),
        run_module(netns_topology, args, check_mode=True, diff=True),
        run_module(netns_topology, args, diff=True),
    ]
    assert [failed for failed, _result in results] == [False] * 4, results
    return [result for _failed, result in results]


def test_module_check_apply_idempotence(lab, run_module):
    model = three(lab)
    check, apply, check2, apply2 = run_sequence(run_module, {"topology": model})
    assert [r["changed"] for r in (check, apply, check2, apply2)] == [True, True, False, False]
    assert apply["diff"]["prepared"].splitlines() == apply["actions"]
    assert check2["actions"] == apply2["actions"] == []
    failed, gone = run_module(netns_topology, {"topology": model, "state": "absent"})
    assert not failed and gone["changed"]
    assert namespaces(lab) == set()


def test_module_lists_every_error_and_changes_nothing(lab, run_module):
    model = three(lab)
    model["links"][0]["ends"][0]["name"] = "this-is-too-long"
    model["links"][1]["ends"][0]["mac"] = "02:00:00:00:00"
    failed, result = run_module(netns_topology, {"topology": model})
    assert failed
    assert len(result["errors"]) == 2
    assert result["msg"].startswith("the topology has 2 error(s): links[0].ends[0].name: interface name")
    assert namespaces(lab) == set()


def test_module_validate_only_needs_no_pyroute2(run_module, monkeypatch):
    monkeypatch.setattr(netns_topology, "PYROUTE2_IMPORT_ERROR", ImportError("No module named 'pyroute2'"))
    name = f"t-never-{os.getpid()}"
    model = {"hosts": {name: {}}, "links": [{"ends": [{"name": "a", "namespace": name}, {"name": "t-nvr"}]}]}
    failed, result = run_module(netns_topology, {"topology": model, "validate_only": True})
    assert not failed, result
    assert result["changed"] is False
    assert [r["kind"] for r in result["plan"]][:2] == ["netns", "veth"]
    assert result["probes"]["routes"] == []
    assert not Path("/run/netns", name).exists()
    failed, result = run_module(netns_topology, {"topology": model})
    assert failed and "pyroute2" in result["msg"]


def test_boot_entry_point_runs_from_a_copy_of_the_module_utils(lab, tmp_path):
    """The role's package layout: the module_utils files it copies and its __init__/__main__."""
    package = tmp_path / "netns_topology"
    package.mkdir()
    role_vars = yaml.safe_load((REPO / "roles" / "netns_topology" / "vars" / "main.yml").read_text())
    for name in role_vars["netns_topology__module_utils"]:
        (package / name).write_text((REPO / "plugins" / "module_utils" / name).read_text())
    templates = REPO / "roles" / "netns_topology" / "templates"
    for name in ("__init__.py", "__main__.py"):
        text = (templates / f"{name}.j2").read_text()
        lines = [line for line in text.splitlines() if "ansible_managed" not in line]
        (package / name).write_text(
            "\n".join(lines).replace("{{ netns_topology_lib_dir }}", str(tmp_path)) + "\n"
        )
    model_file = tmp_path / "topology.json"
    model_file.write_text(json.dumps(three(lab)))
    # Not the venv's site-packages (pyroute2 is there) but not Ansible's either: the copy must
    # not need ansible_collections.
    run = [sys.executable, "-I", str(package)]
    valid = subprocess.run([*run, "--validate", str(model_file)], capture_output=True, text=True, check=False)
    assert valid.returncode == 0, valid.stderr
    assert valid.stdout.strip().endswith("is valid")
    assert namespaces(lab) == set()
    applied = subprocess.run([*run, str(model_file)], capture_output=True, text=True, check=False)
    assert applied.returncode == 0, applied.stderr
    assert f"isplab-topology: create namespace {lab.ns('a')}" in applied.stdout.splitlines()
    assert namespaces(lab) == {lab.ns(n) for n in "abc"}
    again = subprocess.run([*run, str(model_file)], capture_output=True, text=True, check=False)
    assert again.stdout.strip() == f"isplab-topology: {model_file} applied, 0 change(s)"
    bad = three(lab)
    bad["links"][0]["ends"][0]["mac"] = "zz"
    model_file.write_text(json.dumps(bad))
    refused = subprocess.run(
        [*run, "--validate", str(model_file)], capture_output=True, text=True, check=False
    )
    assert refused.returncode == 2
    assert "links[0].ends[0] (" in refused.stderr and "'zz' is not a MAC address" in refused.stderr


def test_missing_pyroute2_is_reported_by_the_kernel_helper(monkeypatch):
    monkeypatch.setattr(_netns, "PYROUTE2_IMPORT_ERROR", ImportError("No module named 'pyroute2'"))
    with pytest.raises(NetnsError, match="pyroute2 is needed"):
        _netns.Kernel()


def test_apply_waits_for_the_bridge_ports_it_brought_up(lab, monkeypatch):
    waited = []
    real_wait_up = _netns.Kernel.wait_up

    def recording_wait_up(self, links, timeout=5.0):
        links = list(links)
        waited.append(links)
        return real_wait_up(self, links, timeout)

    monkeypatch.setattr(_netns.Kernel, "wait_up", recording_wait_up)
    model = three(lab)
    apply_topology(model)
    # The two ports of br0; not a's own ends, nor the veth into the root namespace.
    assert waited == [[(lab.ns("b"), "a"), (lab.ns("b"), "c")]]
    apply_topology(model)
    assert waited[-1] == [], "nothing was brought up, nothing to wait for"


def test_wait_up_polls_until_up_and_reports_what_never_comes_up(lab):
    name = lab.ns("w")
    ip("netns", "add", name)
    ip("-n", name, "link", "add", "br0", "type", "bridge")
    for port, peer in (("p0", "q0"), ("p1", "q1")):
        ip("-n", name, "link", "add", port, "type", "veth", "peer", "name", peer)
        ip("-n", name, "link", "set", port, "master", "br0", "up")
    ip("-n", name, "link", "set", "br0", "up")
    ip("-n", name, "link", "set", "q0", "up")  # q1 stays down: p1 never gets a carrier
    with _netns.Kernel() as kernel:
        assert kernel.wait_up([(name, "p0"), (name, "p1")], timeout=0.3) == [(name, "p1")]
        assert kernel.warnings == [f"{name}:p1 is not up 0.3 s after it was brought up"]
    assert link(name, "p0")["operstate"] == "UP"

# SPDX-License-Identifier: GPL-3.0-or-later
"""The lab inventory's topology (inventories/lab, templated as Ansible does): valid, planned and
probed as the architecture says, and applied to real network namespaces. Apart from the tests of
modules and module_utils: templating the inventory is controller code, which ansible-test units
keeps away from those."""

from __future__ import annotations

import json

import pytest

from ansible_collections.isplab.bng.plugins.module_utils._topology import plan, validate
from ansible_collections.isplab.bng.plugins.module_utils._topology_apply import apply_topology
from ansible_collections.isplab.bng.plugins.module_utils._topology_probes import probes
from ansible_collections.isplab.bng.tests.unit.plugins.modules.netns_fixtures import (
    ip_json,
    needs_ping,
    netns_lab,
    ping,
)


@pytest.fixture
def lab():
    yield from netns_lab()


def test_the_default_lab_topology_carries_traffic_on_every_link_and_route(lab, lab_topology):
    needs_ping()
    model = lab_topology()
    renamed = {name: lab.ns(name) for name in model["hosts"]}
    model = json.loads(json.dumps(model))
    model["hosts"] = {renamed[name]: spec for name, spec in model["hosts"].items()}
    for bridge in model["bridges"]:
        bridge["namespace"] = renamed[bridge["namespace"]]
    for entry in model["links"]:
        for end in entry["ends"]:
            end["namespace"] = renamed[end["namespace"]]
    assert apply_topology(model)["changed"]
    found = probes(model)
    failed = []
    for probe in found["links"]:
        address = probe["address"]
        if address is None:
            local = ip_json(
                "-n", probe["target_netns"], "-6", "addr", "show", "dev", probe["target_dev"], "scope", "link"
            )
            address = f"{local[0]['addr_info'][0]['local']}%{probe['dev']}"
        if not ping(probe["netns"], address, probe["dev"]):
            failed.append(probe)
    assert failed == []
    assert len(found["links"]) >= 18
    for probe in found["routes"]:
        answer = ip_json("-n", probe["netns"], "route", "get", probe["address"])[0]
        assert answer.get("gateway") == probe["via"], probe
    assert apply_topology(model)["changed"] is False


@pytest.mark.parametrize("failover", [False, True])
def test_the_default_lab_topology_is_valid_without_warnings(lab_topology, failover):
    model = lab_topology(failover)
    errors, warnings = validate(model)
    assert errors == []
    assert warnings == []
    # The service address the core routes the subscribers to is bng1's without the failover.
    bng1_core = next(
        end
        for link in model["links"]
        for end in link["ends"]
        if end["namespace"] == "bng1" and end["name"] == "core"
    )
    assert ("2001:db8:100:1::10/64" in bng1_core["addresses"]) is not failover


def test_the_default_lab_topology_has_the_architecture_s_namespaces_and_ac_macs(lab_topology):
    resources = plan(lab_topology())
    namespaces = [r["name"] for r in resources if r["kind"] == "netns"]
    assert set(namespaces) == {"access", "bng1", "bng2", "core", "nat64", "dns64", "inet", "clat", "v4dev"}
    macs = {(r["netns"], r["name"]): r["mac"] for r in resources if r["kind"] == "link" and r["mac"]}
    assert macs == {("bng1", "access"): "02:00:00:00:0b:01", ("bng2", "access"): "02:00:00:00:0b:02"}
    # Nothing of the lab lives in the host's root namespace.
    assert all(r.get("netns") is not None for r in resources if r["kind"] != "netns")
    assert {
        "kind": "address",
        "netns": "dns64",
        "dev": "core",
        "address": "2001:db8:100:53::53/64",
    } in resources
    assert any(r["kind"] == "route" and r["netns"] == "core" and r["to"] == "64:ff9b::/96" for r in resources)


def test_probes_of_the_default_lab(lab_topology):
    found = probes(lab_topology())
    links = {(p["netns"], p["dev"], p["address"]) for p in found["links"]}
    # The BNGs' access ports carry no IP: they reach each other over br-access by link-local.
    assert ("bng1", "access", None) in links
    assert ("bng2", "access", None) in links
    # Across the upstream bridge, to the core and to the other BNG.
    assert {("bng1", "core", "2001:db8:100:1::1"), ("bng1", "core", "2001:db8:100:1::12")} <= links
    assert ("v4dev", "clat", "192.0.0.1") in links
    # No probe into the IP-less access namespace itself.
    assert not any(p["netns"] == "access" or p["target_netns"] == "access" for p in found["links"])
    routes = {(p["netns"], p["to"]): (p["address"], p["via"]) for p in found["routes"]}
    assert routes[("core", "64:ff9b::/96")] == ("64:ff9b::1", "2001:db8:100:64::2")
    assert routes[("nat64", "0.0.0.0/0")] == ("192.0.2.1", "203.0.113.254")
    assert len(found["routes"]) == sum(
        len((h or {}).get("routes", [])) for h in lab_topology()["hosts"].values()
    )

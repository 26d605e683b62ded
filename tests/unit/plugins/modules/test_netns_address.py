# SPDX-License-Identifier: GPL-3.0-or-later
"""isplab.bng.netns_address against the real kernel."""

from __future__ import annotations

import pytest

from ansible_collections.isplab.bng.plugins.modules import netns_address
from ansible_collections.isplab.bng.tests.unit.plugins.modules.netns_fixtures import ip, ip_json, netns_lab


@pytest.fixture
def lab():
    yield from netns_lab()


@pytest.fixture
def dev(lab):
    """A namespace with an interface x0 (veth, up, with carrier); the namespace's name."""
    name = lab.ns("n")
    ip("netns", "add", name)
    ip("-n", name, "link", "add", "x0", "type", "veth", "peer", "name", "x1")
    ip("-n", name, "link", "set", "x0", "up")
    ip("-n", name, "link", "set", "x1", "up")
    return name


def addresses(netns: str, name: str) -> set[str]:
    found = ip_json("-n", netns, "addr", "show", "dev", name)
    return {f"{a['local']}/{a['prefixlen']}" for a in found[0]["addr_info"] if a.get("scope") != "link"}


def link_locals(netns: str) -> set[str]:
    found = ip_json("-n", netns, "-6", "addr", "show", "dev", "x0", "scope", "link")
    return {a["local"] for a in found[0]["addr_info"] if "local" in a}


def test_add_check_idempotence_remove(dev, run_module):
    args = {"namespace": dev, "dev": "x0", "addresses": ["2001:DB8:100:1::11/64", "100.64.0.1/16"]}
    results = [
        run_module(netns_address, args, check_mode=True, diff=True),
        run_module(netns_address, args, diff=True),
        run_module(netns_address, args, check_mode=True),
        run_module(netns_address, args),
    ]
    assert [failed for failed, _result in results] == [False] * 4, results
    assert [r["changed"] for _failed, r in results] == [True, True, False, False]
    assert results[0][1]["addresses"] == ["2001:db8:100:1::11/64", "100.64.0.1/16"]
    assert results[1][1]["diff"]["before"] == {"addresses": []}
    assert addresses(dev, "x0") == {"2001:db8:100:1::11/64", "100.64.0.1/16"}

    failed, removed = run_module(netns_address, dict(args, addresses=["100.64.0.1/16"], state="absent"))
    assert not failed and removed["actions"] == [f"remove address 100.64.0.1/16 on {dev}:x0"]
    assert addresses(dev, "x0") == {"2001:db8:100:1::11/64"}


def test_exclusive_keeps_only_what_is_listed(dev, run_module):
    ip("-n", dev, "addr", "add", "192.0.2.1/24", "dev", "x0")
    ip("-n", dev, "addr", "add", "2001:db8::5/64", "dev", "x0")
    link_local = link_locals(dev)
    assert link_local
    args = {"namespace": dev, "dev": "x0", "addresses": ["192.0.2.9/24"], "exclusive": True}
    failed, check = run_module(netns_address, args, check_mode=True)
    assert not failed and check["addresses"] == ["192.0.2.9/24"]
    assert addresses(dev, "x0") == {"192.0.2.1/24", "2001:db8::5/64"}
    failed, done = run_module(netns_address, args)
    assert not failed, done
    assert addresses(dev, "x0") == {"192.0.2.9/24"}
    # The kernel's own link-local address stays.
    assert link_locals(dev) == link_local


def test_bad_addresses_all_reported_and_nothing_changed(dev, run_module):
    args = {
        "namespace": dev,
        "dev": "x0",
        "addresses": ["192.0.2.1/24", "10.1/8", "2001:db8::1", "ff02::1/64"],
    }
    failed, result = run_module(netns_address, args)
    assert failed
    assert "addresses[1]: '10.1/8' is not an address" in result["msg"]
    assert "addresses[2]: '2001:db8::1' is not an address with a prefix length" in result["msg"]
    assert "addresses[3]: 'ff02::1/64' is not a unicast address" in result["msg"]
    assert addresses(dev, "x0") == set()


def test_missing_interface(dev, run_module):
    failed, result = run_module(
        netns_address, {"namespace": dev, "dev": "nope", "addresses": ["192.0.2.1/24"]}
    )
    assert failed
    assert result["msg"] == f"address 192.0.2.1/24 on {dev}:nope: interface {dev}:nope does not exist"

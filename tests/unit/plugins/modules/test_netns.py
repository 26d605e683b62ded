# SPDX-License-Identifier: GPL-3.0-or-later
"""isplab.bng.netns against the real kernel: check, apply, idempotence, removal, bad names."""

from __future__ import annotations

import pytest

from ansible_collections.isplab.bng.plugins.modules import netns
from ansible_collections.isplab.bng.tests.unit.plugins.modules.netns_fixtures import ip, ip_json, netns_lab


@pytest.fixture
def lab():
    yield from netns_lab()


def listed(name: str) -> bool:
    return name in [line.split(" ")[0] for line in ip("netns", "list").stdout.splitlines()]


def test_present_then_absent(lab, run_module):
    name = lab.ns("n")
    results = [
        run_module(netns, {"name": name}, check_mode=True, diff=True),
        run_module(netns, {"name": name}, diff=True),
        run_module(netns, {"name": name}, check_mode=True),
        run_module(netns, {"name": name}),
    ]
    assert [failed for failed, _result in results] == [False] * 4
    assert [r["changed"] for _failed, r in results] == [True, True, False, False]
    assert results[0][1]["actions"] == [f"create namespace {name}"]
    assert results[0][1]["diff"] == {
        "before": {"name": name, "exists": False},
        "after": {"name": name, "exists": True},
    }
    assert listed(name)
    # A usable namespace: its own loopback, nothing else.
    assert [link["ifname"] for link in ip_json("-n", name, "link", "show")] == ["lo"]

    failed, check = run_module(netns, {"name": name, "state": "absent"}, check_mode=True)
    assert not failed and check["changed"] and listed(name)
    failed, removed = run_module(netns, {"name": name, "state": "absent"})
    assert not failed and removed["actions"] == [f"remove namespace {name}"]
    assert not listed(name)
    failed, again = run_module(netns, {"name": name, "state": "absent"})
    assert not failed and not again["changed"]


@pytest.mark.parametrize("name", ["../etc", "a/b", "", "bng1\n"])
def test_a_name_that_is_not_a_namespace_name_is_refused(name, run_module):
    failed, result = run_module(netns, {"name": name})
    assert failed
    assert result["msg"].startswith("name: ")

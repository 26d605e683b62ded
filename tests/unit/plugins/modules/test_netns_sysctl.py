# SPDX-License-Identifier: GPL-3.0-or-later
"""isplab.bng.netns_sysctl against the real kernel: the value changes inside, never on the host."""

from __future__ import annotations

from pathlib import Path

import pytest

from ansible_collections.isplab.bng.plugins.modules import netns_sysctl
from ansible_collections.isplab.bng.tests.unit.plugins.modules.netns_fixtures import ip, netns_lab


@pytest.fixture
def lab():
    yield from netns_lab()


def inside(netns: str, path: str) -> str:
    return ip("netns", "exec", netns, "cat", f"/proc/sys/{path}").stdout.strip()


def test_forwarding_inside_only(lab, run_module):
    name = lab.ns("s")
    ip("netns", "add", name)
    host = Path("/proc/sys/net/ipv6/conf/all/forwarding").read_text()
    args = {"namespace": name, "name": "net.ipv6.conf.all.forwarding", "value": "1"}
    results = [
        run_module(netns_sysctl, args, check_mode=True, diff=True),
        run_module(netns_sysctl, args, diff=True),
        run_module(netns_sysctl, args, check_mode=True),
        run_module(netns_sysctl, args),
    ]
    assert [failed for failed, _result in results] == [False] * 4
    assert [r["changed"] for _failed, r in results] == [True, True, False, False]
    assert results[0][1]["previous"] == "0"
    assert results[1][1]["diff"] == {
        "before": "net.ipv6.conf.all.forwarding = 0\n",
        "after": "net.ipv6.conf.all.forwarding = 1\n",
    }
    assert inside(name, "net/ipv6/conf/all/forwarding") == "1"
    assert Path("/proc/sys/net/ipv6/conf/all/forwarding").read_text() == host


def test_per_interface_and_multi_value_sysctls(lab, run_module):
    name = lab.ns("s")
    ip("netns", "add", name)
    ip("-n", name, "link", "add", "up0", "type", "veth", "peer", "name", "up1")
    failed, result = run_module(
        netns_sysctl, {"namespace": name, "name": "net.ipv6.conf.up0.accept_ra", "value": "0"}
    )
    assert not failed and result["changed"], result
    assert inside(name, "net/ipv6/conf/up0/accept_ra") == "0"
    assert inside(name, "net/ipv6/conf/up1/accept_ra") == "1"
    # The kernel prints this one tab-separated: blanks are compared collapsed.
    args = {"namespace": name, "name": "net.ipv4.ip_local_port_range", "value": "32768   60999"}
    failed, result = run_module(netns_sysctl, args)
    assert not failed, result
    failed, again = run_module(netns_sysctl, args)
    assert not failed and not again["changed"], again


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("kernel.hostname", "is not per network namespace"),
        ("net.ipv4.no_such_sysctl", "does not exist in"),
        ("net/../../etc/passwd", "is not a sysctl name"),
    ],
)
def test_refused(lab, run_module, name, message):
    netns = lab.ns("s")
    ip("netns", "add", netns)
    failed, result = run_module(netns_sysctl, {"namespace": netns, "name": name, "value": "1"})
    assert failed
    assert message in result["msg"]

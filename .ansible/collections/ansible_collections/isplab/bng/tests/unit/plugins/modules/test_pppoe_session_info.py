# SPDX-License-Identifier: GPL-3.0-or-later
"""The module pppoe_session_info: arguments, waiting, and a real namespace without a session."""

from __future__ import annotations

import pytest

from ansible_collections.isplab.bng.plugins.modules import pppoe_session_info
from ansible_collections.isplab.bng.tests.unit.plugins.modules.netns_fixtures import ip, netns_lab


@pytest.fixture
def lab():
    yield from netns_lab()


def fake_reader(monkeypatch, rounds):
    """Make _read return the given up-states round after round (the last one repeats)."""
    calls = []

    def read(namespaces):
        states = rounds[min(len(calls), len(rounds) - 1)]
        calls.append(namespaces)
        return [{"namespace": name, "up": up} for name, up in zip(namespaces, states, strict=True)]

    monkeypatch.setattr(pppoe_session_info, "_read", read)
    monkeypatch.setattr(pppoe_session_info, "POLL_INTERVAL", 0)
    return calls


def test_reports_without_waiting(run_module, monkeypatch):
    calls = fake_reader(monkeypatch, [[True, False]])
    failed, result = run_module(pppoe_session_info, {"namespaces": ["cpe1", "cpe2"]}, check_mode=True)
    assert not failed and not result["changed"]
    assert result["up"] == ["cpe1"] and result["down"] == ["cpe2"]
    assert len(calls) == 1


def test_waits_until_up(run_module, monkeypatch):
    calls = fake_reader(monkeypatch, [[False, False], [True, False], [True, True]])
    failed, result = run_module(pppoe_session_info, {"namespaces": ["cpe1", "cpe2"], "wait": "up"})
    assert not failed and result["down"] == []
    assert len(calls) == 3


def test_waits_until_down(run_module, monkeypatch):
    fake_reader(monkeypatch, [[True], [False]])
    failed, result = run_module(pppoe_session_info, {"namespaces": ["cpe1"], "wait": "down"})
    assert not failed and result["up"] == []


def test_times_out_naming_the_laggards(run_module, monkeypatch):
    fake_reader(monkeypatch, [[True, False, False]])
    failed, result = run_module(
        pppoe_session_info, {"namespaces": ["cpe1", "cpe2", "cpe3"], "wait": "up", "timeout": 0}
    )
    assert failed
    assert result["msg"] == "after 0 s, 2 of 3 session(s) are not up: cpe2, cpe3"
    assert result["up"] == ["cpe1"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"namespaces": ["bad/name"]}, "namespaces[0]: 'bad/name' is not a namespace name"),
        ({"namespaces": ["cpe1"], "timeout": -1}, "timeout must be 0 or more seconds, got -1"),
    ],
)
def test_bad_arguments(run_module, args, message):
    failed, result = run_module(pppoe_session_info, args)
    assert failed and message in result["msg"]


def test_a_real_namespace_without_a_session(run_module, lab):
    ns = lab.ns("cpe")
    ip("netns", "add", ns)
    ip("-n", ns, "link", "add", "access", "type", "veth", "peer", "name", "other")
    failed, result = run_module(pppoe_session_info, {"namespaces": [ns, lab.ns("missing")]})
    assert not failed
    present, missing = result["sessions"]
    assert present["exists"] is True and present["up"] is False and present["interface"] is None
    assert missing["exists"] is False and missing["up"] is False

# SPDX-License-Identifier: GPL-3.0-or-later
"""Every reader of netlink dumps reads a dump again when the kernel interrupts it.

The kernel flags a dump interrupted (NLM_F_DUMP_INTR, pyroute2's NetlinkDumpInterrupted) when
what it lists changes while it is being read: 200 namespaces' veths coming up in one hub, or
ppp interfaces by the hundred during a takeover. That is no error, only a dump to read again.
"""

from __future__ import annotations

import pytest
from pyroute2.netlink.exceptions import NetlinkDumpInterrupted

from ansible_collections.isplab.bng.plugins.module_utils._netlink import netlink_dump
from ansible_collections.isplab.bng.plugins.module_utils._netns import Kernel
from ansible_collections.isplab.bng.plugins.module_utils._pppoe_session import read_namespace


class InterruptedOnce:
    """An IPRoute whose every dump is interrupted the first time it is asked for."""

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}

    def _dump(self, what: str) -> list:
        self.calls[what] = self.calls.get(what, 0) + 1
        if self.calls[what] == 1:
            raise NetlinkDumpInterrupted()
        return []

    def get_links(self) -> list:
        return self._dump("links")

    def get_addr(self) -> list:
        return self._dump("addr")

    def get_routes(self, family: int) -> list:
        return self._dump(f"routes {family}")

    def close(self) -> None:
        pass


def test_a_dump_interrupted_twice_is_read_a_third_time_and_a_fourth_is_not_tried():
    class Ipr:
        calls = 0

        def get_links(self):
            self.calls += 1
            if self.calls < 3:
                raise NetlinkDumpInterrupted()
            return ["lo", "access"]

    ipr = Ipr()
    assert netlink_dump(ipr.get_links) == ["lo", "access"]
    assert ipr.calls == 3
    ipr = Ipr()
    with pytest.raises(NetlinkDumpInterrupted):
        netlink_dump(ipr.get_links, attempts=2)
    assert ipr.calls == 2


def test_the_topology_kernel_reads_an_interrupted_dump_again(monkeypatch):
    ipr = InterruptedOnce()
    with Kernel() as kernel:
        monkeypatch.setattr(kernel, "ipr", lambda netns: ipr)
        assert kernel.links(None) == {}
        assert kernel.addresses(None) == []
        assert kernel.routes(None) == []
    assert ipr.calls == {"links": 2, "addr": 2, "routes 2": 2, "routes 10": 2}


def test_the_subscriber_session_reader_reads_an_interrupted_dump_again(monkeypatch):
    ipr = InterruptedOnce()
    with Kernel() as kernel:
        monkeypatch.setattr(kernel, "exists", lambda netns: True)
        monkeypatch.setattr(kernel, "run_in", lambda netns, func: [])
        monkeypatch.setattr(kernel, "ipr", lambda netns: ipr)
        session = read_namespace(kernel, "cpe1")
    assert session["namespace"] == "cpe1"
    assert ipr.calls == {"links": 2, "addr": 2}

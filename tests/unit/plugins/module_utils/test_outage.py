# SPDX-License-Identifier: GPL-3.0-or-later
"""Outages from `ping -D` output: reply times, the largest gap, summaries (the filter ping_outage
on top of them: tests/unit/plugins/filter/test_ping_outage.py)."""

from __future__ import annotations

import pytest

from ansible_collections.isplab.bng.plugins.module_utils._outage import largest_gap, reply_times, summary

# As `ping -D -i 0.05 100.64.0.1` prints it (iputils 20221126), with a lost stretch.
PING = """PING 100.64.0.1 (100.64.0.1) 56(84) bytes of data.
[1795290000.000100] 64 bytes from 100.64.0.1: icmp_seq=1 ttl=64 time=0.811 ms
[1795290000.050200] 64 bytes from 100.64.0.1: icmp_seq=2 ttl=64 time=0.702 ms
[1795290001.500300] 64 bytes from 100.64.0.1: icmp_seq=31 ttl=64 time=3.20 ms
[1795290001.550400] 64 bytes from 100.64.0.1: icmp_seq=32 ttl=64 time=0.9 ms

--- 100.64.0.1 ping statistics ---
32 packets transmitted, 4 received, 87.5% packet loss, time 1550ms
"""


def test_reply_times():
    assert reply_times(PING) == [1795290000.0001, 1795290000.0502, 1795290001.5003, 1795290001.5504]
    assert reply_times("[1795290000.0001] From 100.64.0.1 icmp_seq=1 Destination Host Unreachable") == []


def test_largest_gap_between_replies():
    gap = largest_gap(reply_times(PING), 1795290000.0, 1795290001.6)
    assert gap == {"gap": 1.45, "from": 1795290000.05, "to": 1795290001.5, "replies": 4, "back": 1795290001.5}


def test_a_subscriber_that_never_comes_back_has_a_gap_to_the_end():
    gap = largest_gap(reply_times(PING), 1795290001.0, 1795290010.0)
    assert (gap["gap"], gap["back"], gap["replies"]) == (8.45, None, 2)
    nothing = largest_gap([], 10.0, 70.0)
    assert (nothing["gap"], nothing["back"], nothing["replies"]) == (60.0, None, 0)


def test_the_window_start_counts():
    # No reply for the first 3 s of the window: that is a gap too.
    assert largest_gap([3.0, 3.05], 0.0, 3.1)["gap"] == 3.0
    with pytest.raises(ValueError, match="ends"):
        largest_gap([], 5.0, 1.0)


def test_summary():
    assert summary([1.2, 0.4, 9.0, 2.0]) == {"count": 4, "worst": 9.0, "median": 1.6, "best": 0.4}
    assert summary([3.0]) == {"count": 1, "worst": 3.0, "median": 3.0, "best": 3.0}
    assert summary([])["worst"] is None

# SPDX-License-Identifier: GPL-3.0-or-later
"""The outage a subscriber saw: the largest gap between replies to its pings of the gateway.

Private to the isplab.bng collection: no stability promise outside it.

Pure functions, shared by the filter ping_outage (the failover drill) and the failover benchmark.
A ping of the gateway every 50 ms from each subscriber's namespace; the outage is the largest
gap between two replies, counting the edges of the window: with no reply after the fault until
the end, the gap runs to the end (the subscriber never came back).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable

# `ping -D` prints each reply as `[1700000000.123456] 64 bytes from 100.64.0.1: icmp_seq=...`.
_REPLY_RE = re.compile(r"^\[(\d+(?:\.\d+)?)\]\s+\d+ bytes from ", re.MULTILINE)


def reply_times(ping_output: str) -> list[float]:
    """The Unix times of the replies in the output of `ping -D`, in order."""
    return sorted(float(match[1]) for match in _REPLY_RE.finditer(ping_output))


def largest_gap(times: Iterable[float], start: float, end: float) -> dict:
    """The largest gap between replies within [start, end], the window's edges included.

    Returns gap (seconds), its from and to, replies (in the window) and back (the first reply
    after the largest gap, None when the subscriber never came back).
    """
    if end < start:
        raise ValueError(f"the window ends ({end}) before it starts ({start})")
    inside = [t for t in times if start <= t <= end]
    points = [start, *inside, end]
    best = (0.0, start, start)
    for before, after in itertools.pairwise(points):
        if after - before > best[0]:
            best = (after - before, before, after)
    gap, frm, to = best
    return {
        "gap": round(gap, 3),
        "from": round(frm, 3),
        "to": round(to, 3),
        "replies": len(inside),
        # A largest gap that runs to the end of the window: no reply came after it.
        "back": round(to, 3) if to < end or (inside and inside[-1] == end) else None,
    }


def summary(gaps: Iterable[float]) -> dict:
    """Worst, median and best of per-subscriber gaps."""
    ordered = sorted(gaps)
    if not ordered:
        return {"count": 0, "worst": None, "median": None, "best": None}
    middle = len(ordered) // 2
    median = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    return {"count": len(ordered), "worst": ordered[-1], "median": round(median, 3), "best": ordered[0]}

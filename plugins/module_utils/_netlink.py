# SPDX-License-Identifier: GPL-3.0-or-later
"""Netlink dumps read whole: the one rule every reader of the kernel's tables follows.

The kernel flags a dump interrupted (NLM_F_DUMP_INTR; pyroute2 raises NetlinkDumpInterrupted)
when what it lists changes while it is read: a hub namespace whose 200 veths come up, ppp
interfaces and their addresses and routes coming and going by the hundred during a takeover.
That is no error, only a dump to read again. pyroute2 is imported when first used, so that
code which never dumps (the agent's command line, the filters) runs without it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable


def netlink_dump(request: Callable[..., Iterable], *args, attempts: int = 5, **kwargs) -> list:
    """request(*args, **kwargs) (a dump such as ipr.get_links) as a list, asked again when the
    kernel interrupts it, `attempts` times at most (then NetlinkDumpInterrupted is raised)."""
    from pyroute2.netlink.exceptions import NetlinkDumpInterrupted

    for attempt in range(attempts):
        try:
            return list(request(*args, **kwargs))
        except NetlinkDumpInterrupted:
            if attempt == attempts - 1:
                raise
            time.sleep(0.05)
    return []

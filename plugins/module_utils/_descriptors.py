# SPDX-License-Identifier: GPL-3.0-or-later
"""The failover agent's file descriptor budget.

An adopted session holds three descriptors for as long as it lives (its PPPoE socket, its
/dev/ppp channel and its /dev/ppp unit: _pppoe_adopt.adopt). A process starts with the soft
limit (1,024 under systemd) although its unit allows far more (the hard limit), which once
stopped a takeover at about 340 sessions with EMFILE and sent the rest a PADT. So the agent
raises its soft limit to the hard one when it starts, and compares what a takeover would need
with what is left while it waits, so that a shortfall is known, with its numbers, before the
failure and not in the middle of the takeover.
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass

DESCRIPTORS_PER_SESSION = 3
# Descriptors a takeover needs besides the sessions': netlink sockets, the CLI connection,
# replication and control clients, log files. Generous: running short costs a PADT each.
RESERVE = 64


def raise_open_file_limit() -> tuple[int, int]:
    """Raise this process's soft RLIMIT_NOFILE to its hard limit; the (soft, hard) now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def open_descriptors() -> int:
    """How many descriptors this process has open now."""
    return len(os.listdir("/proc/self/fd"))


@dataclass(frozen=True)
class Budget:
    """Whether adopting `wanted` more sessions fits under the limit, given what is open now."""

    limit: int
    open_now: int
    wanted: int

    @property
    def adoptable(self) -> int:
        return max((self.limit - self.open_now - RESERVE) // DESCRIPTORS_PER_SESSION, 0)

    @property
    def short(self) -> int:
        """Sessions that would get a PADT for want of descriptors (0: all fit)."""
        return max(self.wanted - self.adoptable, 0)

    def describe(self) -> dict:
        return {"limit": self.limit, "open": self.open_now, "adoptable": self.adoptable, "short": self.short}

    def problem(self) -> str | None:
        if not self.short:
            return None
        return (
            f"the open file limit ({self.limit}, {self.open_now} open) leaves room to adopt "
            f"{self.adoptable} of the {self.wanted} replicated sessions ({DESCRIPTORS_PER_SESSION} "
            f"descriptors each): the other {self.short} would get a PADT on a takeover; raise "
            "LimitNOFILE of the agent's unit"
        )


def budget(wanted: int) -> Budget:
    """The budget of this process for adopting `wanted` sessions now."""
    return Budget(resource.getrlimit(resource.RLIMIT_NOFILE)[0], open_descriptors(), wanted)
